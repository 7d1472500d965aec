"""OS media builds against the real engine and the host's Debian mirror."""
import json
import os

import pytest

from conftest import task_results

BAD_REPO = 'poscloud/e2e-bad-media'


def leftovers(lab, work_dir):
    images = lab.docker('image', 'ls', '-q', '--filter', 'reference=%s' % BAD_REPO).split()
    labelled = lab.docker('image', 'ls', '-q', '--filter', 'label=poscloud.fleet.test=e2e-bad-input').split()
    # image_build starts no container; one from the image or with the test's label would be its own
    # (the other end-to-end tests start containers of their own meanwhile).
    containers = sorted(set(lab.docker('container', 'ls', '-aq', '--filter', 'ancestor=%s' % BAD_REPO).split()
                            + lab.docker('container', 'ls', '-aq', '--filter',
                                         'label=poscloud.fleet.test=e2e-bad-input').split()))
    files = sorted(f for f in os.listdir(work_dir) if not f.endswith('.lock')) if os.path.isdir(work_dir) else []
    return images + labelled, containers, files


@pytest.mark.parametrize('args,message', [
    ({'packages': ['python3', 'poscloud-no-such-package']},
     'packages: poscloud-no-such-package not found'),
    ({'packages': ['python3', 'poscloud-no-such-package'], 'builder': 'mmdebstrap'},
     'packages: poscloud-no-such-package not found'),
    ({'suite': 'nosuchsuite'}, "suite: 'nosuchsuite' is not a suite debootstrap knows"),
    ({'suite': 'nosuchsuite', 'builder': 'mmdebstrap'}, "suite: 'nosuchsuite' is not on the mirror"),
    # Release files the keyring cannot verify: both builders refuse the mirror.
    ({'keyring': '/usr/share/keyrings/debian-archive-removed-keys.gpg'}, 'debootstrap failed'),
    ({'keyring': '/usr/share/keyrings/debian-archive-removed-keys.gpg', 'builder': 'mmdebstrap'},
     'mmdebstrap failed'),
    ({'suite': 'sarge'}, "suite: 'sarge' is not on the mirror"),
    ({'mirror': 'http://127.0.0.1:9/debian'}, 'mirror: cannot reach http://127.0.0.1:9/debian'),
    ({'name': 'Poscloud/Bad Name'}, "name: 'Poscloud/Bad Name' is not a valid image repository name"),
    ({'tag': '-bad'}, "tag: '-bad' is not a valid image tag"),
], ids=['missing-package', 'missing-package-mmdebstrap', 'unknown-suite', 'unknown-suite-mmdebstrap',
        'unverified-release', 'unverified-release-mmdebstrap', 'suite-not-on-mirror', 'unreachable-mirror', 'invalid-name',
        'invalid-tag'])
def test_bad_input_names_the_input_and_leaves_nothing(lab, tmp_path, args, message):
    work = str(tmp_path / 'work')
    before = leftovers(lab, work)
    params = {'name': BAD_REPO, 'security_updates': False, 'work_dir': work,
              'labels': {'poscloud.fleet.test': 'e2e-bad-input'}, 'evidence_dir': str(tmp_path / 'evidence')}
    params.update(args)
    result = lab.module('poscloud.fleet.image_build', params)
    assert result.get('failed') is True, result
    assert message in result['msg']
    images, containers, files = leftovers(lab, work)
    assert images == [], 'an image was left behind'
    assert containers == before[1], 'a container was left behind'
    assert files == [], 'a root filesystem was left behind: %s' % files
    assert not (tmp_path / 'evidence').exists() or not any((tmp_path / 'evidence').rglob('*.json'))


def test_build_media_twice_is_a_no_op_with_labels_and_a_full_manifest(lab):
    # The lab images tier has built them; this run must find them and change nothing.
    rc, out = lab.playbook('playbooks/build_media.yml')
    assert rc == 0
    stats = out['stats']['lab_build']
    assert stats['changed'] == 0 and stats['failures'] == 0
    plans = task_results(out, 'Plan ')
    assert plans and all(p['plan'] == 'none' for p in plans)
    builds = task_results(out, 'Build the image')
    assert builds and all(b.get('skipped') or (b['changed'] is False and not b['built']) for b in builds)

    media = [p for p in plans if p['image']['reference'] == 'poscloud/media:latest'][0]
    if 'manifest_path' not in media:
        media = [b for b in builds if b.get('image', {}).get('reference') == 'poscloud/media:latest'][0]
    labels = json.loads(lab.docker('image', 'inspect', 'poscloud/media:latest', '--format', '{{json .Config.Labels}}'))
    for key in ('input-hash', 'build-time', 'distribution', 'suite', 'mirror', 'patch-level', 'manifest-digest'):
        assert labels.get('poscloud.fleet.' + key), key
    assert labels['poscloud.fleet.input-hash'] == media['input_hash']
    assert labels['poscloud.fleet.distribution'] == 'debian' and labels['poscloud.fleet.suite'] == 'bookworm'

    with open(media['manifest_path']) as f:
        manifest = json.load(f)
    inside = lab.docker('run', '--rm', 'poscloud/media:latest', 'dpkg-query', '-W',
                        '-f', '${Package} ${Version} ${Architecture}\n').splitlines()
    assert sorted('%(name)s %(version)s %(architecture)s' % p for p in manifest) == sorted(inside)
    assert labels['poscloud.fleet.package-count'] == str(len(manifest))


def test_check_mode_of_a_new_input_builds_nothing(lab, tmp_path):
    result = lab.module('poscloud.fleet.image_build', {
        'name': BAD_REPO, 'packages': ['python3', 'rsync'], 'labels': {'poscloud.fleet.test': 'e2e-bad-input'},
        'work_dir': str(tmp_path / 'work')}, check=True)
    assert result['changed'] is True and result['plan'] == 'build'
    assert 'would build' in result['msg']
    assert lab.docker('image', 'ls', '-q', '--filter', 'reference=%s' % BAD_REPO).split() == []
