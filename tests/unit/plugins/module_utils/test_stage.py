import hashlib
import os

import pytest
import yaml

from ansible_collections.poscloud.fleet.plugins.action.stage_plan import COLLECTION_ROOT, files_digest, input_groups
from ansible_collections.poscloud.fleet.plugins.module_utils import stage
from ansible_collections.poscloud.fleet.plugins.modules.stage_plan import plan

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')


def demo_profile():
    with open(os.path.join(ROOT, 'profiles', 'demo.yml')) as f:
        return yaml.safe_load(f)


def inputs(**kw):
    args = dict(media_image_id='sha256:m', profile_digest='p', media_sha256='s', support_users=[{'name': 'a'}],
                remove_packages=['b', 'a'], files={'init': 'i'})
    args.update(kw)
    return stage.stage_inputs(**args)


def test_every_input_changes_the_hash_and_order_does_not():
    base = stage.stage_hash(inputs())
    assert stage.stage_hash(inputs(remove_packages=['a', 'b', 'a'])) == base
    for change in (dict(media_image_id='sha256:n'), dict(profile_digest='q'), dict(media_sha256='t'),
                   dict(support_users=[{'name': 'b'}]), dict(remove_packages=['c']), dict(files={'init': 'j'}),
                   dict(files={'init': 'i', 'vpn_hook': 'v'})):
        assert stage.stage_hash(inputs(**change)) != base, change


def img(image_id, created, stage_hash=None, tags=()):
    labels = {'poscloud.fleet.store': '1'}
    if stage_hash:
        labels['poscloud.fleet.stage-hash'] = stage_hash
    return {'Id': image_id, 'Created': created, 'RepoTags': list(tags), 'Config': {'Labels': labels}}


def test_newest_snapshot_of_a_hash_wins():
    found = stage.newest_with_hash([img('a', '2026-01-01', 'h'), img('b', '2026-01-03', 'h'),
                                    img('c', '2026-01-04', 'other')], 'h')
    assert found['Id'] == 'b'
    assert stage.newest_with_hash([img('c', '2026-01-04', 'other')], 'h') is None


@pytest.mark.parametrize('snapshot,instance,force,expected', [
    (None, {'exists': True, 'image': 'x'}, False, (True, False)),
    ({'Id': 'x'}, {'exists': True, 'image': 'x'}, False, (False, True)),
    ({'Id': 'x'}, {'exists': True, 'image': 'y'}, False, (False, False)),
    ({'Id': 'x'}, {'exists': False, 'image': ''}, False, (False, False)),
    ({'Id': 'x'}, {'exists': True, 'image': 'x'}, True, (True, False)),
])
def test_decide(snapshot, instance, force, expected):
    assert stage.decide(snapshot, instance, force) == expected


def pos_defaults():
    with open(os.path.join(COLLECTION_ROOT, 'roles', 'pos', 'defaults', 'main.yml')) as f:
        return yaml.safe_load(f)


def test_files_digest_of_the_pos_roles_lists_is_the_one_stores_were_staged_with():
    # The lists moved from the action plugin to the pos role's defaults; the groups and their files
    # must stay exactly these, or every store's staging hash changes and every store is staged again.
    defaults = pos_defaults()
    assert defaults['pos_stage_input_files'] == {'init': ['roles/pos_stage/files/poscloud_init.py']}
    assert defaults['pos_stage_vpn_hook_files'] == {
        'vpn_hook': ['roles/ipsec_vpn/tasks/stage.yml', 'roles/ipsec_vpn/defaults/main.yml']}
    groups = input_groups(COLLECTION_ROOT, 'input_files', defaults['pos_stage_input_files'])
    groups.update(input_groups(COLLECTION_ROOT, 'vpn_hook_files', defaults['pos_stage_vpn_hook_files']))
    digests = files_digest(COLLECTION_ROOT, groups)
    with open(os.path.join(COLLECTION_ROOT, 'roles', 'pos_stage', 'files', 'poscloud_init.py'), 'rb') as f:
        assert digests['init'] == hashlib.sha256(f.read()).hexdigest()
    assert sorted(digests) == ['init', 'vpn_hook'] and len(digests['vpn_hook']) == 64


def test_the_two_callers_pass_the_pos_roles_lists():
    for path in ('roles/pos_stage/tasks/plan.yml', 'roles/fleet_update/tasks/main.yml'):
        with open(os.path.join(COLLECTION_ROOT, path)) as f:
            text = f.read()
        assert 'input_files: "{{ pos_stage_input_files }}"' in text, path
        assert 'vpn_hook_files: "{{ pos_stage_vpn_hook_files }}"' in text, path


