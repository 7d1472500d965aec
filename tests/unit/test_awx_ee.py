"""AWX as code (awx/) and the execution environment (execution-environment.yml), checked offline.

Nothing here talks to an AWX or a registry: the build context is created but no image is built, and
configure_awx.yml is only syntax-checked, and what it passes to the awx.awx modules is checked
against their documentation as installed.
"""
import ast
import glob
import json
import os
import re
import subprocess
import tarfile
import zoneinfo

import jinja2
import pytest
import yaml

from ansible_collections.poscloud.fleet.tests.unit.yaml_tasks import all_tasks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
AWX = os.path.join(ROOT, 'awx')
SITE_PACKAGES = sorted(glob.glob(os.path.join(ROOT, '.venv', 'lib', 'python3*', 'site-packages')))[-1]

# The wrappers AWX runs (AWX offers the playbooks of its project, not those inside a collection).
WRAPPERS = ['deploy_pos', 'stage_pos', 'vpn', 'pos_status', 'pos_start', 'pos_stop', 'test_print',
            'restore_data', 'purge', 'fleet_update', 'fleet_status', 'windows', 'kernel_upgrade',
            'software_update', 'build_media']
# The extra variables the surveys set, which the playbooks read (docs/awx.md lists them).
SURVEY_VARIABLES = {'deploy_pos_confirm', 'vpn_action', 'vpn_delete_confirm', 'fleet_update_waves',
                    'fleet_update_max_fail_percentage', 'kernel_upgrade_confirm', 'kernel_upgrade_package',
                    'restore_data_confirm', 'pos_data_restore_set', 'pos_instance_purge_confirm',
                    'pos_instance_delete_data_confirm', 'software_update_bundle', 'software_update_bundle_sha256',
                    'software_update_serial', 'software_update_max_fail_percentage'}
# Templates whose action destroys or replaces something: their survey asks for a typed confirmation.
DESTRUCTIVE = {'deploy_pos', 'vpn', 'kernel_upgrade', 'restore_data', 'purge'}
# A template of a destructive wrapper that fixes a harmless action in its extra_vars and asks nothing.
PINNED_SAFE = {'vpn': {'vpn_action': 'status'}}
# Wrappers whose confirmation is asked only for one of their actions (vpn: delete), so it is optional.
CONFIRMED_FOR_ONE_ACTION = {'vpn'}
# What the support technicians may run, and the wrappers they must never run (unless pinned safe).
SUPPORT = 'Support technicians'
SUPPORT_TEMPLATES = {'POS - Status', 'POS - Test print', 'VPN - Status', 'POS - Start', 'POS - Stop',
                     'Fleet - Maintenance windows'}
NOT_FOR_SUPPORT = DESTRUCTIVE | {'stage_pos', 'fleet_update', 'software_update', 'build_media'}
# Roles that let a team run a template or workflow: on the object itself, or on the whole organization.
RUN_ROLES = {'execute', 'admin'}
RUN_ROLES_ON_ORGANIZATION = {'execute', 'admin', 'job_template_admin', 'workflow_admin'}
# The workflows: each node's template and what starts the nodes after it.
WORKFLOW_GRAPHS = {
    'Store - Stage, deploy, status': {
        'stage': ('POS - Stage', {'success_nodes': ['deploy']}),
        'deploy': ('POS - Deploy a store', {'success_nodes': ['status']}),
        'status': ('POS - Status', {}),
    },
    'Fleet - Build media, update, status': {
        'media': ('Media - Build OS media', {'success_nodes': ['update']}),
        'update': ('Fleet - Update', {'always_nodes': ['status']}),
        'status': ('Fleet - Status', {}),
    },
}
# A variable of awx/vars/main.yml whose name says it holds a secret.
SECRET_NAME = re.compile(r'token|password|secret', re.IGNORECASE)
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


def settings():
    return load('awx/vars/main.yml')


def job_templates():
    return settings()['awx_config_job_templates']


def workflows():
    return settings()['awx_config_workflows']


def team_roles():
    return settings()['awx_config_team_roles']


