"""image_remove with the Docker CLI replaced, at cli_for, by an engine held in memory: what it selects,
what the guard refuses, what check mode leaves, and what it says it removed."""
import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError
from ansible_collections.poscloud.fleet.plugins.module_utils.common import LABEL_PREFIX
from ansible_collections.poscloud.fleet.plugins.modules import image_remove
from ansible_collections.poscloud.fleet.tests.unit.harness import run_module


def image(n, tags, kind=None, store=None, created='2026-11-0%dT10:00:00Z', **labels):
    if kind:
        labels[LABEL_PREFIX + 'kind'] = kind
    if store:
        labels[LABEL_PREFIX + 'store'] = store
    return {'Id': 'sha256:%d%s' % (n, 'f' * 63), 'RepoTags': list(tags), 'Created': created % n,
            'Size': 1000 * n, 'Config': {'Labels': labels}}


class Engine(object):
    """The images and containers of a Docker engine, answering the DockerCLI calls the module makes."""

    def __init__(self, images, containers=None):
        self.images = images
        self.containers = containers or {}  # image id -> container names
        self.removed = []
        self.writes = []
        self.fail_on = None

    def ping(self):
        return True

    def image_ids(self, filters=None, all_images=False):
        def passes(i, f):
            key, _sep, value = f[len('label='):].partition('=')
            labels = i['Config']['Labels']
            return key in labels and (not value or labels[key] == value)
        return [i['Id'] for i in self.images if all(passes(i, f) for f in filters or [])]

    def find(self, ref):
        for i in self.images:
            if ref == i['Id'] or ref in i['RepoTags']:
                return i
        return None

    def inspect_images(self, refs):
        found = [self.find(r) for r in refs]
        return [i for i in found if i is not None]

    def inspect_image(self, ref):
        return self.find(ref)

    def containers_by_image(self):
        return dict(self.containers)

    def run(self, args, check=True, data=None, long_call=False):
        self.writes.append(list(args))
        assert args[:2] == ['image', 'rm']
        for tag in [a for a in args[2:] if a != '--force']:
            i = self.find(tag)
            if self.fail_on is not None and i is self.fail_on:
                raise DockerError('docker image rm %s: conflict' % tag)
            i['RepoTags'].remove(tag)
            if not i['RepoTags']:
                self.images.remove(i)
                self.removed.append(i['Id'])
        return 0, '', ''

    def remove_image(self, ref, force=False):
        self.writes.append(['remove_image', ref, force])
        i = self.find(ref)
        self.images.remove(i)
        self.removed.append(i['Id'])

    def ids(self):
        return sorted(i['Id'] for i in self.images)


MEDIA_OLD = image(1, ['poscloud/media:05ea11c2e4f4'], kind='media')
MEDIA_NEW = image(2, ['poscloud/media:latest', 'poscloud/media:7a1f0c2b9d3e'], kind='media')
SNAP_OLD = image(3, ['store/12345678:20261103T100000Z'], kind='snapshot', store='12345678')
SNAP_NEW = image(4, ['store/12345678:20261104T100000Z', 'store/12345678:latest'], kind='snapshot', store='12345678')
OTHER = image(5, ['debian:bookworm'])


@pytest.fixture
def engine(monkeypatch):
    e = Engine([dict(i, RepoTags=list(i['RepoTags'])) for i in (MEDIA_OLD, MEDIA_NEW, SNAP_OLD, SNAP_NEW, OTHER)])
    monkeypatch.setattr(image_remove, 'cli_for', lambda module: e)
    return e


def remove(check_mode=False, **params):
    return run_module(image_remove.main, params, check_mode)


def test_without_a_selector_nothing_is_asked_of_the_engine(engine):
    out = remove()
    assert out.kind == 'fail' and 'a task without a selector would remove every image' in out.result['msg']
    assert engine.writes == [] and len(engine.images) == 5


def test_check_mode_removes_nothing_and_says_what_would_go(engine):
    before = engine.ids()
    out = remove(check_mode=True, name='poscloud/media*', force=True)
    assert out.kind == 'exit' and out.result['changed'] is True
    assert out.result['removed'] == [{'id': MEDIA_OLD['Id'], 'tags': MEDIA_OLD['RepoTags']},
                                     {'id': MEDIA_NEW['Id'], 'tags': sorted(MEDIA_NEW['RepoTags'])}]
    assert out.result['diff'] == {'before': {'images': ['poscloud/media:05ea11c2e4f4', 'poscloud/media:7a1f0c2b9d3e',
                                                        'poscloud/media:latest']},
                                  'after': {'images': []}}
    assert engine.writes == [] and engine.ids() == before


