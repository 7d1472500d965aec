import os
import tarfile

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import manifest as mf


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / 'usr2' / 'pos'
    (root / 'db').mkdir(parents=True)
    (root / 'receipts' / '2026').mkdir(parents=True)
    (root / 'db' / 'pos.db').write_bytes(b'sqlite' * 100)
    (root / 'db' / 'pos.db-shm').write_bytes(b'shm')
    (root / 'receipts' / '2026' / '00000001.txt').write_text('SALE 1\n')
    (root / 'receipts' / '2026' / 'x.tmp').write_text('partial')
    os.symlink('db/pos.db', str(root / 'current'))
    return tmp_path


def entries(tree, exclude=('*.tmp', '*.db-shm')):
    return mf.tree_entries(str(tree / 'usr2' / 'pos'), '/usr2/pos', exclude)


def test_tree_entries_cover_files_folders_and_links_and_honour_excludes(tree):
    e = dict((x['path'], x) for x in entries(tree))
    assert set(e) == {'/usr2/pos', '/usr2/pos/db', '/usr2/pos/db/pos.db', '/usr2/pos/receipts',
                      '/usr2/pos/receipts/2026', '/usr2/pos/receipts/2026/00000001.txt', '/usr2/pos/current'}
    assert e['/usr2/pos/db/pos.db']['size'] == 600 and len(e['/usr2/pos/db/pos.db']['sha256']) == 64
    assert e['/usr2/pos/current']['type'] == 'link'
    assert e['/usr2/pos/db']['type'] == 'dir'


def test_digest_changes_with_content_mode_and_names_but_not_with_times(tree):
    d0 = mf.manifest_digest(entries(tree))
    f = tree / 'usr2' / 'pos' / 'db' / 'pos.db'
    os.utime(str(f), (1, 1))
    assert mf.manifest_digest(entries(tree)) == d0
    os.chmod(str(f), 0o600)
    d1 = mf.manifest_digest(entries(tree))
    assert d1 != d0
    f.write_bytes(b'sqlite' * 99 + b'sqlitX')
    assert mf.manifest_digest(entries(tree)) not in (d0, d1)
    (tree / 'usr2' / 'pos' / 'receipts' / '2026' / 'x.tmp').write_text('excluded: no change')
    d2 = mf.manifest_digest(entries(tree))
    (tree / 'usr2' / 'pos' / 'receipts' / '2026' / '00000002.txt').write_text('SALE 2\n')
    assert mf.manifest_digest(entries(tree)) != d2


def test_tar_of_the_data_paths_has_the_same_manifest(tree, tmp_path):
    archive = str(tmp_path / 'data.tar')
    with tarfile.open(archive, 'w') as tar:
        tar.add(str(tree / 'usr2' / 'pos'), arcname='usr2/pos')
    assert mf.manifest_digest(mf.tar_entries(archive, ['/usr2/pos'], ['*.tmp', '*.db-shm'])) == \
        mf.manifest_digest(entries(tree))


def test_tar_with_members_outside_the_data_paths_or_damaged_is_refused(tree, tmp_path):
    archive = str(tmp_path / 'data.tar')
    with tarfile.open(archive, 'w') as tar:
        tar.add(str(tree / 'usr2' / 'pos'), arcname='usr2/pos')
        tar.add(str(tree / 'usr2' / 'pos' / 'db' / 'pos.db'), arcname='etc/passwd')
    with pytest.raises(mf.ManifestError, match='outside the data paths'):
        mf.tar_entries(archive, ['/usr2/pos'])
    (tmp_path / 'bad.tar').write_bytes(b'not a tar at all' * 100)
    with pytest.raises(mf.ManifestError, match='not a readable tar archive'):
        mf.tar_entries(str(tmp_path / 'bad.tar'), ['/usr2/pos'])


def test_compare_names_what_differs(tree):
    a = entries(tree)
    (tree / 'usr2' / 'pos' / 'db' / 'pos.db').write_bytes(b'other')
    (tree / 'usr2' / 'pos' / 'receipts' / '2026' / '00000001.txt').unlink()
    (tree / 'usr2' / 'pos' / 'new.txt').write_text('new')
    diff = mf.compare(a, entries(tree))
    assert 'differs (size, sha256): /usr2/pos/db/pos.db' in diff
    assert 'missing: /usr2/pos/receipts/2026/00000001.txt' in diff
    assert 'unexpected: /usr2/pos/new.txt' in diff
    assert mf.compare(a, a) == []


def test_manifest_text_round_trips_and_bad_lines_are_refused(tree):
    e = entries(tree)
    assert mf.manifest_digest(mf.parse_manifest(mf.manifest_text(e))) == mf.manifest_digest(e)
    with pytest.raises(mf.ManifestError, match='line 2 is not JSON'):
        mf.parse_manifest(mf.manifest_text(e[:1]) + '{oops\n')
    with pytest.raises(mf.ManifestError, match='line 1 is not a manifest entry'):
        mf.parse_manifest('{"path": "/x"}\n')
    s = mf.summarize(e)
    assert s['files'] == 2 and s['bytes'] == 607 and s['entries'] == len(e)


def test_cache_reuses_only_provably_unchanged_files(tree, monkeypatch):
    import time
    root = str(tree / 'usr2' / 'pos')
    fresh = {}
    first = mf.tree_entries(root, '/usr2/pos', (), None, fresh)
    cache = {'made_ns': time.time_ns() + 5 * 10 ** 9, 'files': fresh}   # as if made well after the writes
    reads = []
    real = mf.sha256_stream

    def counting(f):
        reads.append(f.name)
        return real(f)
    monkeypatch.setattr(mf, 'sha256_stream', counting)
    assert mf.tree_entries(root, '/usr2/pos', (), cache, {}) == first
    assert reads == []
    # Same size, content changed in place, modification time put back: the change time gives it away.
    db = tree / 'usr2' / 'pos' / 'db' / 'pos.db'
    st = os.stat(str(db))
    time.sleep(0.01)
    with open(str(db), 'r+b') as f:
        f.write(b'SQLITE')
    os.utime(str(db), ns=(st.st_atime_ns, st.st_mtime_ns))
    again = dict((e['path'], e) for e in mf.tree_entries(root, '/usr2/pos', (), cache, {}))
    assert reads == [str(db)]
    assert again['/usr2/pos/db/pos.db']['sha256'] != dict((e['path'], e) for e in first)['/usr2/pos/db/pos.db']['sha256']


def test_cache_does_not_trust_files_written_just_before_it_was_made(tree, monkeypatch):
    import time
    root = str(tree / 'usr2' / 'pos')
    fresh = {}
    mf.tree_entries(root, '/usr2/pos', (), None, fresh)
    cache = {'made_ns': time.time_ns(), 'files': fresh}     # files written within the last second
    reads = []
    real = mf.sha256_stream
    monkeypatch.setattr(mf, 'sha256_stream', lambda f: reads.append(f.name) or real(f))
    mf.tree_entries(root, '/usr2/pos', (), cache, {})
    assert len(reads) == len(fresh) == 4