def render(value, variables):
    """A string of awx/vars/main.yml as Ansible would template it (one level, enough for these)."""
    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(value).render(variables)


def tasks(path='awx/configure_awx.yml'):
    """Every task of a playbook, blocks opened."""
    return [task for play in load(path) for key in ('pre_tasks', 'tasks', 'post_tasks', 'handlers')
            for task in all_tasks(play.get(key))]


def awx_tasks():
    """(module short name, task) for each awx.awx task of configure_awx.yml."""
    found = []
    for task in tasks():
        modules = [key for key in task if key.startswith('awx.awx.')]
        assert len(modules) <= 1, task
        if modules:
            found.append((modules[0][len('awx.awx.'):], task))
    return found


def task_looping_over(variable):
    matching = [task for task in tasks() if task.get('loop') == '{{ %s }}' % variable]
    assert len(matching) == 1, variable
    return matching[0]


def python_string(path, name, class_name=None):
    """The value of a string constant NAME in a Python file, at module level or in a class."""
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    body = tree.body
    if class_name:
        body = [node for node in body if isinstance(node, ast.ClassDef) and node.name == class_name][0].body
    for node in body:
        if isinstance(node, ast.Assign) and any(getattr(target, 'id', None) == name for target in node.targets):
            return node.value.value
    raise AssertionError('%s has no %s' % (path, name))


def fragment_options(fragment):
    """Options of a documentation fragment, as ansible-doc merges them: awx.awx.auth, constructed, ..."""
    parts = fragment.split('.')
    if len(parts) >= 3:
        folder = os.path.join(SITE_PACKAGES, 'ansible_collections', parts[0], parts[1], 'plugins', 'doc_fragments')
        name, attribute = parts[2], (parts[3].upper() if len(parts) > 3 else 'DOCUMENTATION')
    else:
        folder = os.path.join(SITE_PACKAGES, 'ansible', 'plugins', 'doc_fragments')
        name, attribute = parts[0], (parts[1].upper() if len(parts) > 1 else 'DOCUMENTATION')
    return yaml.safe_load(python_string(os.path.join(folder, name + '.py'), attribute, 'ModuleDocFragment')).get('options') or {}


def plugin_documentation(collection, kind, name):
    """DOCUMENTATION of an installed collection's plugin, with the options of its fragments merged."""
    namespace, collection_name = collection.split('.')
    path = os.path.join(SITE_PACKAGES, 'ansible_collections', namespace, collection_name, 'plugins', kind, name + '.py')
    doc = yaml.safe_load(python_string(path, 'DOCUMENTATION'))
    options = dict(doc.get('options') or {})
    fragments = doc.get('extends_documentation_fragment') or []
    for fragment in [fragments] if isinstance(fragments, str) else fragments:
        for option, spec in fragment_options(fragment).items():
            options.setdefault(option, spec)
    doc['options'] = options
    return doc


def option_names(options):
    """Names an option may be given by: its own and its aliases."""
    names = set()
    for option, spec in options.items():
        names.add(option)
        names.update((spec or {}).get('aliases') or [])
    return names


def module_options(module):
    return plugin_documentation('awx.awx', 'modules', module)['options']


def undocumented_keys(value, options, where):
    """Keys of VALUE (a dict, or a list of dicts) that OPTIONS do not document, at any depth."""
    found = []
    for entry in value if isinstance(value, list) else [value]:
        if not isinstance(entry, dict):
            continue
        for key, nested in entry.items():
            spec = options.get(key)
            if spec is None:
                found.append('%s.%s' % (where, key))
            elif spec.get('suboptions'):
                found.extend(undocumented_keys(nested, spec['suboptions'], '%s.%s' % (where, key)))
    return found


def executable_by(team):
    """The job templates and workflows TEAM may launch, from awx_config_team_roles."""
    everything = {template['name'] for template in job_templates()} | {workflow['name'] for workflow in workflows()}
    names = set()
    for entry in team_roles():
        if entry['team'] != team or entry.get('state', 'present') != 'present':
            continue
        if entry['role'] in RUN_ROLES:
            names |= set(entry.get('job_templates', [])) | set(entry.get('workflows', []))
        if entry['role'] in RUN_ROLES_ON_ORGANIZATION and entry.get('organizations'):
            names |= everything
    return names


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


