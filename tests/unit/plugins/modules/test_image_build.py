"""Module-level tests of image_build with the docker client and the build replaced by fakes."""
import json
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.poscloud.fleet.plugins.modules import image_build
from ansible_collections.poscloud.fleet.tests.unit.harness import run_module


# Tools the fake target lacks.
MISSING = set()


class Engine(object):
    """Answers the docker commands the module runs, from a list of images."""

    def __init__(self, images=None):
        self.images = images or []
        self.calls = []
        self.timeouts = []

    def __call__(self, cmd, **kwargs):
        if os.path.basename(cmd[0]) == 'timeout':
            # docker commands run under coreutils' timeout: timeout --kill-after=N SECONDS docker ...
            assert cmd[1].startswith('--kill-after=') and cmd[3] == 'docker', cmd
            self.timeouts.append(int(cmd[2]))
            cmd = cmd[3:]
        elif cmd[0] == 'docker':
            raise AssertionError('docker command without a timeout: %r' % (cmd,))
        self.calls.append(cmd)
        if cmd[0] == 'dpkg':
            return 0, 'amd64\n', ''
        args = cmd[1:]
        if args[:1] == ['version']:
            return 0, '20.10.24\n', ''
        if args[:2] == ['image', 'ls']:
            want = [a.split('=', 1)[1] for a in args if a.startswith('label=')]
            found = [i['Id'] for i in self.images
                     if all(i['Config']['Labels'].get(w.split('=', 1)[0]) == w.split('=', 1)[1] for w in want)]
            return 0, '\n'.join(found), ''
        if args[:2] == ['image', 'inspect']:
            found = [i for i in self.images if i['Id'] in args[2:] or set(i['RepoTags']) & set(args[2:])]
            return (0, json.dumps(found), '') if found else (1, '[]', 'No such image')
        if args[:2] == ['image', 'tag']:
            for i in self.images:
                if i['Id'] == args[2]:
                    i['RepoTags'].append(args[3])
            return 0, '', ''
        raise AssertionError('unexpected command %r' % (cmd,))


def run(monkeypatch, engine, check_mode=False, **args):
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, cmd, **kw: engine(cmd, **kw))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda self, name, *a, **kw: None if name in MISSING else '/usr/bin/' + name)
    params = dict(name='poscloud/media', packages=['python3'], mirror='http://m.example.test/debian',
                  apt_sources=[], security_updates=False, keyring=__file__)
    params.update(args)
    return run_module(image_build.main, params, check_mode)


def planned_hash(monkeypatch, **args):
    result = run(monkeypatch, Engine(), check_mode=True, **args).result
    return result['input_hash']


def test_check_mode_plans_a_build_without_touching_the_engine(monkeypatch, tmp_path):
    engine = Engine()
    out = run(monkeypatch, engine, check_mode=True, work_dir=str(tmp_path))
    assert out.kind == 'exit'
    assert out.result['changed'] is True and out.result['plan'] == 'build'
    assert out.result['diff']['after']['input_hash'] == out.result['input_hash']
    assert 'would build poscloud/media:latest' in out.result['msg']
    assert not [c for c in engine.calls if c[1:3] in (['image', 'import'], ['image', 'tag'])]
    assert list(tmp_path.iterdir()) == []


def test_existing_hash_is_a_no_op(monkeypatch):
    h = planned_hash(monkeypatch)
    labels = {'poscloud.fleet.input-hash': h, 'poscloud.fleet.kind': 'media',
              'poscloud.fleet.patch-level': '2026-01-01T00:00:00Z'}
    engine = Engine([{'Id': 'sha256:abc', 'Created': '1', 'RepoTags': ['poscloud/media:latest', 'poscloud/media:' + h[:12]],
                      'Config': {'Labels': labels}}])
    out = run(monkeypatch, engine)
    assert out.kind == 'exit'
    assert out.result['changed'] is False and out.result['plan'] == 'none'
    assert out.result['patch_level'] == '2026-01-01T00:00:00Z'
    assert not [c for c in engine.calls if c[1:3] == ['image', 'tag']]


