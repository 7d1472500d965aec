"""Wrong types, negative numbers and colliding names in a profile fail with the field named."""
import copy
import os

import pytest
import yaml

from ansible_collections.poscloud.fleet.plugins.module_utils import profile as prof

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


@pytest.fixture(scope='module')
def demo_text():
    with open(os.path.join(ROOT, 'profiles', 'demo.yml')) as f:
        return f.read()


@pytest.fixture
def demo(demo_text):
    return yaml.safe_load(demo_text)


def refused(profile):
    with pytest.raises(prof.ProfileError) as e:
        prof.validate_profile(profile)
    return str(e.value)


def test_the_example_from_the_field_table(demo):
    demo['services'][1]['stop_timeout'] = 'x'
    assert refused(demo) == "services[1].stop_timeout: must be a number of seconds >= 0, got 'x'"


@pytest.mark.parametrize('value', ['x', -1, -0.5, True, None, [], {}, float('nan'), 10 ** 12])
def test_stop_timeout_must_be_seconds(demo, value):
    demo['services'][0]['stop_timeout'] = value
    assert refused(demo).startswith('services[0].stop_timeout: ')


@pytest.mark.parametrize('value', [0, 2.5, 30])
def test_stop_timeout_accepts_seconds(demo, value):
    demo['services'][0]['stop_timeout'] = value
    assert prof.validate_profile(demo)['services'][0]['stop_timeout'] == int(value)


@pytest.mark.parametrize('value', ['x', -1, True, 2.5, [1], {'a': 1}, '-5', 2 ** 32, '12 '])
def test_uid_must_be_a_user_id(demo, value):
    demo['users'][0]['uid'] = value
    assert refused(demo).startswith('users[0].uid: ')


def test_uid_given_as_digits_is_a_number(demo):
    demo['users'][0]['uid'] = '2001'
    assert prof.validate_profile(demo)['users'][0]['uid'] == 2001


@pytest.mark.parametrize('value', ['A=1', ['A=1'], 5, True])
def test_env_must_be_a_mapping(demo, value):
    demo['services'][0]['env'] = value
    assert refused(demo).startswith('services[0].env: ')


@pytest.mark.parametrize('value', [{'A': [1]}, {'A': {'b': 1}}, {1: 'x'}, {'': 'x'}])
def test_env_values_must_be_single_values(demo, value):
    demo['services'][0]['env'] = value
    assert refused(demo).startswith('services[0].env')


def test_env_values_become_text(demo):
    demo['services'][0]['env'] = {'LANG': 'C.UTF-8', 'N': 3, 'ON': True}
    assert prof.validate_profile(demo)['services'][0]['env'] == {'LANG': 'C.UTF-8', 'N': '3', 'ON': 'True'}


@pytest.mark.parametrize('value', ['x', -1, 0, False, [], {}, 10 ** 12])
def test_health_timeout_must_be_positive_seconds(demo, value):
    demo['health']['timeout'] = value
    assert refused(demo).startswith('health.timeout: ')


@pytest.mark.parametrize('value', ['running', ['state'], 3, {'state': ['a']}, {'state': {'x': 1}}])
def test_health_expect_must_be_a_mapping_of_values(demo, value):
    demo['health']['expect'] = value
    assert refused(demo).startswith('health.expect')


@pytest.mark.parametrize('value', ['9100', 0, 65536, -1, True, 9100.5, None, []])
def test_printer_port_must_be_a_port_number(demo, value):
    demo['printer']['port'] = value
    assert refused(demo).startswith('printer.port: ')


def test_printer_must_be_a_mapping(demo):
    demo['printer'] = 9100
    assert refused(demo).startswith('printer: ')


@pytest.mark.parametrize('value', [42, ['http://x'], {'u': 1}, True])
def test_media_url_must_be_a_string(demo, value):
    demo['media'].pop('path', None)
    demo['media']['url'] = value
    assert refused(demo).startswith('media.url: ')


@pytest.mark.parametrize('value', ['ftp://x/y', 'http://', 'http:// x', 'https://h/a b', '/path'])
def test_media_url_must_be_http(demo, value):
    demo['media'].pop('path', None)
    demo['media']['url'] = value
    assert refused(demo).startswith('media.url: ')


def test_media_path_must_be_a_string(demo):
    demo['media']['path'] = ['a.tar.gz']
    assert refused(demo).startswith('media.path: ')


@pytest.mark.parametrize('value', [True, 22.0, '22', 0, 70000])
def test_ports_must_be_port_numbers(demo, value):
    demo['ports'] = [value]
    assert refused(demo).startswith('ports[0]: ')


@pytest.mark.parametrize('paths', [['/data/a-b', '/data/a_b'], ['/srv1/pos.db', '/srv1/pos-db'], ['/x/y', '/x_y'],
                                   ['/data/a', '/data/a/']])
def test_data_paths_that_would_share_a_volume_name_are_refused(demo, paths):
    demo['data_paths'] = paths
    demo.pop('backup', None)
    msg = refused(demo)
    assert msg.startswith('data_paths[1]: ')


def test_data_volume_suffix_follows_the_instance_role():
    assert prof.data_volume_suffix('/usr2/pos') == 'usr2_pos'
    assert prof.data_volume_suffix('/data/a-b') == prof.data_volume_suffix('/data/a_b') == 'data_a_b'
    assert prof.data_volume_suffix('/Data/A') != prof.data_volume_suffix('/data/a')


@pytest.mark.parametrize('field, value', [
    ('name', 'demo\n'), ('version', '1.0.1\n'), ('users.0.name', 'pos\n'), ('services.0.name', 'sshd\n'),
    ('packages', ['python3\n']), ('media.sha256', 'a' * 64 + '\n'),
])
def test_names_with_a_trailing_newline_are_refused(demo, field, value):
    target = demo
    keys = field.split('.')
    for k in keys[:-1]:
        target = target[int(k)] if isinstance(target, list) else target[k]
    target[int(keys[-1]) if isinstance(target, list) else keys[-1]] = value
    msg = refused(demo)
    assert msg.startswith(keys[0])


def test_store_ids_with_a_trailing_newline_are_refused():
    with pytest.raises(prof.ProfileError):
        prof.validate_store_id('12345678\n')
    assert prof.validate_store_id('12345678') == '12345678'


def test_the_demo_profile_still_validates(demo):
    before = copy.deepcopy(demo)
    assert prof.validate_profile(demo)['name'] == 'demo'
    assert demo == before


@pytest.mark.parametrize('key, value', [('path', 'media/'), ('path', 'a/..'), ('path', 'demo\n.tar.gz'),
                                        ('url', 'https://h.example/'), ('url', 'https://h.example/x/?a=1')])
def test_media_must_name_a_file(demo, key, value):
    demo['media'].pop('path', None)
    demo['media'][key] = value
    assert refused(demo).startswith('media.%s: ' % key)