@pytest.mark.parametrize('path', ['awx/configure_awx.yml'] + ['awx/playbooks/%s.yml' % name for name in WRAPPERS])
def test_conditionals_are_strings(path):
    """An unquoted condition holding ': ' (query_params={'name': item}) is a YAML mapping, which
    --syntax-check accepts and ansible-core 2.19 refuses only when the task runs."""
    for task in tasks(path):
        conditions = []
        for key in ('when', 'changed_when', 'failed_when'):
            value = task.get(key, [])
            conditions += value if isinstance(value, list) else [value]
        that = (task.get('ansible.builtin.assert') or {}).get('that', [])
        conditions += that if isinstance(that, list) else [that]
        for condition in conditions:
            assert isinstance(condition, (str, bool)), '%s: %s: %r is not a string' % (path, task.get('name'), condition)


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


@pytest.mark.parametrize('template', [t for t in job_templates() + workflows() if 'survey_spec' in t],
                         ids=lambda t: t['name'])
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
    assert templates
    for template in templates:
        if 'survey_spec' not in template and name in PINNED_SAFE and template.get('extra_vars') == PINNED_SAFE[name]:
            continue  # e.g. "VPN - Status": the action is fixed to a harmless one
        questions = template.get('survey_spec', {}).get('spec', [])
        confirmations = [q for q in questions if q['variable'].endswith('_confirm') and q['type'] == 'text']
        assert confirmations, '%s has no typed confirmation question' % template['name']
        if name not in CONFIRMED_FOR_ONE_ACTION:
            assert any(q['required'] for q in confirmations), '%s: the confirmation is optional' % template['name']
        assert template['ask_limit_on_launch'] is True


def test_survey_variables_are_the_documented_ones():
    found = {question['variable'] for template in job_templates()
             for question in template.get('survey_spec', {}).get('spec', [])}
    assert found == SURVEY_VARIABLES
    # A workflow's survey asks only what its templates' surveys ask.
    assert {question['variable'] for workflow in workflows()
            for question in workflow.get('survey_spec', {}).get('spec', [])} <= SURVEY_VARIABLES
    with open(os.path.join(ROOT, 'docs', 'awx.md'), encoding='utf-8') as handle:
        docs = handle.read()
    for variable in SURVEY_VARIABLES:
        assert '`%s`' % variable in docs, variable


def test_survey_variables_are_read_by_the_playbooks():
    """A survey question nothing reads would be a check that does not happen (a confirmation above all)."""
    roles = ''
    for path in glob.glob(os.path.join(ROOT, 'roles', '*', '*', '*.yml')):
        with open(path, encoding='utf-8') as handle:
            roles += handle.read()
    for template in job_templates():
        name = wrapper_name(template)
        with open(os.path.join(AWX, 'playbooks', name + '.yml'), encoding='utf-8') as handle:
            wrapper = handle.read()
        with open(os.path.join(ROOT, 'playbooks', name + '.yml'), encoding='utf-8') as handle:
            playbook = handle.read()
        for question in template.get('survey_spec', {}).get('spec', []):
            variable = question['variable']
            found = re.search(r'\b%s\b' % variable, wrapper + playbook if variable.endswith('_confirm')
                              else wrapper + playbook + roles)
            assert found, '%s: nothing reads %s' % (template['name'], variable)


# (e) Every awx.awx task passes only what its module documents

def test_awx_tasks_use_only_documented_options():
    """A misspelt option is refused by the module only when it runs against AWX; here it fails at once."""
    seen = set()
    for module, task in awx_tasks():
        documented = option_names(module_options(module))
        arguments = task['awx.awx.' + module]
        assert isinstance(arguments, dict), task['name']
        unknown = sorted(set(arguments) - documented)
        assert not unknown, '%s: awx.awx.%s has no option %s' % (task['name'], module, ', '.join(unknown))
        seen.add(module)
    assert {'organization', 'execution_environment', 'project', 'inventory', 'inventory_source', 'job_template',
            'notification_template', 'workflow_job_template', 'schedule', 'team', 'role'} <= seen


