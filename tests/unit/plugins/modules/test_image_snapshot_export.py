"""image_snapshot state=exported: the tarball is written atomically with mode 0640 beside its checksum and
metadata, and a failed export leaves the previous tarball and no temporary file. The Docker CLI is faked."""
import hashlib
import json
import os
import stat

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError
from ansible_collections.poscloud.fleet.plugins.modules import image_snapshot
from ansible_collections.poscloud.fleet.tests.unit.harness import run_module

IMAGE = {'Id': 'sha256:' + 'a' * 64, 'RepoTags': ['poscloud/store-12345678:20261203T101500Z']}


class Docker(object):
    def __init__(self, tarball=b'image tarball', error=None):
        self.tarball = tarball
        self.error = error
        self.calls = []

    def ping(self):
        return True

    def inspect_image(self, ref):
        return IMAGE if ref in (IMAGE['Id'], IMAGE['RepoTags'][0]) else None

    def run(self, args, **kw):
        self.calls.append(list(args))
        assert args[:3] == ['image', 'save', '--output']
        with open(args[3], 'wb') as f:
            f.write(self.tarball[:5])
            if self.error:
                raise DockerError(self.error)
            f.write(self.tarball[5:])
        return 0, '', ''


@pytest.fixture
def docker(monkeypatch):
    state = Docker()
    monkeypatch.setattr(image_snapshot, 'cli_for', lambda module: state)
    return state


def export(path, check_mode=False, **args):
    params = dict(state='exported', image=IMAGE['RepoTags'][0], path=str(path))
    params.update(args)
    return run_module(image_snapshot.main, params, check_mode)


def test_export_writes_the_tarball_0640_with_its_checksum_and_metadata(docker, tmp_path):
    path = tmp_path / 'snapshots' / 'store.tar'
    out = export(path)
    digest = hashlib.sha256(b'image tarball').hexdigest()
    assert out.kind == 'exit' and out.result['changed'] and out.result['sha256'] == digest
    assert path.read_bytes() == b'image tarball'
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640
    assert (tmp_path / 'snapshots' / 'store.tar.sha256').read_text() == '%s  store.tar\n' % digest
    assert json.loads((tmp_path / 'snapshots' / 'store.tar.json').read_text())['image_id'] == IMAGE['Id']
    assert sorted(os.listdir(str(path.parent))) == ['store.tar', 'store.tar.json', 'store.tar.sha256']
    again = export(path)
    assert again.kind == 'exit' and not again.result['changed'] and len(docker.calls) == 1


def test_check_mode_exports_nothing(docker, tmp_path):
    out = export(tmp_path / 'store.tar', check_mode=True)
    assert out.kind == 'exit' and out.result['changed'] and out.result['msg'].startswith('would export ')
    assert docker.calls == [] and os.listdir(str(tmp_path)) == []


def test_a_failed_export_keeps_the_previous_tarball_and_leaves_no_temporary_file(docker, tmp_path):
    path = tmp_path / 'store.tar'
    path.write_bytes(b'previous')
    os.chmod(str(path), 0o600)
    docker.error = 'docker image save: no space left on device'
    out = export(path, force=True)
    assert out.kind == 'fail' and 'no space left' in out.result['msg']
    assert path.read_bytes() == b'previous' and stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert os.listdir(str(tmp_path)) == ['store.tar']


def test_an_export_over_a_symlink_writes_its_target(docker, tmp_path):
    (tmp_path / 'disk').mkdir()
    os.symlink('disk/store.tar', str(tmp_path / 'store.tar'))
    out = export(tmp_path / 'store.tar')
    assert out.kind == 'exit'
    assert os.path.islink(str(tmp_path / 'store.tar'))
    assert (tmp_path / 'disk' / 'store.tar').read_bytes() == b'image tarball'