@pytest.mark.parametrize('groups, message', [
    (['roles/pos_stage/files/poscloud_init.py'], 'input_files must be a dictionary'),
    ({'init': []}, 'input_files.init must be a non-empty list'),
    ({'init': 'roles/pos_stage/files/poscloud_init.py'}, 'input_files.init must be a non-empty list'),
    ({'init': ['/etc/passwd']}, 'input_files.init: /etc/passwd is outside the collection'),
    ({'init': ['../../etc/passwd']}, 'input_files.init: ../../etc/passwd is outside the collection'),
    ({'init': ['roles/pos_stage/files/missing.py']}, 'input_files.init: roles/pos_stage/files/missing.py is not a file'),
    ({'init': ['roles/pos_stage']}, 'input_files.init: roles/pos_stage is not a file'),
])
def test_input_groups_refuses_what_is_not_a_file_of_the_collection(groups, message):
    with pytest.raises(ValueError) as e:
        input_groups(COLLECTION_ROOT, 'input_files', groups)
    assert str(e.value).startswith(message)


class FakeDocker(object):
    def __init__(self, images, containers):
        self.images, self.containers = images, containers
        self.filters = None

    def inspect_image(self, ref):
        for i in self.images.values():
            if ref == i['Id'] or ref in i.get('RepoTags', []):
                return i
        return None

    def image_ids(self, filters=None):
        self.filters = filters
        wanted = [f[len('label='):].split('=', 1) for f in filters]
        return [i['Id'] for i in self.images.values()
                if all(i['Config']['Labels'].get(k) == v for k, v in wanted)]

    def inspect_images(self, ids):
        return [self.images[i] for i in ids]

    def inspect_containers(self, names):
        return [self.containers[n] for n in names if n in self.containers]


def params(**kw):
    p = dict(store='1', profile=demo_profile(), media_image='poscloud/media:latest', repository='poscloud/store-1',
             container='pos_1', support_users=[], remove_packages=[], primary_vpn=False, files={'init': 'i'},
             force=False)
    p.update(kw)
    return p


def test_plan_finds_a_store_current_only_on_the_snapshot_of_todays_inputs():
    media = img('sha256:m1', '2026-01-01', tags=['poscloud/media:latest'])
    media['Config']['Labels'] = {'poscloud.fleet.patch-level': '2026-01-01'}
    docker = FakeDocker({'sha256:m1': media}, {})
    first = plan(docker, params())
    assert first['needed'] and not first['current'] and first['media']['patch_level'] == '2026-01-01'
    assert first['instance'] == {'exists': False, 'running': False, 'image': '', 'status': 'absent'}
    assert docker.filters == ['label=poscloud.fleet.store=1', 'label=poscloud.fleet.stage-hash=%s' % first['stage_hash']]

    # Staged and running: current. The OS media changes: needed again, not current.
    docker.images['sha256:s1'] = img('sha256:s1', '2026-01-02', first['stage_hash'], ['poscloud/store-1:latest'])
    docker.containers['pos_1'] = {'Image': 'sha256:s1', 'State': {'Running': True, 'Status': 'running'}}
    again = plan(docker, params())
    assert not again['needed'] and again['current'] and again['snapshot']['id'] == 'sha256:s1'
    docker.images['sha256:m1']['RepoTags'] = []
    docker.images['sha256:m2'] = dict(media, Id='sha256:m2', RepoTags=['poscloud/media:latest'])
    patched = plan(docker, params())
    assert patched['needed'] and not patched['current'] and patched['stage_hash'] != first['stage_hash']


def test_plan_is_not_current_when_latest_points_elsewhere():
    media = img('sha256:m1', '2026-01-01', tags=['poscloud/media:latest'])
    docker = FakeDocker({'sha256:m1': media}, {})
    wanted = plan(docker, params())['stage_hash']
    docker.images['sha256:s1'] = img('sha256:s1', '2026-01-02', wanted, ['poscloud/store-1:20260102T000000Z'])
    docker.images['sha256:s0'] = img('sha256:s0', '2026-01-01', 'old', ['poscloud/store-1:latest'])
    docker.containers['pos_1'] = {'Image': 'sha256:s1', 'State': {'Running': True}}
    result = plan(docker, params())
    assert not result['needed'] and not result['current'] and result['latest'] == 'sha256:s0'


def test_plan_refuses_a_bad_profile_by_name():
    profile = demo_profile()
    del profile['media']
    with pytest.raises(Exception, match='media'):
        plan(FakeDocker({}, {}), params(profile=profile))