def test_workflow_nodes_use_only_documented_suboptions():
    suboptions = module_options('workflow_job_template')['workflow_nodes']['suboptions']
    for workflow in workflows():
        unknown = undocumented_keys(workflow['workflow_nodes'], suboptions, workflow['name'])
        assert not unknown, unknown


def test_notification_configuration_uses_documented_fields():
    description = module_options('notification_template')['notification_configuration']['description']
    fields = {match.group(1) for line in description for match in [re.match(r'^(\w+) \(', line)] if match}
    assert {'url', 'headers', 'host', 'port', 'password', 'recipients'} <= fields
    configured = [task for module, task in awx_tasks() if module == 'notification_template']
    assert len(configured) == 2
    for task in configured:
        unknown = set(task['awx.awx.notification_template']['notification_configuration']) - fields
        assert not unknown, (task['name'], unknown)


@pytest.mark.parametrize('variable', ['awx_config_job_templates', 'awx_config_workflows', 'awx_config_schedules',
                                      'awx_config_teams', 'awx_config_team_roles'])
def test_every_setting_of_an_entry_is_read_by_its_task(variable):
    """A misspelt key in awx/vars/main.yml (job_slice_cont) would otherwise be ignored without a word."""
    task = yaml.safe_dump(task_looping_over(variable))
    for entry in settings()[variable]:
        for key in entry:
            assert re.search(r'\bitem\.%s\b' % key, task), '%s: %s is read by no option of its task' % (variable, key)


# (f) Teams and what they may run

def test_teams_of_role_assignments_exist():
    teams = [team['name'] for team in settings()['awx_config_teams']]
    assert len(teams) == len(set(teams))
    assert {'Support technicians', 'Leads', 'Auditors'} <= set(teams)
    for entry in team_roles():
        assert entry['team'] in teams, entry


def test_roles_are_choices_of_the_role_module():
    choices = module_options('role')['role']['choices']
    assert 'execute' in choices and 'auditor' in choices
    for entry in team_roles():
        assert entry['role'] in choices, entry
        assert entry.get('state', 'present') in module_options('role')['state']['choices'], entry


def test_templates_named_anywhere_exist():
    templates = {template['name'] for template in job_templates()}
    flows = {workflow['name'] for workflow in workflows()}
    assert len(flows) == len(workflows()) and not templates & flows
    for entry in team_roles():
        assert set(entry.get('job_templates', [])) <= templates, entry
        assert set(entry.get('workflows', [])) <= flows, entry
    for schedule in settings()['awx_config_schedules']:
        assert schedule['unified_job_template'] in templates | flows, schedule['name']
    for workflow in workflows():
        for node in workflow['workflow_nodes']:
            assert node['unified_job_template']['type'] == 'job_template', node
            assert node['unified_job_template']['name'] in templates, node
    assert set(settings()['awx_config_notify_on']) <= templates | flows


def test_support_technicians_run_only_checks_and_start_stop():
    runnable = executable_by(SUPPORT)
    assert runnable == SUPPORT_TEMPLATES
    for template in job_templates():
        if template['name'] not in runnable:
            continue
        name = wrapper_name(template)
        # Nothing asked, nothing prompted: what runs is what the template fixes.
        assert 'survey_spec' not in template, template['name']
        assert not any(key.startswith('ask_') and key != 'ask_limit_on_launch' for key in template), template['name']
        if name in NOT_FOR_SUPPORT:
            assert template.get('extra_vars') == PINNED_SAFE.get(name), template['name']


def test_leads_run_everything_and_alone_purge():
    everything = {template['name'] for template in job_templates()} | {workflow['name'] for workflow in workflows()}
    assert executable_by('Leads') == everything
    purge = [template['name'] for template in job_templates() if wrapper_name(template) == 'purge']
    assert len(purge) == 1
    for team in settings()['awx_config_teams']:
        if team['name'] != 'Leads':
            assert purge[0] not in executable_by(team['name']), team['name']


