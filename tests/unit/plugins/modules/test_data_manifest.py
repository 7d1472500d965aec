"""data_manifest: the manifest of a small tree, its stable digest, the checks against another copy, and the
mode of the manifest file; the mode and the expected manifest are checked before use."""
import hashlib
import json
import os
import re

import pytest

from ansible.module_utils import basic

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


# -- a small tree ---------------------------------------------------------------------------------

def small_tree(base):
    """/usr2/pos with a folder, two files, a link and a file left out by exclude."""
    data = base / 'usr2' / 'pos'
    (data / 'db').mkdir(parents=True)
    (data / 'db' / 'pos.db').write_bytes(b'tables\n')
    (data / 'config.ini').write_text('[store]\nid = 12345678\n')
    (data / 'scratch.tmp').write_text('left out\n')
    os.symlink('db/pos.db', str(data / 'current.db'))
    for path, mode in ((data, 0o755), (data / 'db', 0o750), (data / 'db' / 'pos.db', 0o640),
                       (data / 'config.ini', 0o644)):
        os.chmod(str(path), mode)
    return base


def test_a_small_tree_gives_its_entries_in_path_order(run, tmp_path):
    root = small_tree(tmp_path / 'a')
    out = run(root=str(root), exclude=['*.tmp'], return_entries=True)
    assert out.kind == 'exit' and out.result['changed'] is False
    entries = out.result['manifest']
    assert [(e['path'], e['type'], e['mode']) for e in entries] == [
        ('/usr2/pos', 'dir', '0755'),
        ('/usr2/pos/config.ini', 'file', '0644'),
        ('/usr2/pos/current.db', 'link', '0000'),
        ('/usr2/pos/db', 'dir', '0750'),
        ('/usr2/pos/db/pos.db', 'file', '0640'),
    ]
    db = entries[4]
    assert db['size'] == 7 and db['sha256'] == hashlib.sha256(b'tables\n').hexdigest()
    assert entries[2]['sha256'] == hashlib.sha256(b'db/pos.db').hexdigest()
    assert (out.result['entries'], out.result['files'], out.result['bytes']) == (5, 2, 7 + len('[store]\nid = 12345678\n'))


def test_the_digest_is_stable_and_follows_the_data_not_the_times(run, tmp_path):
    a = small_tree(tmp_path / 'a')
    first = run(root=str(a), exclude=['*.tmp']).result['digest']
    assert re.match(r'[0-9a-f]{64}\Z', first)
    assert run(root=str(a), exclude=['*.tmp']).result['digest'] == first
    b = small_tree(tmp_path / 'b')  # a copy made later: other inodes and times, same data
    os.utime(str(b / 'usr2' / 'pos' / 'db' / 'pos.db'), (1, 1))
    assert run(root=str(b), exclude=['*.tmp']).result['digest'] == first
    assert run(root=str(b)).result['digest'] != first  # scratch.tmp now counts
    (b / 'usr2' / 'pos' / 'db' / 'pos.db').write_bytes(b'tables!\n')
    assert run(root=str(b), exclude=['*.tmp']).result['digest'] != first
    os.chmod(str(a / 'usr2' / 'pos' / 'config.ini'), 0o600)
    assert run(root=str(a), exclude=['*.tmp']).result['digest'] != first


def test_expect_digest_and_expect_file_check_another_copy(run, tmp_path):
    a = small_tree(tmp_path / 'a')
    made = run(root=str(a), exclude=['*.tmp'], dest=str(tmp_path / 'manifest.jsonl'))
    assert made.kind == 'exit' and made.result['changed'] is True
    b = small_tree(tmp_path / 'b')
    same = run(root=str(b), exclude=['*.tmp'], expect_file=str(tmp_path / 'manifest.jsonl'),
               expect_digest=made.result['digest'])
    assert same.kind == 'exit' and same.result['differences'] == []
    (b / 'usr2' / 'pos' / 'config.ini').write_text('[store]\nid = 87654321\n')
    os.remove(str(b / 'usr2' / 'pos' / 'current.db'))
    differs = run(root=str(b), exclude=['*.tmp'], expect_file=str(tmp_path / 'manifest.jsonl'))
    assert differs.kind == 'fail'
    assert differs.result['differences'] == ['differs (sha256): /usr2/pos/config.ini', 'missing: /usr2/pos/current.db']
    wrong = run(root=str(b), exclude=['*.tmp'], expect_digest=made.result['digest'])
    assert wrong.kind == 'fail'
    assert wrong.result['msg'] == 'The data does not match: manifest digest %s, expect_digest %s' % (
        wrong.result['digest'], made.result['digest'])


def test_check_mode_reports_the_change_and_writes_nothing(run, tmp_path):
    dest = tmp_path / 'manifest.jsonl'
    out = run(check_mode=True, dest=str(dest), mode='0600')
    assert out.kind == 'exit' and out.result['changed'] is True
    assert not dest.exists() and [p.name for p in tmp_path.iterdir()] == ['root']


