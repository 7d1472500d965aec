"""data_manifest: the mode of the manifest file and the expected manifest are checked before use."""
import json
import os

import pytest

from ansible_collections.poscloud.fleet.plugins.modules import data_manifest


@pytest.fixture
def root(tmp_path):
    data = tmp_path / 'root' / 'usr2' / 'pos'
    data.mkdir(parents=True)
    (data / 'sales.db').write_bytes(b'sales\n')
    return tmp_path / 'root'


@pytest.fixture
def run(run_module, root):
    def run_data_manifest(check_mode=False, **args):
        return run_module(data_manifest.main, dict(dict(paths=['/usr2/pos'], root=str(root)), **args), check_mode)
    return run_data_manifest


@pytest.mark.parametrize('check_mode', [True, False])
@pytest.mark.parametrize('mode', ['rw-r-----', '0999', '-1', '99999', -1, 0o10000, True, 1.5, '0640\n'])
def test_a_mode_that_is_not_octal_permissions_is_refused(run, tmp_path, check_mode, mode):
    dest = tmp_path / 'manifest.jsonl'
    out = run(check_mode=check_mode, dest=str(dest), mode=mode)
    assert out.kind == 'fail'
    assert out.result['msg'].startswith('mode: ')
    assert not dest.exists()


@pytest.mark.parametrize('mode, expected', [('0640', 0o640), ('600', 0o600), (0o644, 0o644)])
def test_octal_modes_are_written(run, tmp_path, mode, expected):
    dest = tmp_path / 'manifest.jsonl'
    out = run(dest=str(dest), mode=mode)
    assert out.kind == 'exit' and out.result['changed']
    assert os.stat(str(dest)).st_mode & 0o7777 == expected


def test_an_expect_file_that_is_not_utf8_fails_cleanly(run, tmp_path):
    expect = tmp_path / 'manifest.jsonl'
    expect.write_bytes(b'{"path": "/usr2/pos/caf\xe9"}\n')
    out = run(expect_file=str(expect))
    assert out.kind == 'fail'
    assert out.result['msg'].startswith('expect_file: ') and 'not UTF-8' in out.result['msg']


def test_an_expect_file_that_is_not_a_manifest_fails_naming_it(run, tmp_path):
    expect = tmp_path / 'manifest.jsonl'
    expect.write_text('not json\n')
    out = run(expect_file=str(expect))
    assert out.kind == 'fail' and out.result['msg'].startswith('expect_file: ')


def test_a_dest_that_holds_other_bytes_is_replaced(run, tmp_path):
    dest = tmp_path / 'manifest.jsonl'
    dest.write_bytes(b'\xff\xfe old')
    out = run(dest=str(dest))
    assert out.kind == 'exit' and out.result['changed']
    assert json.loads(dest.read_text().splitlines()[0])['path'] == '/usr2/pos'


@pytest.mark.parametrize('digest', ['abc', 'A' * 64, 'a' * 64 + '\n'])
def test_expect_digest_must_be_a_digest(run, digest):
    out = run(expect_digest=digest)
    assert out.kind == 'fail' and out.result['msg'].startswith('expect_digest: ')


@pytest.mark.parametrize('old, new', [(0o644, '0600'), (0o600, '0640')])
def test_an_up_to_date_manifest_gets_the_mode_asked_for(run, tmp_path, old, new):
    dest = tmp_path / 'manifest.jsonl'
    assert run(dest=str(dest), mode='0644').kind == 'exit'
    os.chmod(str(dest), old)
    out = run(dest=str(dest), mode=new)
    assert out.kind == 'exit' and out.result['changed']
    assert os.stat(str(dest)).st_mode & 0o7777 == int(new, 8)
    assert run(dest=str(dest), mode=new).result['changed'] is False
