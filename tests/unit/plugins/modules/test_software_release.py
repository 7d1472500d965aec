"""software_release and software_release_info on a machine root in a temporary folder: the backup of
what a release replaces, the install, rollbacks to the previous state, to a named release and to a
time, a damaged object refused with nothing changed, removed files restored, modes and owners
restored, retention, an interrupted change put back, and the bundle checks."""
import hashlib
import io
import json
import os
import tarfile

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import release as rel
from ansible_collections.poscloud.fleet.plugins.modules import software_release, software_release_info

STORE = '/var/lib/poscloud/releases'


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def root(tmp_path):
    r = tmp_path / 'root'
    (r / 'etc').mkdir(parents=True)
    (r / 'etc' / 'passwd').write_text('root:x:0:0:root:/root:/bin/sh\npos:x:1200:1300::/home/pos:/bin/sh\n')
    (r / 'etc' / 'group').write_text('root:x:0:\npos:x:1300:\n')
    (r / 'usr' / 'local' / 'bin').mkdir(parents=True)
    # usrmerge: /bin is a link into /usr, which must stay inside the root
    (r / 'usr' / 'bin').mkdir()
    os.symlink('usr/bin', str(r / 'bin'))
    (r / 'opt' / 'pos').mkdir(parents=True)
    (r / 'opt' / 'pos' / 'old-tool').write_bytes(b'old tool\n')
    agent = r / 'usr' / 'local' / 'bin' / 'pos-agent'
    agent.write_bytes(b'agent 1.0\n')
    os.chmod(str(agent), 0o755)
    return r


