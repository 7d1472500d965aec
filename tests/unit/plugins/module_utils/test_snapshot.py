import os
from datetime import datetime

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import snapshot as snap


def test_timestamp_tags_sort_in_time_order_and_parse_back():
    a = snap.timestamp_tag(datetime(2026, 1, 2, 3, 4, 5))
    b = snap.timestamp_tag(datetime(2026, 1, 2, 3, 4, 6))
    assert a == '20260102T030405Z' and a < b
    assert snap.parse_timestamp_tag(a) == datetime(2026, 1, 2, 3, 4, 5)
    assert snap.parse_timestamp_tag('20260102T030405Z-1') == datetime(2026, 1, 2, 3, 4, 5)
    assert snap.parse_timestamp_tag('latest') is None


def test_a_second_snapshot_in_the_same_second_gets_a_suffix():
    when = datetime(2026, 1, 2, 3, 4, 5)
    assert snap.unique_timestamp_tag(when, set()) == '20260102T030405Z'
    assert snap.unique_timestamp_tag(when, {'20260102T030405Z'}) == '20260102T030405Z-1'
    assert snap.unique_timestamp_tag(when, {'20260102T030405Z', '20260102T030405Z-1'}) == '20260102T030405Z-2'


def snaps(*created):
    return [{'id': 'sha256:%d' % i, 'created': c} for i, c in enumerate(created)]


def test_retention_keeps_the_newest_n():
    s = snaps('2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04')
    assert snap.retention_plan(s, 2, set()) == ['sha256:0', 'sha256:1']
    assert snap.retention_plan(s, 4, set()) == []
    assert snap.retention_plan(s, 0, set()) == []


def test_retention_never_removes_the_one_in_use_and_counts_it():
    s = snaps('2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04')
    # the oldest is in use: it stays, and it counts toward keep
    assert snap.retention_plan(s, 2, {'sha256:0'}) == ['sha256:1', 'sha256:2']


def test_retention_never_removes_the_newest_even_with_keep_1_and_another_in_use():
    s = snaps('2026-01-01', '2026-01-02', '2026-01-03')
    assert snap.retention_plan(s, 1, {'sha256:0'}) == ['sha256:1']


def test_retention_counts_an_image_once_whatever_its_tags():
    s = snaps('2026-01-01', '2026-01-02') + [{'id': 'sha256:1', 'created': '2026-01-02'}]
    assert snap.retention_plan(s, 1, set()) == ['sha256:0']


@pytest.mark.parametrize('change', ['CMD ["x"]', 'ENTRYPOINT ["/init"]', 'ENV A=b', 'EXPOSE 8080/tcp',
                                    'LABEL a=b', 'USER pos', 'WORKDIR /usr2', 'VOLUME /data', ' expose 22 '])
def test_accepted_changes(change):
    assert snap.validate_changes([change]) == [change.strip()]


@pytest.mark.parametrize('change', ['RUN rm -rf /', 'COPY a b', 'FROM scratch', 'CMD', '', 'ONBUILD RUN x'])
def test_refused_changes(change):
    with pytest.raises(snap.SnapshotError, match=r'^changes\[0\]: '):
        snap.validate_changes([change])


def test_tree_digest_sees_added_removed_and_written_files(tmp_path):
    (tmp_path / 'a').write_text('1')
    first = snap.tree_digest(str(tmp_path))
    assert snap.tree_digest(str(tmp_path)) == first
    (tmp_path / 'b').write_text('2')
    second = snap.tree_digest(str(tmp_path))
    assert second != first
    os.utime(tmp_path / 'a', ns=(10 ** 18, 10 ** 18))
    assert snap.tree_digest(str(tmp_path)) != second
    (tmp_path / 'b').unlink()
    os.symlink('a', str(tmp_path / 'link'))
    assert snap.tree_digest(str(tmp_path)) not in (first, second)


def test_source_digest_depends_on_container_changes_and_labels():
    base = snap.source_digest('c1', 'fs', ['CMD ["x"]'], {'a': 'b'})
    assert base != snap.source_digest('c2', 'fs', ['CMD ["x"]'], {'a': 'b'})
    assert base != snap.source_digest('c1', 'fs2', ['CMD ["x"]'], {'a': 'b'})
    assert base != snap.source_digest('c1', 'fs', ['CMD ["y"]'], {'a': 'b'})
    assert base != snap.source_digest('c1', 'fs', ['CMD ["x"]'], {'a': 'c'})


def test_sha256_files():
    digest = 'a' * 64
    assert snap.parse_sha256_file('%s  store.tar\n' % digest, '/x/store.tar') == digest
    assert snap.parse_sha256_file('%s *store.tar\n' % digest.upper(), 'store.tar') == digest
    assert snap.parse_sha256_file(digest + '\n') == digest
    with pytest.raises(snap.SnapshotError):
        snap.parse_sha256_file('%s  other.tar\n' % digest, 'store.tar')
    with pytest.raises(snap.SnapshotError):
        snap.parse_sha256_file('not a checksum\n')
