"""Every module's documentation renders with its doc fragments, and says for check mode, diff mode and
platform what it supports (a fragment listed in the wrong order would leave the support N/A)."""
import ast
import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                 if name.endswith('.py') and not name.startswith('_'))


@pytest.fixture(scope='module')
def docs():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'), ANSIBLE_NOCOLOR='1')
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '--json']
                         + ['poscloud.fleet.%s' % m for m in MODULES],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False, timeout=300)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout.decode())


def test_every_module_states_its_check_mode_diff_mode_and_platform_support(docs):
    assert sorted(docs) == ['poscloud.fleet.%s' % m for m in MODULES]
    for name, entry in docs.items():
        attributes = entry['doc']['attributes']
        for attribute in ('check_mode', 'diff_mode', 'platform'):
            assert attributes[attribute]['support'] in ('full', 'partial', 'none'), (name, attribute)
            assert attributes[attribute]['description'], (name, attribute)
        assert attributes['platform']['platforms'], name


def test_read_only_modules_say_so(docs):
    for name in ('image_info', 'ipsec_tunnel_info', 'stage_plan', 'store_status'):
        attributes = docs['poscloud.fleet.%s' % name]['doc']['attributes']
        assert attributes['check_mode']['support'] == 'full' and attributes['diff_mode']['support'] == 'none'
        assert attributes['check_mode']['details'] == 'The module only reads.'
    assert docs['poscloud.fleet.pos_profile']['doc']['attributes']['check_mode']['details'] == 'The module only validates.'


def test_author_and_attribute_descriptions_come_from_the_collections_fragment(docs):
    for name in MODULES:
        with open(os.path.join(ROOT, 'plugins', 'modules', name + '.py')) as f:
            text = f.read()
        documentation = yaml.safe_load(next(node.value.value for node in ast.parse(text).body if isinstance(node, ast.Assign)
                                            and [t.id for t in node.targets] == ['DOCUMENTATION']))
        assert 'author' not in documentation, name
        fragments = documentation['extends_documentation_fragment']
        assert 'ansible.builtin.action_common_attributes' not in fragments, name
        assert 'poscloud.fleet.attributes' in fragments, name
        if 'poscloud.fleet.attributes.info_module' in fragments:
            # of two fragments the one listed first wins: the info part goes before the descriptions
            assert fragments.index('poscloud.fleet.attributes.info_module') < fragments.index('poscloud.fleet.attributes'), name
        assert docs['poscloud.fleet.%s' % name]['doc']['author'] == ['POS Cloud Fleet team (@poscloud-fleet)'], name
