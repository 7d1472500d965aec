"""Every option of every module, given a wrong type, a negative, empty, huge or non-UTF-8 value,
ends in a clean result: exit_json, or fail_json with a message (no traceback, no other exception).

A failure that comes from the input, before the module ran any command, names the option. Nothing
here touches the machine: paths point into a temporary folder, every command the module would run
answers "not available", no Docker socket answers, and every run is in check mode.
"""
import hashlib
import importlib
import json
import os
import shutil

import pytest
import yaml

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_api import DockerAPI
from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULES_DIR = os.path.join(ROOT, 'plugins', 'modules')
GRUB_CFG = os.path.join(ROOT, 'tests', 'unit', 'plugins', 'module_utils', 'fixtures', 'grub.cfg.debian12')
MODULES = sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith('.py') and not f.startswith('_'))
# Bytes that are not UTF-8 (b'caf\xe9\xff') reach a module as U+FFFD after the controller's JSON, with a
# NUL byte, which no path or command may carry.
NON_UTF8 = 'caf\ufffd\ufffd\x00'
PSK = 'fuzz-pre-shared-key-0123456789'


class Spec(Exception):
    pass


def import_module(name):
    return importlib.import_module('ansible_collections.poscloud.fleet.plugins.modules.' + name)


def argument_spec(name):
    """The module's argument spec, read by letting main() build its AnsibleModule."""
    def capture(self, argument_spec=None, **kwargs):
        raise Spec(argument_spec)
    original = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = capture
    try:
        import_module(name).main()
    except Spec as e:
        return e.args[0]
    finally:
        basic.AnsibleModule.__init__ = original
    raise AssertionError('%s.main() built no AnsibleModule' % name)


SPECS = dict((name, argument_spec(name)) for name in MODULES)


def demo_profile():
    with open(os.path.join(ROOT, 'profiles', 'demo.yml')) as f:
        return yaml.safe_load(f)