def test_a_reference_is_removed_with_all_its_tags_and_returned(engine):
    out = remove(images=['poscloud/media:latest'])
    assert out.kind == 'exit' and out.result['changed'] is True
    assert out.result['removed'] == [{'id': MEDIA_NEW['Id'], 'tags': sorted(MEDIA_NEW['RepoTags'])}]
    assert out.result['guarded'] == []
    assert engine.removed == [MEDIA_NEW['Id']]
    assert engine.writes[0] == ['image', 'rm', 'poscloud/media:7a1f0c2b9d3e', 'poscloud/media:latest']


def test_a_reference_that_does_not_exist_is_already_absent(engine):
    out = remove(images=['poscloud/media:gone'])
    assert out.kind == 'exit' and out.result['changed'] is False and out.result['removed'] == []
    assert engine.writes == []


def test_filters_select_only_images_the_collection_labelled(engine):
    out = remove(check_mode=True, name='*bookworm*')
    assert out.result['removed'] == [] and out.result['changed'] is False
    out = remove(check_mode=True, images=['debian:bookworm'])
    assert out.result['removed'] == [{'id': OTHER['Id'], 'tags': ['debian:bookworm']}]


@pytest.mark.parametrize('check_mode', [True, False])
def test_an_image_a_container_uses_is_refused_and_nothing_is_removed(engine, check_mode):
    engine.containers = {MEDIA_OLD['Id']: ['pos_12345678']}
    out = remove(check_mode=check_mode, kind='media')
    assert out.kind == 'fail' and out.result['changed'] is False and out.result['removed'] == []
    assert out.result['msg'].startswith('not removing anything: poscloud/media:05ea11c2e4f4 is used by container '
                                        'pos_12345678; set force=true')
    assert out.result['guarded'] == [{'id': MEDIA_OLD['Id'], 'tags': MEDIA_OLD['RepoTags'],
                                      'reason': 'used by container pos_12345678'}]
    assert engine.writes == [] and len(engine.images) == 5


def test_the_newest_snapshot_of_a_store_is_refused(engine):
    out = remove(store='12345678', kind='snapshot')
    assert out.kind == 'fail' and 'is the newest snapshot of store 12345678' in out.result['msg']
    assert [g['id'] for g in out.result['guarded']] == [SNAP_NEW['Id']]
    assert engine.writes == []


def test_skip_guarded_removes_the_others_and_keeps_the_guarded(engine):
    out = remove(store='12345678', kind='snapshot', skip_guarded=True)
    assert out.kind == 'exit' and out.result['changed'] is True
    assert out.result['removed'] == [{'id': SNAP_OLD['Id'], 'tags': SNAP_OLD['RepoTags']}]
    assert [g['id'] for g in out.result['guarded']] == [SNAP_NEW['Id']]
    assert engine.removed == [SNAP_OLD['Id']] and engine.find(SNAP_NEW['Id']) is not None


def test_force_removes_guarded_images_with_force(engine):
    engine.containers = {SNAP_NEW['Id']: ['pos_12345678']}
    out = remove(store='12345678', kind='snapshot', force=True)
    assert out.kind == 'exit'
    assert [r['id'] for r in out.result['removed']] == [SNAP_OLD['Id'], SNAP_NEW['Id']]
    assert [g['reason'] for g in out.result['guarded']] == ['used by container pos_12345678']
    assert sorted(engine.removed) == sorted([SNAP_OLD['Id'], SNAP_NEW['Id']])
    assert all(w[-1] == '--force' for w in engine.writes if w[:2] == ['image', 'rm'])


def test_a_failure_midway_returns_what_was_removed(engine):
    engine.fail_on = engine.find(MEDIA_NEW['Id'])
    out = remove(kind='media')
    assert out.kind == 'fail' and out.result['msg'].startswith('removing poscloud/media:7a1f0c2b9d3e, ')
    assert 'conflict' in out.result['msg']
    assert out.result['removed'] == [{'id': MEDIA_OLD['Id'], 'tags': MEDIA_OLD['RepoTags']}]
    assert out.result['changed'] is True
    assert engine.removed == [MEDIA_OLD['Id']]


def test_an_engine_error_while_selecting_fails_cleanly(engine, monkeypatch):
    def broken(filters=None, all_images=False):
        raise DockerError('docker image ls: Cannot connect to the Docker daemon')
    monkeypatch.setattr(engine, 'image_ids', broken)
    out = remove(kind='media')
    assert out.kind == 'fail' and 'Cannot connect to the Docker daemon' in out.result['msg']
    assert engine.writes == []
