import copy
import os

import pytest
import yaml

from ansible_collections.poscloud.fleet.plugins.module_utils import profile as prof

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


@pytest.fixture
def demo():
    with open(os.path.join(ROOT, 'profiles', 'demo.yml')) as f:
        return yaml.safe_load(f)


def test_the_demo_profile_is_valid_and_normalised(demo):
    p = prof.validate_profile(demo)
    assert p['name'] == 'demo' and p['version'] == '1.0.1'
    assert p['data_paths'] == ['/usr2/pos']
    assert p['ports'] == [{'port': 22, 'proto': 'tcp'}, {'port': 8080, 'proto': 'tcp'}]
    assert p['install'][0]['command'].startswith('sh demo-pos-1.0.1/install.sh')
    assert [s['name'] for s in p['services']] == ['sshd', 'posd']
    assert p['services'][1]['user'] == 'pos'
    assert p['backup']['include'] == ['/usr2/pos']
    assert p['media']['unpack'] is True


def test_digest_follows_content(demo):
    a = prof.profile_digest(prof.validate_profile(demo))
    assert a == prof.profile_digest(prof.validate_profile(copy.deepcopy(demo)))
    demo['version'] = '1.0.2'
    assert prof.profile_digest(prof.validate_profile(demo)) != a


def change(profile, path, value):
    target = profile
    keys = path.split('.')
    for k in keys[:-1]:
        target = target[int(k)] if isinstance(target, list) else target[k]
    last = keys[-1]
    if value is DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


DELETE = object()


@pytest.mark.parametrize('path,value,field', [
    ('name', 'Demo POS', 'name'),
    ('version', '', 'version'),
    ('media', DELETE, 'media'),
    ('media.sha256', 'abc', 'media.sha256'),
    ('media.url', 'http://media.example.test/x.tar.gz', 'media'),
    ('packages', ['ok', 'Not_OK'], 'packages'),
    ('groups', ['Bad Group'], 'groups[0]'),
    ('users.0.name', 'Bad User', 'users[0].name'),
    ('users.0.groups', ['nosuchgroup'], 'users[0].groups'),
    ('install', [], 'install'),
    ('install.0', {'command': ''}, 'install[0].command'),
    ('services.1.user', 'nobody-here', 'services[1].user'),
    ('services.1.name', 'sshd', 'services[1].name'),
    ('ports', [70000], 'ports[0]'),
    ('ports', [{'port': 80, 'proto': 'sctp'}], 'ports[0].proto'),
    ('data_paths', [], 'data_paths'),
    ('data_paths', ['/etc'], 'data_paths[0]'),
    ('data_paths', ['relative/path'], 'data_paths[0]'),
    ('data_paths', ['/usr2/pos', '/usr2/pos/db'], 'data_paths[1]'),
    ('data_paths', ['/usr2/../etc'], 'data_paths[0]'),
    ('health', DELETE, 'health.url'),
    ('health.url', 'ftp://x', 'health.url'),
    ('backup.include', ['/var/log'], 'backup.include[0]'),
    ('printer.port', 0, 'printer.port'),
    ('config_files', [{'dest': '/etc/x'}], 'config_files[0]'),
])
def test_bad_profiles_name_the_field(demo, path, value, field):
    change(demo, path, value)
    with pytest.raises(prof.ProfileError) as e:
        prof.validate_profile(demo)
    assert str(e.value).startswith(field + ': '), str(e.value)


def test_a_profile_must_be_a_mapping():
    with pytest.raises(prof.ProfileError, match='^profile: '):
        prof.validate_profile(['not', 'a', 'mapping'])


@pytest.mark.parametrize('store_id', ['12345678', '00000001'])
def test_good_store_ids(store_id):
    assert prof.validate_store_id(store_id) == store_id


@pytest.mark.parametrize('store_id', ['1234', '123456789', 'abcdefgh', '1234 678', '', None, '12345678\n'])
def test_bad_store_ids_are_refused(store_id):
    with pytest.raises(prof.ProfileError, match="^store_id: "):
        prof.validate_store_id(store_id)


def test_store_id_pattern_can_be_changed_and_must_be_valid():
    assert prof.validate_store_id('ST-0042', r'^ST-[0-9]{4}$') == 'ST-0042'
    with pytest.raises(prof.ProfileError, match='^store_id_pattern: '):
        prof.validate_store_id('1', '([')


def test_app_services_default_to_every_service_and_must_exist(demo):
    p = prof.validate_profile(demo)
    assert p['app_services'] == ['posd']
    del demo['app_services']
    assert prof.validate_profile(demo)['app_services'] == ['sshd', 'posd']
    demo['app_services'] = ['posd', 'nope']
    with pytest.raises(prof.ProfileError, match=r"^app_services\[1\]: 'nope' is not one of"):
        prof.validate_profile(demo)


def test_data_summary_is_checked(demo):
    p = prof.validate_profile(demo)
    assert p['data_summary']['compare'] == ['transactions', 'digest'] and p['data_summary']['user'] == 'pos'
    demo['data_summary']['compare'] = []
    with pytest.raises(prof.ProfileError, match=r'^data_summary.compare: '):
        prof.validate_profile(demo)
    demo['data_summary'] = {'command': ['x'], 'user': 'nobody', 'compare': ['digest']}
    with pytest.raises(prof.ProfileError, match=r'^data_summary.user: '):
        prof.validate_profile(demo)
    del demo['data_summary']
    assert prof.validate_profile(demo)['data_summary'] is None