def test_auditors_read_the_organization_and_run_the_windows_report():
    assert {'team': 'Auditors', 'role': 'auditor', 'organizations': ['{{ awx_config_organization }}']} in team_roles()
    assert executable_by('Auditors') == {'Fleet - Maintenance windows'}


# (g) Workflows, schedules, notifications, the CMDB source

@pytest.mark.parametrize('workflow', workflows(), ids=lambda w: w['name'])
def test_workflow_graph(workflow):
    assert workflow['ask_limit_on_launch'] is True
    nodes = workflow['workflow_nodes']
    graph = {node['identifier']: (node['unified_job_template']['name'],
                                  {kind: [target['identifier'] for target in targets]
                                   for kind, targets in node.get('related', {}).items()})
             for node in nodes}
    assert len(graph) == len(nodes)
    assert graph == WORKFLOW_GRAPHS[workflow['name']]


@pytest.mark.parametrize('workflow', workflows(), ids=lambda w: w['name'])
def test_workflow_answers_what_its_templates_require(workflow):
    """AWX shows a node's survey to nobody: a required answer without a default must come from the workflow."""
    by_name = {template['name']: template for template in job_templates()}
    given = set(workflow.get('extra_vars', {})) | {q['variable'] for q in workflow.get('survey_spec', {}).get('spec', [])}
    for node in workflow['workflow_nodes']:
        template = by_name[node['unified_job_template']['name']]
        for question in template.get('survey_spec', {}).get('spec', []):
            if question['required'] and question.get('default', '') == '':
                assert question['variable'] in given, (node['identifier'], question['variable'])
                asked = [q for q in workflow.get('survey_spec', {}).get('spec', []) if q['variable'] == question['variable']]
                if asked:
                    assert {key: asked[0].get(key) for key in ('type', 'required', 'min', 'max')} == \
                        {key: question.get(key) for key in ('type', 'required', 'min', 'max')}


def test_schedule_is_nightly_in_a_time_zone_and_disabled():
    variables = settings()
    schedules = variables['awx_config_schedules']
    assert schedules
    by_name = {entry['name']: entry for entry in job_templates() + workflows()}
    for schedule in schedules:
        rrule = render(schedule['rrule'], variables)
        found = re.fullmatch(r'DTSTART;TZID=([A-Za-z_]+(?:/[A-Za-z_+-]+)*):(\d{8})T(\d{6})\s+RRULE:(\S+)', rrule)
        assert found, rrule
        zone, start, rule = found.group(1), found.group(3), dict(part.split('=', 1) for part in found.group(4).split(';'))
        zones = zoneinfo.available_timezones()
        assert zone in zones or not zones, '%s is not a zone of the time zone database' % zone
        assert start == '020000', rrule
        assert rule.get('FREQ') == 'DAILY' and 'INTERVAL' in rule, rrule  # AWX refuses a rule without INTERVAL
        assert schedule['enabled'] is False, schedule['name']
        # A schedule answers no survey: every required question of its template needs a default.
        for question in by_name[schedule['unified_job_template']].get('survey_spec', {}).get('spec', []):
            assert not question['required'] or question.get('default', '') != '', question['variable']
    assert task_looping_over('awx_config_schedules')['awx.awx.schedule']['enabled'] == "{{ item.enabled | default(false) }}"


def test_secrets_come_from_vault_and_pass_only_through_no_log_tasks():
    variables = settings()
    secrets = sorted(name for name in variables if SECRET_NAME.search(name))
    assert {'awx_config_notification_webhook_token', 'awx_config_notification_email_password'} <= set(secrets)
    for name in secrets:
        assert variables[name] == '' or re.fullmatch(r"\{\{ vault_\w+ \| default\(''\) \}\}", variables[name]), name
    pattern = re.compile(r'\b(%s|vault_\w+)\b' % '|'.join(secrets))
    passing = [task for task in tasks()
               if pattern.search(yaml.safe_dump({key: value for key, value in task.items() if key != 'name'}))]
    assert len(passing) >= 2
    for task in passing:
        assert task.get('no_log') is True, task['name']