def base_args(name, tmp):
    """Plausible arguments for each module, every path inside ``tmp``."""
    data = os.path.join(tmp, 'root', 'data')
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, 'a.txt'), 'w') as f:
        f.write('a\n')
    boot = os.path.join(tmp, 'boot')
    os.makedirs(boot, exist_ok=True)
    shutil.copy(GRUB_CFG, os.path.join(boot, 'grub.cfg'))
    swanctl = os.path.join(tmp, 'swanctl')
    os.makedirs(os.path.join(swanctl, 'conf.d'), exist_ok=True)
    docker = dict(docker_host='unix://' + os.path.join(tmp, 'no-engine.sock'), docker_cli='docker')
    bundle = os.path.join(tmp, 'bundle')
    os.makedirs(os.path.join(bundle, 'files', 'opt'), exist_ok=True)
    with open(os.path.join(bundle, 'files', 'opt', 'tool'), 'w') as f:
        f.write('tool\n')
    with open(os.path.join(bundle, 'release.json'), 'w') as f:
        json.dump({'id': 'tool-1', 'files': [{'path': '/opt/tool', 'mode': '0755', 'owner': '0', 'group': '0',
                                              'sha256': hashlib.sha256(b'tool\n').hexdigest()}]}, f)
    args = {
        'app_package': dict(src=data, dest=os.path.join(tmp, 'app.tar.gz'), prefix='app'),
        'cutover_cloud': dict(store='12345678', instance='pos_12345678', steps=['copy', 'verify'],
                              volumes={'/data': 'pos_12345678_data'}, copy_source='root@192.0.2.10',
                              copy_key=os.path.join(tmp, 'key'), copy_known_hosts=os.path.join(tmp, 'known_hosts'),
                              copy_container='posdata_12345678', expect_digest='0' * 64, **docker),
        'cutover_source': dict(state='stopped', services=['posd'], service_manager='poscloud-init',
                               hold_dir=os.path.join(tmp, 'hold'), manifest_paths=[data]),
        'data_manifest': dict(paths=['/data'], root=os.path.join(tmp, 'root'), dest=os.path.join(tmp, 'm.jsonl')),
        'grub_boot_target': dict(grubenv=os.path.join(boot, 'grubenv'), grub_cfg=os.path.join(boot, 'grub.cfg'),
                                 state='query'),
        'grub_boot_target_info': dict(grubenv=os.path.join(boot, 'grubenv'), grub_cfg=os.path.join(boot, 'grub.cfg'),
                                      kernels=['6.1.0-26-amd64']),
        'image_build': dict(name='poscloud/media', mirror='http://mirror.invalid/debian', apt_sources=[],
                            keyring=GRUB_CFG, work_dir=os.path.join(tmp, 'build'), **docker),
        'image_archive': dict(name='poscloud/media:latest', path=os.path.join(tmp, 'images', 'media.tar'),
                              docker_host=docker['docker_host']),
        'image_info': dict(name='poscloud/media', **docker),
        'image_load': dict(name='poscloud/media:latest', image_id='sha256:' + '0' * 64,
                           archive=os.path.join(tmp, 'images', 'media.tar'), checksum='0' * 64,
                           docker_host=docker['docker_host']),
        'image_remove': dict(name='poscloud/media', **docker),
        'image_snapshot': dict(state='pruned', repository='poscloud/pos-12345678', keep=2, **docker),
        'ipsec_tunnel': dict(name='store-0042', remote_addrs=['203.0.113.42'], local_ts=['10.201.0.0/24'],
                             remote_ts=['10.42.0.0/24'], psk=PSK, swanctl_dir=swanctl,
                             swanctl_path='/usr/sbin/swanctl'),
        'ipsec_tunnel_info': dict(swanctl_path='/usr/sbin/swanctl'),
        'maintenance_window': dict(timezone='Europe/Berlin', opening_hours={'mon': '08:00-20:00'},
                                   blackout_dates=['2027-02-14'], now='2026-12-07T10:00:00Z'),
        'pos_profile': dict(profile=demo_profile(), store_id='12345678'),
        'software_release': dict(src=bundle, root=os.path.join(tmp, 'root')),
        'software_release_info': dict(root=os.path.join(tmp, 'root'), verify=True),
        'stage_plan': dict(store='12345678', profile=demo_profile(), media_image='poscloud/media:latest',
                           repository='poscloud/pos-12345678',
                           input_files={'init': ['roles/pos_stage/files/poscloud_init.py']}, **docker),
        'store_lock': dict(store='12345678', state='query', state_dir=os.path.join(tmp, 'stores')),
        'store_status': dict(store='12345678', container='pos_12345678', backup_dir=os.path.join(tmp, 'backups'),
                             state_dir=os.path.join(tmp, 'state'), **docker),
    }
    return args[name]


def fuzz_values(option):
    """(kind, value) pairs for one option, by its type."""
    kind = option.get('type', 'str')
    if kind == 'int':
        return [('wrong type', 'many'), ('negative', -1), ('empty', ''), ('huge', 10 ** 30), ('non-UTF-8', NON_UTF8)]
    if kind == 'bool':
        return [('wrong type', 'perhaps'), ('negative', -1), ('empty', ''), ('huge', 10 ** 30), ('non-UTF-8', NON_UTF8)]
    if kind == 'list' and option.get('elements') == 'dict':
        return [('wrong type', {'a': {'b': 1}}), ('negative', [{'x': -1}]), ('empty', [{}]), ('huge', [{'x': 'y'}] * 2000),
                ('non-UTF-8', [{NON_UTF8: NON_UTF8}])]
    if kind == 'list':
        return [('wrong type', {'a': {'b': 1}}), ('negative', [-1]), ('empty', []), ('huge', ['x' * 64] * 2000),
                ('non-UTF-8', [NON_UTF8])]
    if kind == 'dict':
        return [('wrong type', 42), ('negative', {'a': -1}), ('empty', {}), ('huge', dict(('k%d' % i, i) for i in range(2000))),
                ('non-UTF-8', {NON_UTF8: NON_UTF8})]
    # str, path, raw
    return [('wrong type', ['a', 'b']), ('negative', '-1'), ('empty', ''), ('huge', 'x' * 100000), ('non-UTF-8', NON_UTF8)]