def test_the_manifest_file_holds_the_manifest_and_a_second_run_changes_nothing(run, tmp_path):
    dest = tmp_path / 'out' / 'manifest.jsonl'
    out = run(dest=str(dest), mode='0600', return_entries=True)
    lines = dest.read_text().splitlines()
    assert [json.loads(line) for line in lines] == out.result['manifest']
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == out.result['digest']
    assert os.stat(str(dest)).st_mode & 0o7777 == 0o600
    again = run(dest=str(dest), mode='0600')
    assert again.kind == 'exit' and again.result['changed'] is False


def test_a_manifest_written_through_a_symlink_keeps_the_link(run, tmp_path):
    (tmp_path / 'sets').mkdir()
    os.symlink('sets/manifest.jsonl', str(tmp_path / 'manifest.jsonl'))
    out = run(dest=str(tmp_path / 'manifest.jsonl'), mode='0640')
    assert out.kind == 'exit' and out.result['changed'] is True
    assert os.path.islink(str(tmp_path / 'manifest.jsonl'))
    assert os.stat(str(tmp_path / 'sets' / 'manifest.jsonl')).st_mode & 0o7777 == 0o640


# -- volumes: the data of a POS instance read from its volumes on the engine's host ---------------------

@pytest.fixture
def engine(monkeypatch, tmp_path):
    """A docker client that knows two volumes, their folders in tmp_path; records its calls."""
    folders = {'pos_1_usr2_pos': tmp_path / 'volumes' / 'pos_1_usr2_pos' / '_data',
               'pos_1_etc_pos': tmp_path / 'volumes' / 'pos_1_etc_pos' / '_data'}
    for folder in folders.values():
        folder.mkdir(parents=True)
    (folders['pos_1_usr2_pos'] / 'sales.db').write_bytes(b'sales\n')
    (folders['pos_1_etc_pos'] / 'pos.conf').write_bytes(b'conf\n')
    calls = []

    def run_command(self, args, **kwargs):
        calls.append(list(args))
        docker = args.index('docker')
        if args[docker + 1:docker + 3] != ['volume', 'inspect']:
            return 1, '', 'unexpected docker command %s' % args
        names = args[docker + 5:]
        unknown = [n for n in names if n not in folders]
        if unknown:
            return 1, '', 'Error response from daemon: get %s: no such volume' % unknown[0]
        return 0, ''.join('%s %s\n' % (n, folders[n]) for n in names), ''

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    return folders, calls


def test_volumes_give_the_same_manifest_as_the_folders(run, run_module, root, engine, tmp_path):
    folders, calls = engine
    (root / 'etc' / 'pos').mkdir(parents=True)
    (root / 'etc' / 'pos' / 'pos.conf').write_bytes(b'conf\n')
    from_folders = run(paths=['/usr2/pos', '/etc/pos'], return_entries=True)
    from_volumes = run_module(data_manifest.main, dict(
        paths=['/usr2/pos', '/etc/pos'], return_entries=True,
        volumes={'/usr2/pos': 'pos_1_usr2_pos', '/etc/pos/': 'pos_1_etc_pos'}))
    assert from_folders.kind == from_volumes.kind == 'exit'
    assert from_volumes.result['digest'] == from_folders.result['digest']
    assert from_volumes.result['manifest'] == from_folders.result['manifest']
    assert [c[c.index('docker') + 1:] for c in calls] == [
        ['volume', 'inspect', '--format', '{{.Name}} {{.Mountpoint}}', 'pos_1_etc_pos', 'pos_1_usr2_pos']]
    # the instance's copy differs from the server's manifest: the entry is named
    (folders['pos_1_usr2_pos'] / 'sales.db').write_bytes(b'sales and one more\n')
    expect = tmp_path / 'source.jsonl'
    expect.write_text(''.join(json.dumps(e, sort_keys=True) + '\n' for e in from_folders.result['manifest']))
    out = run_module(data_manifest.main, dict(paths=['/usr2/pos', '/etc/pos'], expect_file=str(expect),
                                              volumes={'/usr2/pos': 'pos_1_usr2_pos', '/etc/pos': 'pos_1_etc_pos'}))
    assert out.kind == 'fail' and '/usr2/pos/sales.db' in out.result['msg']


@pytest.mark.parametrize('volumes, message', [
    ({'/usr2/pos': 'pos_1_usr2_pos'}, 'volumes: no volume is given for the data path /etc/pos; give one for each of paths'),
    ({'/usr2/pos': 'pos_1_usr2_pos', '/etc/pos': ''}, 'volumes: no volume is given for the data path /etc/pos'),
    ({'/usr2/pos': 'pos_1_usr2_pos', '/etc/pos': 'pos_9_gone'},
     'volumes: the volumes pos_1_usr2_pos, pos_9_gone cannot be read: Error response from daemon: get pos_9_gone'),
])
def test_volumes_that_cannot_be_read_fail_naming_them(run_module, engine, volumes, message):
    out = run_module(data_manifest.main, dict(paths=['/usr2/pos', '/etc/pos'], volumes=volumes))
    assert out.kind == 'fail' and out.result['msg'].startswith(message)


def test_volumes_and_archive_do_not_mix(run_module, engine, tmp_path):
    out = run_module(data_manifest.main, dict(paths=['/usr2/pos'], volumes={'/usr2/pos': 'pos_1_usr2_pos'},
                                              archive=str(tmp_path / 'set.tar')))
    assert out.kind == 'fail' and 'mutually exclusive: archive|volumes' in out.result['msg']