def test_existing_hash_under_another_name_is_tagged(monkeypatch):
    h = planned_hash(monkeypatch, name='pos/other')
    engine = Engine([{'Id': 'sha256:abc', 'Created': '1', 'RepoTags': ['poscloud/media:latest'],
                      'Config': {'Labels': {'poscloud.fleet.input-hash': h, 'poscloud.fleet.kind': 'media'}}}])
    out = run(monkeypatch, engine, name='pos/other')
    assert out.result['changed'] is True and out.result['plan'] == 'tag'
    tagged = [c[4] for c in engine.calls if c[1:3] == ['image', 'tag']]
    assert tagged == ['pos/other:latest', 'pos/other:' + h[:12]]


def test_force_plans_a_rebuild_even_when_the_hash_exists(monkeypatch):
    h = planned_hash(monkeypatch)
    engine = Engine([{'Id': 'sha256:abc', 'Created': '1', 'RepoTags': ['poscloud/media:latest'],
                      'Config': {'Labels': {'poscloud.fleet.input-hash': h, 'poscloud.fleet.kind': 'media'}}}])
    out = run(monkeypatch, engine, check_mode=True, force=True)
    assert out.result['plan'] == 'build'
    assert out.result['diff']['before']['input_hash'] == h


@pytest.mark.parametrize('args,field', [
    ({'name': 'Bad Name'}, 'name: '),
    ({'tag': '-x'}, 'tag: '),
    ({'suite': 'nosuchsuite', 'builder': 'debootstrap'}, "suite: 'nosuchsuite' is not a suite debootstrap knows"),
    ({'variant': 'fakechroot', 'builder': 'mmdebstrap'}, "variant: 'fakechroot' is not a variant of the mmdebstrap builder"),
    ({'download_timeout': 0}, 'download_timeout: 0 is not a number of seconds'),
    ({'download_tries': 11, 'builder': 'mmdebstrap'}, 'download_tries: 11 is not a number of attempts'),
    ({'packages': ['ok', 'NOT_OK']}, 'packages: '),
    ({'mirror': 'ftp://m.example.test/debian'}, 'mirror: '),
    ({'keyring': '/nonexistent/keyring.gpg'}, 'keyring: '),
    ({'files': [{'dest': 'relative/path', 'content': 'x'}]}, 'files[0].dest: '),
    ({'files': [{'dest': '/etc/x', 'content': 'x', 'src': '/etc/hostname'}]}, 'files[0]: '),
    ({'files': [{'dest': '/etc/x', 'content': 'x', 'mode': 'rw'}]}, 'files[0].mode: '),
    ({'mirror': None}, 'mirror: none given'),
])
def test_bad_input_fails_before_any_engine_call(monkeypatch, args, field):
    engine = Engine()
    out = run(monkeypatch, engine, **args)
    assert out.kind == 'fail'
    assert out.result['msg'].startswith(field) or field in out.result['msg']
    assert [c for c in engine.calls if c[0] != 'dpkg'] == []


@pytest.mark.parametrize('builder', ['debootstrap', 'mmdebstrap'])
def test_a_missing_builder_is_named_with_its_package(monkeypatch, builder):
    MISSING.add(builder)
    try:
        out = run(monkeypatch, Engine(), builder=builder)
    finally:
        MISSING.discard(builder)
    assert out.kind == 'fail'
    assert out.result['msg'].startswith('builder: %s is not installed on the target; install the Debian '
                                        'package %s' % (builder, builder))


def test_the_builder_is_an_input_except_debootstrap(monkeypatch):
    """Images debootstrap built before the builder could be chosen keep their hash; mmdebstrap's differ."""
    default = run(monkeypatch, Engine(), check_mode=True).result['inputs']
    mmdeb = run(monkeypatch, Engine(), check_mode=True, builder='mmdebstrap').result['inputs']
    assert 'builder' not in default['options']
    assert mmdeb['options']['builder'] == 'mmdebstrap'
    assert planned_hash(monkeypatch) == planned_hash(monkeypatch, builder='debootstrap')
    assert planned_hash(monkeypatch) != planned_hash(monkeypatch, builder='mmdebstrap')
    # The download bounds are not inputs: they change how a build fetches, not what it makes.
    assert planned_hash(monkeypatch, download_timeout=5, download_tries=1) == planned_hash(monkeypatch)