CASES = [(name, option, kind, value)
         for name in MODULES
         for option, spec in sorted(SPECS[name].items())
         for kind, value in fuzz_values(spec)]


@pytest.fixture
def sandbox(monkeypatch, tmp_path, module_exit):
    """Commands, downloads, Engine API requests and sleeps do nothing. Returns what was attempted."""
    ran = []
    monkeypatch.chdir(tmp_path)  # relative paths land in the temporary folder

    def run_command(self, args, **kw):
        ran.append(args)
        return 1, '', 'not available in this test'

    def open_url(*args, **kwargs):
        ran.append(['open_url'] + list(args[:1]))
        raise IOError('no network in this test')

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, required=False, opt_dirs=None: None)

    def engine_get(self, url):
        ran.append(['GET', url])
        raise DockerError('the Docker engine does not answer in this test')
    monkeypatch.setattr(DockerAPI, '_get', engine_get)
    for name in MODULES:
        module = import_module(name)
        if hasattr(module, 'open_url'):
            monkeypatch.setattr(module, 'open_url', open_url)
        if hasattr(module, 'time') and hasattr(module.time, 'sleep'):
            monkeypatch.setattr(module.time, 'sleep', lambda seconds: None)
    return ran


def run(name, args):
    params = dict(args, _ansible_check_mode=True)
    with patch_module_args(params):
        with pytest.raises(Exception) as e:
            import_module(name).main()
    assert hasattr(e.value, 'kind'), 'main() raised %r instead of ending with exit_json or fail_json' % (e.value,)
    return e.value


def test_every_module_is_covered():
    assert MODULES and set(MODULES) == set(SPECS)
    covered = set(c[0] for c in CASES)
    assert covered == set(MODULES)
    for name in MODULES:
        assert set(c[1] for c in CASES if c[0] == name) == set(SPECS[name])


@pytest.mark.parametrize('name', MODULES)
def test_the_base_arguments_end_cleanly(sandbox, tmp_path, name):
    out = run(name, base_args(name, str(tmp_path)))
    assert out.kind in ('exit', 'fail')
    json.dumps(out.result)


@pytest.mark.parametrize('name, option, kind, value', CASES,
                         ids=['%s-%s-%s' % (c[0], c[1], c[2].replace(' ', '_')) for c in CASES])
def test_fuzzed_option_ends_cleanly(sandbox, tmp_path, name, option, kind, value):
    args = base_args(name, str(tmp_path))
    args[option] = value
    out = run(name, args)
    assert out.kind in ('exit', 'fail')
    if out.kind == 'fail':
        msg = out.result.get('msg')
        assert isinstance(msg, str) and msg
        assert 'Traceback' not in msg and 'exception' not in out.result
        if not sandbox:
            # Refused on the input itself: the message says which option.
            assert option in msg, msg
    text = json.dumps(out.result, ensure_ascii=True)
    if name in ('ipsec_tunnel',):
        assert PSK not in text


@pytest.mark.parametrize('name, option', sorted((c[0], c[1]) for c in CASES if c[2] == 'wrong type'
                                                and SPECS[c[0]][c[1]].get('type') in ('int', 'bool', 'list', 'dict')))
def test_a_wrong_type_fails_naming_the_option(sandbox, tmp_path, name, option):
    args = base_args(name, str(tmp_path))
    args[option] = dict(fuzz_values(SPECS[name][option]))['wrong type']
    out = run(name, args)
    assert out.kind == 'fail'
    assert option in out.result['msg']
    assert not sandbox
