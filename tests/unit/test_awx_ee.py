"""AWX as code (awx/) and the execution environment (execution-environment.yml), checked offline.

Nothing here talks to an AWX or a registry: the build context is created but no image is built, and
configure_awx.yml is only syntax-checked.
"""
import glob
import json
import os
import re
import subprocess
import tarfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
AWX = os.path.join(ROOT, 'awx')

# The wrappers AWX runs (AWX offers the playbooks of its project, not those inside a collection).
WRAPPERS = ['deploy_pos', 'stage_pos', 'vpn', 'pos_status', 'pos_start', 'pos_stop', 'test_print',
            'restore_data', 'fleet_update', 'fleet_status', 'kernel_upgrade', 'build_media']
# The extra variables the surveys set, which the playbooks read (docs/awx.md lists them).
SURVEY_VARIABLES = {'deploy_pos_confirm', 'vpn_action', 'vpn_delete_confirm', 'fleet_update_waves',
                    'fleet_update_max_fail_percentage', 'kernel_upgrade_confirm', 'kernel_upgrade_package'}
# Templates whose action destroys or replaces something: their survey asks for a typed confirmation.
DESTRUCTIVE = {'deploy_pos', 'vpn', 'kernel_upgrade'}
# What AWX accepts in a survey (the API's survey_spec validation).
QUESTION_TYPES = {'text': str, 'textarea': str, 'password': str, 'multiplechoice': str,
                  'multiselect': str, 'integer': int, 'float': float}
# Any attempt to reach a server goes to a closed local port and fails at once.
OFFLINE = {'http_proxy': 'http://127.0.0.1:9', 'https_proxy': 'http://127.0.0.1:9',
           'HTTP_PROXY': 'http://127.0.0.1:9', 'HTTPS_PROXY': 'http://127.0.0.1:9',
           'no_proxy': '', 'NO_PROXY': '', 'PIP_NO_INDEX': '1',
           'ANSIBLE_GALAXY_SERVER': 'http://127.0.0.1:9/'}


def load(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def run(args, tmp_path, **env):
    full = dict(os.environ, PATH='%s:%s' % (VENV_BIN, os.environ.get('PATH', '/usr/bin:/bin')),
                ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
                ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
                ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), **OFFLINE)
    full.update(env)
    return subprocess.run(args, cwd=ROOT, env=full, capture_output=True, text=True, timeout=120, check=False)


def job_templates():
    return load('awx/vars/main.yml')['awx_config_job_templates']


def wrapper_name(template):
    return os.path.splitext(os.path.basename(template['playbook']))[0]


# (a) The execution environment's build context

def test_ee_build_context_is_created_offline(tmp_path):
    context = tmp_path / 'context'
    proc = run([os.path.join(ROOT, 'scripts', 'ee.sh'), 'create', '--output-filename', 'Containerfile'],
               tmp_path, EE_CONTEXT=str(context))
    assert proc.returncode == 0, proc.stdout + proc.stderr

    containerfile = (context / 'Containerfile').read_text()
    build = context / '_build'
    assert 'FROM $EE_BASE_IMAGE AS base' in containerfile
    assert 'ARG EE_BASE_IMAGE="%s"' % load('execution-environment.yml')['images']['base_image']['name'] in containerfile
    assert 'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml' in containerfile
    assert 'ansible-core==2.19' in containerfile
    assert '--user-pip=requirements.txt --user-bindep=bindep.txt' in containerfile

    # The collection requirements, and the Python and system requirements, as they are in the checkout.
    with open(os.path.join(ROOT, 'awx', 'collections', 'requirements.yml'), encoding='utf-8') as handle:
        assert (build / 'requirements.yml').read_text() == handle.read()
    with open(os.path.join(ROOT, 'requirements-ee.txt'), encoding='utf-8') as handle:
        assert (build / 'requirements.txt').read_text() == handle.read()
    with open(os.path.join(ROOT, 'bindep.txt'), encoding='utf-8') as handle:
        assert (build / 'bindep.txt').read_text() == handle.read()

    # The tarball the galaxy requirements install (paths relative to the context, /build in the image).
    requirements = yaml.safe_load((build / 'requirements.yml').read_text())['collections']
    tarball_entries = [entry for entry in requirements if isinstance(entry, dict) and entry.get('type') == 'file']
    assert len(tarball_entries) == 1
    tarball = build / tarball_entries[0]['name']
    assert tarball.is_file()
    with tarfile.open(str(tarball)) as archive:
        names = set(archive.getnames())
        manifest = json.load(archive.extractfile('MANIFEST.json'))
    info = manifest['collection_info']
    galaxy = load('galaxy.yml')
    assert (info['namespace'], info['name'], info['version']) == ('poscloud', 'fleet', galaxy['version'])
    assert {'meta/execution-environment.yml', 'meta/runtime.yml', 'requirements-ee.txt', 'bindep.txt'} <= names
    assert {'playbooks/%s.yml' % name for name in ('vpn', 'stage_pos', 'kernel_upgrade')} <= names