def test_notifications_are_made_only_when_configured():
    variables = settings()
    conditions = {task['awx.awx.notification_template']['notification_type']: task.get('when')
                  for module, task in awx_tasks() if module == 'notification_template'}
    assert conditions == {'webhook': 'awx_config_notification_webhook_url | length > 0',
                          'email': 'awx_config_notification_email_host | length > 0'}
    assert variables['awx_config_notification_webhook_url'] == variables['awx_config_notification_email_host'] == ''
    names = {template['name'] for template in job_templates()}
    assert {'POS - Deploy a store', 'Fleet - Update', 'Machines - Kernel upgrade'} <= set(variables['awx_config_notify_on']) & names
    for variable in ('awx_config_job_templates', 'awx_config_workflows'):
        module = [key for key in task_looping_over(variable) if key.startswith('awx.awx.')][0]
        arguments = task_looping_over(variable)[module]
        for option in ('notification_templates_success', 'notification_templates_error'):
            assert 'awx_config_notify_on' in yaml.safe_dump(task_looping_over(variable)), variable
            assert '__awx_config_notifications' in arguments[option], (variable, option)


def test_cmdb_source_is_off_unless_its_path_is_set():
    assert settings()['awx_config_cmdb_inventory_source_path'] == ''
    sources = [task for module, task in awx_tasks() if module == 'inventory_source'
               and 'awx_config_cmdb_inventory_source_path' in yaml.safe_dump(task)]
    assert len(sources) == 1
    assert sources[0]['when'] == 'awx_config_cmdb_inventory_source_path | length > 0'
    assert sources[0]['awx.awx.inventory_source']['source'] == 'scm'


def test_netbox_example_uses_options_of_the_plugin():
    example = load('inventories/netbox.example.yml')
    doc = plugin_documentation('netbox.netbox', 'inventory', 'nb_inventory')
    assert example['plugin'] in doc['options']['plugin']['choices']
    unknown = sorted(set(example) - option_names(doc['options']))
    assert not unknown, unknown
    assert 'token' not in example  # from NETBOX_TOKEN, never in the file
    for group in example.get('group_by', []):
        assert group in doc['options']['group_by']['choices'], group


def test_netbox_example_makes_store_hosts(tmp_path):
    """compose, groups and keyed_groups of the example, applied to a record shaped like NetBox's API answer
    (the constructed plugin evaluates them as nb_inventory does, against the record's fields)."""
    example = load('inventories/netbox.example.yml')
    record = {'name': 'store_00345678', 'status': {'value': 'active'},
              'custom_fields': {'store_id': '00345678', 'unused': None},
              'config_context': {'store_cloud_host': 'cloud01.example.com', 'store_net': '10.140.12.0/24'},
              'site': {'id': 1, 'name': 'Downtown', 'slug': 'downtown'},
              'tags': [{'name': 'POS cloud store', 'slug': 'poscloud-store'}, {'name': 'Pilot', 'slug': 'pilot'}]}
    (tmp_path / 'records.yml').write_text(yaml.safe_dump({'all': {'hosts': {'store_00345678': record}}}))
    constructed = {'plugin': 'ansible.builtin.constructed', 'strict': True}
    constructed.update({key: example[key] for key in ('compose', 'groups', 'keyed_groups') if key in example})
    (tmp_path / 'constructed.yml').write_text(yaml.safe_dump(constructed))
    proc = run(['ansible-inventory', '-i', str(tmp_path / 'records.yml'), '-i', str(tmp_path / 'constructed.yml'),
                '--list'], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    inventory = json.loads(proc.stdout)
    host = inventory['_meta']['hostvars']['store_00345678']
    assert host['store_id'] == '00345678'  # a string, leading zeros kept
    assert host['ansible_host'] == 'cloud01.example.com'
    assert host['store_name'] == 'Downtown'
    assert 'store_00345678' in inventory['stores']['hosts']
    assert 'store_00345678' in inventory['cloud_host_cloud01_example_com']['hosts']
    assert 'store_00345678' in inventory['tag_pilot']['hosts']