def test_mirror_defaults_to_the_apt_sources(monkeypatch, tmp_path):
    sources = tmp_path / 'debian.sources'
    sources.write_text('Types: deb\nURIs: http://apt.example.test/debian/\nSuites: bookworm\nComponents: main\n')
    out = run(monkeypatch, Engine(), check_mode=True, mirror=None, apt_sources=[str(tmp_path)])
    assert out.result['mirror'] == 'http://apt.example.test/debian'
    assert out.result['inputs']['mirror'] == 'http://apt.example.test/debian'


def test_a_snapshot_that_inherited_the_hash_is_not_the_build(monkeypatch):
    """Store snapshots inherit the media's labels; they must never be taken for the media itself."""
    h = planned_hash(monkeypatch)
    snapshot = {'Id': 'sha256:snap', 'Created': '2', 'RepoTags': ['poscloud/store-1:latest'],
                'Config': {'Labels': {'poscloud.fleet.input-hash': h, 'poscloud.fleet.kind': 'snapshot'}}}
    media = {'Id': 'sha256:media', 'Created': '1', 'RepoTags': ['poscloud/media:latest', 'poscloud/media:' + h[:12]],
             'Config': {'Labels': {'poscloud.fleet.input-hash': h, 'poscloud.fleet.kind': 'media'}}}
    engine = Engine([snapshot, media])
    out = run(monkeypatch, engine)
    assert out.result['image']['id'] == 'sha256:media'
    assert out.result['plan'] == 'none'
    assert not [c for c in engine.calls if c[1:3] == ['image', 'tag']]


def test_every_docker_command_runs_under_the_docker_timeout(monkeypatch, tmp_path):
    engine = Engine()
    run(monkeypatch, engine, check_mode=True, work_dir=str(tmp_path), docker_timeout=42)
    assert engine.timeouts and set(engine.timeouts) == {42}


def test_a_docker_command_that_times_out_fails_with_a_clear_message(monkeypatch, tmp_path):
    def hung(cmd, **kwargs):
        return (124, '', '') if os.path.basename(cmd[0]) == 'timeout' else (0, 'amd64\n', '')
    out = run(monkeypatch, hung, check_mode=True, work_dir=str(tmp_path), docker_timeout=7)
    assert out.kind == 'fail'
    assert 'did not finish within 7 s' in out.result['msg'] and 'docker_timeout' in out.result['msg']


@pytest.mark.parametrize('value', [0, -5, 86401])
def test_docker_timeout_out_of_range_is_refused(monkeypatch, tmp_path, value):
    out = run(monkeypatch, Engine(), check_mode=True, work_dir=str(tmp_path), docker_timeout=value)
    assert out.kind == 'fail' and out.result['msg'].startswith('docker_timeout:')


@pytest.mark.parametrize('mode', ['-1', '0999', 'rw-r--r--', '77777', '0o644', ' 644', '0644\n', '1e3'])
def test_file_mode_outside_octal_permissions_is_refused(monkeypatch, tmp_path, mode):
    out = run(monkeypatch, Engine(), check_mode=True, work_dir=str(tmp_path),
              files=[{'dest': '/etc/a', 'content': 'x'}, {'dest': '/etc/b', 'content': 'x', 'mode': mode}])
    assert out.kind == 'fail'
    assert out.result['msg'].startswith('files[1].mode: ')


@pytest.mark.parametrize('mode', ['0644', '755', '2755', '0'])
def test_octal_file_modes_are_accepted(monkeypatch, tmp_path, mode):
    out = run(monkeypatch, Engine(), check_mode=True, work_dir=str(tmp_path),
              files=[{'dest': '/etc/b', 'content': 'x', 'mode': mode}])
    assert out.kind == 'exit', out.result