def test_collection_declares_its_controller_side_requirements():
    meta = load('meta/execution-environment.yml')
    for kind in ('python', 'system'):
        path = meta['dependencies'][kind]
        assert not os.path.isabs(path)
        assert os.path.isfile(os.path.join(ROOT, path)), path
    with open(os.path.join(ROOT, meta['dependencies']['python']), encoding='utf-8') as handle:
        # The ansible.utils ipaddr filter runs on the controller and needs netaddr.
        assert re.search(r'^netaddr\b', handle.read(), re.MULTILINE)


def test_requirement_files_carry_the_galaxy_dependencies():
    dependencies = set(load('galaxy.yml')['dependencies'])
    for path in ('collections/requirements.yml', 'awx/collections/requirements.yml'):
        names = {entry['name'] for entry in load(path)['collections']}
        assert dependencies <= names, path
    project = load('collections/requirements.yml')['collections']
    assert {'name': '.', 'type': 'dir'} in project


def test_project_requirements_install_the_checkout(tmp_path):
    """What an AWX project sync does with collections/requirements.yml, minus the dependencies."""
    target = tmp_path / 'collections'
    proc = run(['ansible-galaxy', 'collection', 'install', '--no-deps', '-r', 'collections/requirements.yml',
                '-p', str(target)], tmp_path, ANSIBLE_COLLECTIONS_PATH=str(target))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = target / 'ansible_collections' / 'poscloud' / 'fleet'
    assert (installed / 'MANIFEST.json').is_file()
    assert (installed / 'playbooks' / 'vpn.yml').is_file()


def test_ee_image_is_the_one_awx_uses():
    tags = load('execution-environment.yml')['options']['tags']
    assert load('awx/vars/main.yml')['awx_config_ee_image'] in tags


# (b) The configuration playbook