def make_bundle(folder, rid, files, remove=(), test='', tar=False):
    """files: {path: (content, mode, owner, group)}; returns (src, sha256 of the tarball or None)."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {'id': rid, 'files': [], 'remove': list(remove), 'test': test}
    contents = {}
    for path, (content, mode, owner, group) in sorted(files.items()):
        manifest['files'].append({'path': path, 'sha256': sha(content), 'mode': mode, 'owner': owner, 'group': group})
        contents['files' + path] = content
    contents['release.json'] = json.dumps(manifest).encode()
    if not tar:
        src = folder / rid
        for name, data in contents.items():
            target = src / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return str(src), None
    src = folder / (rid + '.tar.gz')
    with tarfile.open(str(src), 'w:gz') as t:
        for name, data in sorted(contents.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return str(src), sha(src.read_bytes())


@pytest.fixture
def run(run_module, root):
    def run_release(check_mode=False, diff=False, **args):
        args.setdefault('root', str(root))
        if diff:
            args['_ansible_diff'] = True
        return run_module(software_release.main, args, check_mode)
    return run_release


@pytest.fixture
def info(run_module, root):
    def run_info(**args):
        args.setdefault('root', str(root))
        return run_module(software_release_info.main, args, False)
    return run_info


def snapshot(root):
    """Every file under root except the store: path -> (content, mode, uid, gid)."""
    out = {}
    for folder, dirs, files in os.walk(str(root)):
        if folder.startswith(str(root) + STORE):
            continue
        for name in files:
            full = os.path.join(folder, name)
            if os.path.islink(full):
                continue
            st = os.stat(full)
            with open(full, 'rb') as f:
                out[os.path.relpath(full, str(root))] = (f.read(), st.st_mode & 0o7777, st.st_uid, st.st_gid)
    return out


def store_objects(root):
    folder = root / STORE.lstrip('/') / 'objects'
    return sorted(os.listdir(str(folder))) if folder.is_dir() else []


V1 = {'/usr/local/bin/pos-agent': (b'agent 1.1\n', '0755', 'root', 'root'),
      '/etc/pos/agent.conf': (b'level=1\n', '0640', 'pos', 'pos')}
V2 = {'/usr/local/bin/pos-agent': (b'agent 1.2\n', '0750', 'root', 'pos'),
      '/etc/pos/agent.conf': (b'level=2\n', '0600', 'pos', 'pos'),
      '/bin/pos-helper': (b'helper\n', '0755', 0, 0)}


def test_install_keeps_what_it_replaces_and_records_every_path(run, root, tmp_path):
    src = make_bundle(tmp_path / 'b', 'agent-1.1', V1, remove=['/opt/pos/old-tool'], test='/usr/local/bin/pos-agent --self-test')[0]
    out = run(src=src)
    assert out.kind == 'exit', out.result
    r = out.result
    assert r['changed'] and r['release'] == 'agent-1.1' and r['previous_release'] is None
    assert r['test'] == '/usr/local/bin/pos-agent --self-test'
    assert (root / 'usr/local/bin/pos-agent').read_bytes() == b'agent 1.1\n'
    conf = root / 'etc/pos/agent.conf'
    st = os.stat(str(conf))
    assert conf.read_bytes() == b'level=1\n' and st.st_mode & 0o7777 == 0o640 and (st.st_uid, st.st_gid) == (1200, 1300)
    assert not (root / 'opt/pos/old-tool').exists()
    # the old agent and the removed tool are in the store, by hash
    assert sha(b'agent 1.0\n') in store_objects(root) and sha(b'old tool\n') in store_objects(root)
    actions = dict((c['path'], c['action']) for c in r['changes'])
    assert actions == {'/usr/local/bin/pos-agent': 'replaced', '/etc/pos/agent.conf': 'added', '/opt/pos/old-tool': 'removed'}
    record = r['record']
    assert record['paths']['/usr/local/bin/pos-agent']['before']['sha256'] == sha(b'agent 1.0\n')
    assert record['paths']['/usr/local/bin/pos-agent']['after']['sha256'] == sha(b'agent 1.1\n')
    lines = (root / STORE.lstrip('/') / 'history.jsonl').read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])['release'] == 'agent-1.1'
    assert not (root / STORE.lstrip('/') / 'pending.json').exists()


def test_the_same_release_twice_changes_nothing(run, root, tmp_path):
    src, digest = make_bundle(tmp_path / 'b', 'agent-1.1', V1, tar=True)
    assert run(src=src, sha256=digest).result['changed']
    before = snapshot(root)
    history = (root / STORE.lstrip('/') / 'history.jsonl').read_text()
    again = run(src=src, sha256=digest)
    assert again.kind == 'exit' and not again.result['changed'] and again.result['record'] is None
    assert snapshot(root) == before and (root / STORE.lstrip('/') / 'history.jsonl').read_text() == history


def test_check_mode_reports_the_change_and_writes_nothing(run, root, tmp_path):
    src = make_bundle(tmp_path / 'b', 'agent-1.1', V1)[0]
    before = snapshot(root)
    out = run(check_mode=True, diff=True, src=src)
    assert out.kind == 'exit' and out.result['changed']
    assert out.result['msg'].startswith('would install agent-1.1')
    assert '/usr/local/bin/pos-agent ' + sha(b'agent 1.0\n') in out.result['diff']['before']
    assert '/usr/local/bin/pos-agent ' + sha(b'agent 1.1\n') in out.result['diff']['after']
    assert snapshot(root) == before and not (root / STORE.lstrip('/')).exists()


def test_rollback_to_previous_restores_contents_modes_owners_and_removed_files(run, root, tmp_path):
    src1 = make_bundle(tmp_path / 'b', 'agent-1.1', V1, remove=['/opt/pos/old-tool'])[0]
    src2 = make_bundle(tmp_path / 'b', 'agent-1.2', V2)[0]
    original = snapshot(root)
    run(src=src1)
    after_v1 = snapshot(root)
    out2 = run(src=src2)
    assert out2.result['changed'] and out2.result['previous_release'] == 'agent-1.1'
    assert (root / 'usr/bin/pos-helper').read_bytes() == b'helper\n'  # through the /bin link, inside root
    back = run(state='rolled_back', to='previous')
    assert back.kind == 'exit' and back.result['changed'], back.result
    assert back.result['release'] == 'agent-1.1'
    assert snapshot(root) == after_v1
    # and back to before any release: the removed tool returns, the added files go
    first = run(state='rolled_back', to=rel.ORIGINAL)
    assert first.result['release'] == rel.ORIGINAL
    assert snapshot(root) == original


def test_rollback_to_a_named_release_and_to_a_time(run, root, tmp_path, monkeypatch):
    times = iter([1000, 2000, 3000, 4000, 5000])
    monkeypatch.setattr(rel.time, 'time', lambda: next(times))
    src1 = make_bundle(tmp_path / 'b', 'agent-1.1', V1)[0]
    src2 = make_bundle(tmp_path / 'b', 'agent-1.2', V2)[0]
    run(src=src1)
    after_v1 = snapshot(root)
    run(src=src2)
    after_v2 = snapshot(root)
    named = run(state='rolled_back', to='agent-1.1')
    assert named.result['release'] == 'agent-1.1' and snapshot(root) == after_v1
    at_time = run(state='rolled_back', to=rel.now_text(lambda: 2500))
    assert at_time.result['release'] == 'agent-1.2' and snapshot(root) == after_v2
    history = at_time.result['history']
    assert [h['action'] for h in history] == ['install', 'install', 'rollback', 'rollback']


def test_an_object_with_one_flipped_byte_is_refused_and_nothing_changes(run, root, tmp_path):
    src1 = make_bundle(tmp_path / 'b', 'agent-1.1', V1)[0]
    src2 = make_bundle(tmp_path / 'b', 'agent-1.2', V2)[0]
    run(src=src1)
    run(src=src2)
    obj = root / STORE.lstrip('/') / 'objects' / sha(b'agent 1.1\n')
    os.chmod(str(obj), 0o600)
    data = bytearray(obj.read_bytes())
    data[0] ^= 0x01
    obj.write_bytes(bytes(data))
    before = snapshot(root)
    history = (root / STORE.lstrip('/') / 'history.jsonl').read_text()
    out = run(state='rolled_back', to='agent-1.1')
    assert out.kind == 'fail'
    assert 'nothing was changed' in out.result['msg'] and sha(b'agent 1.1\n') in out.result['msg']
    assert snapshot(root) == before and (root / STORE.lstrip('/') / 'history.jsonl').read_text() == history


def test_retention_never_drops_a_referenced_object(run, root, tmp_path):
    releases = []
    for n in range(5):
        files = {'/usr/local/bin/pos-agent': (b'agent 2.%d\n' % n, '0755', 0, 0),
                 '/etc/pos/static.conf': (b'same in every release\n', '0644', 0, 0)}
        releases.append(make_bundle(tmp_path / 'b', 'agent-2.%d' % n, files)[0])
    for src in releases:
        out = run(src=src, keep=2)
        assert out.kind == 'exit'
    kept = store_objects(root)
    # the present files, and what the last two records replaced and installed
    assert sha(b'agent 2.4\n') in kept and sha(b'agent 2.3\n') in kept and sha(b'agent 2.2\n') in kept
    assert sha(b'same in every release\n') in kept
    assert sha(b'agent 2.0\n') not in kept and sha(b'agent 1.0\n') not in kept
    assert sha(b'agent 2.0\n') in out.result['objects_removed'] or sha(b'agent 2.0\n') not in kept
    # what is referenced still rolls back; what was dropped is refused by name, nothing changed
    assert run(state='rolled_back', to='agent-2.3').kind == 'exit'
    refused = run(state='rolled_back', to='agent-2.0')
    assert refused.kind == 'fail' and 'missing' in refused.result['msg']


def test_keep_zero_is_refused(run, tmp_path):
    src = make_bundle(tmp_path / 'b', 'agent-1.1', V1)[0]
    out = run(src=src, keep=0)
    assert out.kind == 'fail' and out.result['msg'].startswith('keep: ')


def test_a_bundle_whose_file_does_not_match_its_manifest_changes_nothing(run, root, tmp_path):
    src = make_bundle(tmp_path / 'b', 'agent-1.1', V1)[0]
    with open(os.path.join(src, 'files/etc/pos/agent.conf'), 'wb') as f:
        f.write(b'level=9\n')
    before = snapshot(root)
    out = run(src=src)
    assert out.kind == 'fail' and 'files[0]' in out.result['msg'] and 'nothing was changed' in out.result['msg']
    assert snapshot(root) == before and store_objects(root) == []


def test_a_tarball_with_another_sha256_is_refused_before_it_is_read(run, root, tmp_path):
    src, digest = make_bundle(tmp_path / 'b', 'agent-1.1', V1, tar=True)
    out = run(src=src, sha256='0' * 64)
    assert out.kind == 'fail' and out.result['msg'].startswith('src: ') and digest in out.result['msg']
    missing = run(src=src)
    assert missing.kind == 'fail' and missing.result['msg'].startswith('sha256: ')


@pytest.mark.parametrize('manifest, field', [
    ({'id': 'a b', 'files': [{'path': '/x', 'sha256': '0' * 64}]}, 'id: '),
    ({'id': 'a', 'files': [{'path': 'relative', 'sha256': '0' * 64}]}, 'files[0].path: '),
    ({'id': 'a', 'files': [{'path': '/x/../y', 'sha256': '0' * 64}]}, 'files[0].path: '),
    ({'id': 'a', 'files': [{'path': '/proc/x', 'sha256': '0' * 64}]}, 'files[0].path: '),
    ({'id': 'a', 'files': [{'path': STORE + '/objects/x', 'sha256': '0' * 64}]}, 'files[0].path: '),
    ({'id': 'a', 'files': [{'path': '/x', 'sha256': 'abc'}]}, 'files[0].sha256: '),
    ({'id': 'a', 'files': [{'path': '/x', 'sha256': '0' * 64, 'mode': 'rwx'}]}, 'files[0].mode: '),
    ({'id': 'a', 'files': [{'path': '/x', 'sha256': '0' * 64, 'owner': 'nobody-here'}]}, 'files[0].owner: '),
    ({'id': 'a', 'files': [{'path': '/x', 'sha256': '0' * 64}], 'remove': ['/x']}, 'remove[0]: '),
    ({'id': 'a', 'files': []}, 'files: '),
])
def test_a_bad_manifest_is_refused_naming_the_field(run, root, tmp_path, manifest, field):
    src = tmp_path / 'bad'
    src.mkdir()
    (src / 'release.json').write_text(json.dumps(manifest))
    before = snapshot(root)
    out = run(src=str(src))
    assert out.kind == 'fail' and field in out.result['msg'], out.result['msg']
    assert snapshot(root) == before


def test_a_release_path_that_is_a_symlink_is_refused(run, root, tmp_path):
    os.symlink('/etc/shadow', str(root / 'usr/local/bin/pos-link'))
    src = make_bundle(tmp_path / 'b', 'agent-1.1', {'/usr/local/bin/pos-link': (b'x\n', '0755', 0, 0)})[0]
    out = run(src=src)
    assert out.kind == 'fail' and 'symlink' in out.result['msg']


def test_an_absolute_link_in_the_image_is_followed_inside_it(root):
    os.symlink('/usr/bin', str(root / 'sbin'))
    assert rel.resolve(str(root), '/sbin/tool') == str(root / 'usr/bin/tool')
    os.symlink('../../usr/bin', str(root / 'opt/pos/bin'))
    assert rel.resolve(str(root), '/opt/pos/bin/tool') == str(root / 'usr/bin/tool')
    os.symlink('/../../../..', str(root / 'up'))
    assert rel.resolve(str(root), '/up/etc/passwd') == str(root / 'etc/passwd')


def test_an_interrupted_install_is_put_back_by_the_next_run(run, info, root, tmp_path, monkeypatch):
    src1 = make_bundle(tmp_path / 'b', 'agent-1.1', V1)[0]
    original = snapshot(root)
    calls = []
    real = rel.put_state

    def dies_after_one(store, path, state):
        if calls:
            raise KeyboardInterrupt('the machine lost power')
        calls.append(path)
        real(store, path, state)
    monkeypatch.setattr(rel, 'put_state', dies_after_one)
    with pytest.raises(KeyboardInterrupt):
        run(src=src1)
    monkeypatch.setattr(rel, 'put_state', real)
    assert (root / STORE.lstrip('/') / 'pending.json').exists()
    assert snapshot(root) != original
    # the info module names the half-done change
    assert info().result['pending']['release'] == 'agent-1.1'
    out = run(src=src1)
    assert out.kind == 'exit' and out.result['interrupted']['action'] == 'interrupted'
    assert [h['action'] for h in out.result['history']] == ['interrupted', 'install']
    assert (root / 'usr/local/bin/pos-agent').read_bytes() == b'agent 1.1\n'
    back = run(state='rolled_back', to=rel.ORIGINAL)
    assert back.kind == 'exit' and snapshot(root) == original


def test_info_answers_which_files_were_in_place_at_a_time(run, info, root, tmp_path, monkeypatch):
    times = iter([rel.parse_time('2026-12-01T09:00:00Z'), rel.parse_time('2026-12-02T09:00:00Z')])
    monkeypatch.setattr(rel.time, 'time', lambda: next(times))
    run(src=make_bundle(tmp_path / 'b', 'agent-1.1', V1)[0])
    run(src=make_bundle(tmp_path / 'b', 'agent-1.2', V2)[0])
    day1 = info(at='2026-12-01').result
    assert day1['release'] == 'agent-1.1'
    assert day1['files']['/usr/local/bin/pos-agent']['sha256'] == sha(b'agent 1.1\n')
    assert '/bin/pos-helper' not in day1['files']
    before = info(at='2026-11-30').result
    assert before['release'] == rel.ORIGINAL and before['files']['/usr/local/bin/pos-agent']['sha256'] == sha(b'agent 1.0\n')
    now = info(verify=True).result
    assert now['release'] == 'agent-1.2' and now['drift'] == []
    (root / 'etc/pos/agent.conf').write_bytes(b'edited by hand\n')
    drift = info(verify=True).result['drift']
    assert [d['path'] for d in drift] == ['/etc/pos/agent.conf']
    bad = info(at='yesterday')
    assert bad.kind == 'fail' and bad.result['msg'].startswith('at: ')


def test_rollback_with_no_history_and_an_unknown_target_are_refused(run, tmp_path):
    out = run(state='rolled_back')
    assert out.kind == 'fail' and 'no release' in out.result['msg']
    run(src=make_bundle(tmp_path / 'b', 'agent-1.1', V1)[0])
    unknown = run(state='rolled_back', to='agent-9')
    assert unknown.kind == 'fail' and unknown.result['msg'].startswith('to: ') and 'agent-1.1' in unknown.result['msg']


def test_a_history_line_cut_short_by_a_crash_is_ignored_and_closed(root):
    store = rel.Store(str(root))
    os.makedirs(store.dir)
    with open(store.history_file, 'w') as f:
        f.write('{"seq":1,"release":"a","action":"install","time":"2026-12-01T00:00:00Z","paths":{}}\n{"seq":2,"rel')
    assert [r['seq'] for r in store.history()] == [1]
    store.append({'seq': 2, 'release': 'b', 'action': 'install', 'time': '2026-12-02T00:00:00Z', 'paths': {}})
    with pytest.raises(rel.ReleaseError):
        store.history()  # the cut line is now in the middle: the history says it is damaged
