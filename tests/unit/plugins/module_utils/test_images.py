import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import images


def image(id_, tags, created, **labels):
    return {'Id': id_, 'RepoTags': tags, 'Created': created, 'Size': 10,
            'Config': {'Labels': dict(('poscloud.fleet.' + k.replace('_', '-'), v) for k, v in labels.items())}}


@pytest.fixture
def summaries():
    raw = [
        image('sha256:m1', ['poscloud/media:latest', 'poscloud/media:aaa'], '2026-01-02', kind='media'),
        image('sha256:m0', ['poscloud/media:bbb'], '2026-01-01', kind='media'),
        image('sha256:s1', ['store/12345678:20260103T000000Z'], '2026-01-03', kind='snapshot', store='12345678'),
        image('sha256:s2', ['store/12345678:20260104T000000Z', 'store/12345678:latest'], '2026-01-04',
              kind='snapshot', store='12345678'),
        image('sha256:t1', ['store/87654321:latest'], '2026-01-05', kind='snapshot', store='87654321'),
        image('sha256:x', ['other:1'], '2026-01-06'),
    ]
    used = {'sha256:s1': ['pos_12345678'], 'sha256:m0': ['stage_a', 'stage_b']}
    return [images.summarize(i, used) for i in raw]


def by_id(summaries, id_):
    return [s for s in summaries if s['id'] == id_][0]


def test_summary_fields(summaries):
    s = by_id(summaries, 'sha256:s2')
    assert s['kind'] == 'snapshot' and s['store'] == '12345678'
    assert s['repositories'] == ['store/12345678']
    assert s['in_use'] is False
    assert by_id(summaries, 'sha256:s1')['containers'] == ['pos_12345678']


def test_filters(summaries):
    def names(**kw):
        return sorted(s['id'] for s in summaries if images.matches(s, **kw))
    assert names(name='poscloud/*') == ['sha256:m0', 'sha256:m1']
    assert names(name='poscloud/media:latest') == ['sha256:m1']
    assert names(store='12345678') == ['sha256:s1', 'sha256:s2']
    assert names(kind='media') == ['sha256:m0', 'sha256:m1']
    assert names(labels={'poscloud.fleet.store': '87654321'}) == ['sha256:t1']
    assert names(name='nomatch*') == []


def test_newest_snapshot_per_store(summaries):
    assert images.newest_snapshots(summaries) == {'12345678': 'sha256:s2', '87654321': 'sha256:t1'}


def test_guard_blocks_images_in_use_and_newest_snapshots(summaries):
    chosen = [by_id(summaries, i) for i in ('sha256:m0', 'sha256:m1', 'sha256:s1', 'sha256:s2')]
    reasons = dict((s['id'], r) for s, r in images.removal_blockers(chosen, summaries))
    assert reasons == {
        'sha256:m0': 'used by containers stage_a, stage_b',
        'sha256:s1': 'used by container pos_12345678',
        'sha256:s2': 'the newest snapshot of store 12345678',
    }


def test_guard_allows_old_unused_images(summaries):
    assert images.removal_blockers([by_id(summaries, 'sha256:m1')], summaries) == []


class FakeDocker(object):
    def __init__(self, raw, used):
        self.raw = raw
        self.used = used
        self.filters = None

    def image_ids(self, filters=None):
        self.filters = filters
        return [i['Id'] for i in self.raw]

    def inspect_images(self, ids):
        return [i for i in self.raw if i['Id'] in ids]

    def containers_by_image(self):
        return self.used


def test_list_images_filters_and_sorts_newest_first():
    raw = [image('sha256:a', ['a:1'], '2026-01-01', kind='media'),
           image('sha256:b', ['b:1'], '2026-01-03', kind='snapshot', store='1'),
           image('sha256:c', ['c:1'], '2026-01-02', kind='media')]
    docker = FakeDocker(raw, {})
    assert [s['id'] for s in images.list_images(docker, {})] == ['sha256:b', 'sha256:c', 'sha256:a']
    assert docker.filters == ['label=poscloud.fleet.kind']
    assert [s['id'] for s in images.list_images(docker, {'kind': 'media'})] == ['sha256:c', 'sha256:a']
    assert docker.filters == ['label=poscloud.fleet.kind=media']
    images.list_images(docker, {'store': '1'})
    assert docker.filters == ['label=poscloud.fleet.kind', 'label=poscloud.fleet.store=1']