def test_configure_awx_passes_syntax_check(tmp_path):
    proc = run(['ansible-playbook', '--syntax-check', 'awx/configure_awx.yml'], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# (c) The wrappers: each imports a playbook of the collection that exists. The wrappers of
# playbooks still to come fail here until the playbook is added.

def test_every_wrapper_is_there():
    present = {os.path.splitext(os.path.basename(path))[0] for path in glob.glob(os.path.join(AWX, 'playbooks', '*.yml'))}
    assert present == set(WRAPPERS)


@pytest.mark.parametrize('name', WRAPPERS)
def test_wrapper_imports_an_existing_playbook(name):
    plays = load('awx/playbooks/%s.yml' % name)
    assert isinstance(plays, list) and plays
    # The import comes last; before it, at most a play that checks a survey's typed confirmation.
    play = plays[-1]
    assert len(plays) == 1 or (len(plays) == 2 and '_confirm' in yaml.safe_dump(plays[0]))
    assert set(play) == {'name', 'ansible.builtin.import_playbook'}
    assert play['ansible.builtin.import_playbook'] == 'poscloud.fleet.%s' % name
    assert os.path.isfile(os.path.join(ROOT, 'playbooks', '%s.yml' % name)), (
        'awx/playbooks/%s.yml imports poscloud.fleet.%s, but playbooks/%s.yml does not exist' % (name, name, name))


# (d) The job templates and their surveys

def test_job_templates_run_wrappers():
    names = [template['name'] for template in job_templates()]
    assert len(names) == len(set(names))
    for template in job_templates():
        assert template['playbook'].startswith('awx/playbooks/')
        assert wrapper_name(template) in WRAPPERS, template['name']
        assert template['description']


def test_single_store_deploy_is_unsliced_and_asks_for_the_limit():
    deploy = [template for template in job_templates() if wrapper_name(template) == 'deploy_pos']
    assert len(deploy) == 1
    assert deploy[0]['ask_limit_on_launch'] is True
    assert deploy[0]['job_slice_count'] == 1
    question = deploy[0]['survey_spec']['spec'][0]
    assert (question['variable'], question['type'], question['required']) == ('deploy_pos_confirm', 'text', True)
    assert question['min'] == question['max'] == 8


def test_fleet_update_is_sliced():
    update = [template for template in job_templates() if wrapper_name(template) == 'fleet_update']
    assert len(update) == 1
    assert update[0]['job_slice_count'] == '{{ awx_config_fleet_update_slice_count }}'
    assert int(load('awx/vars/main.yml')['awx_config_fleet_update_slice_count']) > 1


@pytest.mark.parametrize('template', [t for t in job_templates() if 'survey_spec' in t], ids=lambda t: t['name'])
def test_survey_is_well_formed(template):
    survey = template['survey_spec']
    assert isinstance(survey['name'], str) and isinstance(survey['description'], str)
    assert isinstance(survey['spec'], list) and survey['spec']
    variables = set()
    for question in survey['spec']:
        for key in ('question_name', 'question_description', 'variable', 'type'):
            assert isinstance(question.get(key), str) and question[key], (key, question)
        assert isinstance(question.get('required'), bool), question
        assert question['type'] in QUESTION_TYPES, question
        assert question['variable'] not in variables, question
        variables.add(question['variable'])
        assert question['variable'] != 'store_id'  # inventory-provided; an extra variable would override it
        for key in ('min', 'max'):
            assert question.get(key) is None or isinstance(question[key], int), question
        default = question.get('default', '')
        if default != '':
            assert isinstance(default, QUESTION_TYPES[question['type']]), question
            if question.get('min') is not None and question['type'] in ('integer', 'float'):
                assert question['min'] <= default <= question['max'], question
        if question['type'] in ('multiplechoice', 'multiselect'):
            assert isinstance(question.get('choices'), list) and question['choices'], question
            if default != '':
                assert default in question['choices'], question


@pytest.mark.parametrize('name', sorted(DESTRUCTIVE))
def test_destructive_template_asks_for_a_typed_confirmation(name):
    templates = [template for template in job_templates() if wrapper_name(template) == name]
    assert len(templates) == 1
    questions = templates[0].get('survey_spec', {}).get('spec', [])
    confirmations = [q for q in questions if q['variable'].endswith('_confirm') and q['type'] == 'text']
    assert confirmations, '%s has no typed confirmation question' % templates[0]['name']
    assert templates[0]['ask_limit_on_launch'] is True


def test_survey_variables_are_the_documented_ones():
    found = {question['variable'] for template in job_templates()
             for question in template.get('survey_spec', {}).get('spec', [])}
    assert found == SURVEY_VARIABLES
    with open(os.path.join(ROOT, 'docs', 'awx.md'), encoding='utf-8') as handle:
        docs = handle.read()
    for variable in SURVEY_VARIABLES:
        assert '`%s`' % variable in docs, variable
