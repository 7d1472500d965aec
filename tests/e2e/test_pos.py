"""Stage POS and the POS instance lifecycle against the real engine."""
import json
import os
import subprocess

import pytest
import yaml

from conftest import ROOT, failures as failure_messages

STORE = 'store_12345678'
STORE_ID = '12345678'
# Refused staging runs on a lab fleet store: the cutover tests use the other lab stores meanwhile
# (scripts/run-tiers.sh runs them side by side), and a refused run must leave the store as it was.
OTHER = 'store_90000003'
OTHER_ID = '90000003'


def stats(out, host=STORE):
    return out['stats'][host]


def images_of(lab, store_id):
    return lab.docker('image', 'ls', '-q', '--filter', 'reference=poscloud/store-%s' % store_id).split()


def containers_named(lab, name):
    return lab.docker('container', 'ls', '-aq', '--filter', 'name=^%s$' % name).split()


def data_digest(lab, volume):
    """Digest of every file in a data volume: names, sizes and contents."""
    script = 'cd /d && find . -type f -print0 | sort -z | xargs -0 -r sha256sum | sha256sum'
    return lab.docker('run', '--rm', '--network', 'none', '-v', '%s:/d:ro' % volume, 'poscloud/lab-base:latest',
                      'sh', '-c', script).split()[0]


def sale(lab, container, cents):
    code = ("import json, urllib.request; r = urllib.request.urlopen(urllib.request.Request("
            "'http://127.0.0.1:8080/sale', data=json.dumps({'amount_cents': %d, 'items': ['e2e']}).encode()));"
            " print(r.read().decode())" % cents)
    return json.loads(lab.docker('exec', container, 'python3', '-c', code))


def health(lab, container):
    code = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/health').read().decode())"
    return json.loads(lab.docker('exec', container, 'python3', '-c', code))


@pytest.fixture(scope='module')
def staged(lab):
    # The lab store's networks (the instance joins the lab internet) come first, as in `make demo`.
    rc, out = lab.playbook('playbooks/lab.yml', '-l', STORE)
    assert rc == 0, failure_messages(out)
    rc, out = lab.playbook('playbooks/stage_pos.yml', '-l', STORE)
    assert rc == 0, failure_messages(out)
    return out


def test_stage_twice_is_a_no_op_and_the_image_has_provenance_labels(lab, staged):
    rc, out = lab.playbook('playbooks/stage_pos.yml', '-l', STORE)
    assert rc == 0, failure_messages(out)
    assert stats(out)['changed'] == 0
    labels = json.loads(lab.docker('image', 'inspect', 'poscloud/store-%s:latest' % STORE_ID,
                                   '--format', '{{json .Config.Labels}}'))
    assert labels['poscloud.fleet.kind'] == 'snapshot'
    assert labels['poscloud.fleet.store'] == STORE_ID
    assert labels['poscloud.fleet.profile'] == 'demo'
    assert labels['poscloud.fleet.app-version'] == '1.0.1'
    profile = yaml.safe_load(open(os.path.join(ROOT, 'profiles', 'demo.yml')))
    assert labels['poscloud.fleet.media-sha256'] == profile['media']['sha256']
    assert labels['poscloud.fleet.parent-image'].startswith('sha256:')
    assert labels['poscloud.fleet.source-container']
    assert labels['poscloud.fleet.snapshot-time'].endswith('Z')
    assert len(labels['poscloud.fleet.stage-hash']) == 64
    assert labels['poscloud.fleet.input-hash'] == '', 'a snapshot must not carry the media build hash'
    tags = json.loads(lab.docker('image', 'inspect', 'poscloud/store-%s:latest' % STORE_ID, '--format', '{{json .RepoTags}}'))
    assert any(t.split(':')[1][:8].isdigit() and t.endswith('Z') for t in tags), tags
    assert containers_named(lab, 'stage_%s' % STORE_ID) == []


def test_the_image_is_hardened(lab, staged):
    ref = 'poscloud/store-%s:latest' % STORE_ID
    out = lab.docker('run', '--rm', '--network', 'none', '--entrypoint', 'sh', ref, '-c',
                     'cat /etc/ssh/sshd_config.d/10-poscloud.conf; passwd -S root; '
                     'ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l; command -v gcc make || true; '
                     'cat /home/posadmin/.ssh/authorized_keys')
    assert 'PermitRootLogin no' in out and 'PasswordAuthentication no' in out
    assert 'root L ' in out, 'the root password must be locked'
    lines = out.splitlines()
    assert '0' in lines, 'no SSH host keys may ship in the image'
    assert 'poscloud-fleet-lab' in out


def test_data_survives_stop_start_and_container_removal(lab, staged):
    volume = 'pos_%s_usr2_pos' % STORE_ID
    container = 'pos_%s' % STORE_ID
    rc, out = lab.playbook('playbooks/pos_start.yml', '-l', STORE)
    assert rc == 0, failure_messages(out)
    before_count = health(lab, container)['transactions']
    for cents in (101, 202, 303):
        sale(lab, container, cents)
    rc, out = lab.playbook('playbooks/pos_stop.yml', '-l', STORE)
    assert rc == 0
    assert lab.docker('volume', 'ls', '-q', '--filter', 'name=^%s$' % volume).split() == [volume]
    first = data_digest(lab, volume)

    # The stopped container starts again; a second start changes nothing.
    rc, out = lab.playbook('playbooks/pos_start.yml', '-l', STORE)
    assert rc == 0, failure_messages(out)
    assert health(lab, container)['transactions'] == before_count + 3
    rc, out = lab.playbook('playbooks/pos_start.yml', '-l', STORE)
    assert rc == 0 and stats(out)['changed'] == 0
    rc, out = lab.playbook('playbooks/pos_stop.yml', '-l', STORE)
    assert rc == 0
    assert data_digest(lab, volume) == first

    # A new container on the same volume has the same data.
    lab.docker('rm', '-f', container)
    rc, out = lab.playbook('playbooks/pos_start.yml', '-l', STORE)
    assert rc == 0, failure_messages(out)
    assert health(lab, container)['transactions'] == before_count + 3


def test_status_reports_the_instance(lab, staged):
    rc, out = lab.playbook('playbooks/pos_start.yml', '-l', STORE)
    assert rc == 0
    rc, out = lab.playbook('playbooks/pos_status.yml', '-l', STORE)
    assert rc == 0
    facts = [r for p in out['plays'] for t in p['tasks'] for r in t['hosts'].values()
             if 'pos_instance_status' in r.get('ansible_facts', {})]
    status = facts[-1]['ansible_facts']['pos_instance_status']
    assert status['running'] is True and status['state'] == 'running'
    assert status['pos_ip'] == '192.168.222.222'
    assert status['snapshot'].startswith('poscloud/store-%s:' % STORE_ID)
    assert int(status['free_bytes']) > 0
    assert status['patch_level'][:2] == '20'
    assert status['health']['status'] == 'ok'


def test_delete_data_needs_the_store_id(lab, staged):
    rc, out = lab.playbook('playbooks/pos_delete_data.yml', '-l', STORE, '-e', 'pos_instance_delete_data_confirm=yes')
    assert rc != 0
    assert 'pos_instance_delete_data_confirm' in failure_messages(out)
    assert lab.docker('volume', 'ls', '-q', '--filter', 'name=^pos_%s_usr2_pos$' % STORE_ID).split()


def lab_objects(lab):
    """The containers, images, volumes and networks of this stream's stores (the cutover tests change
    the others' at the same time), to compare before and after."""
    out = []
    for store in (STORE_ID, '90000001', OTHER_ID):
        out.append(lab.docker('ps', '-a', '-q', '--no-trunc', '--filter', 'name=%s' % store))
        out.append(lab.docker('images', '-q', '--no-trunc', '--filter', 'label=poscloud.fleet.store=%s' % store))
        out.append(lab.docker('volume', 'ls', '-q', '--filter', 'name=%s' % store))
        out.append(lab.docker('network', 'ls', '-q', '--filter', 'name=%s' % store))
    assert any(o.strip() for o in out[:4]), 'store %s has nothing to purge: the test would prove nothing' % STORE_ID
    return out


def test_purge_is_refused_unless_it_names_exactly_the_stores_of_the_run(lab, staged):
    before = lab_objects(lab)
    # No limit: the run would purge every store of the inventory; one confirmed store is not enough.
    for extra in ([], ['-e', 'pos_instance_purge_confirm=%s' % STORE_ID]):
        rc, out = lab.playbook('playbooks/purge.yml', *extra)
        assert rc != 0
        msg = failure_messages(out)
        assert 'pos_instance_purge_confirm' in msg and 'Nothing was changed' in msg, msg
        assert 'would purge' in msg and '90000001' in msg, msg
        assert all(s['changed'] == 0 for s in out['stats'].values())
    # The right store but a data confirmation that names another: refused before anything is removed.
    rc, out = lab.playbook('playbooks/purge.yml', '-l', STORE, '-e', 'pos_instance_purge_confirm=%s' % STORE_ID,
                           '-e', 'pos_instance_delete_data_confirm=23456789')
    assert rc != 0 and 'pos_instance_delete_data_confirm' in failure_messages(out)
    assert lab_objects(lab) == before


def broken_profile(tmp_path, **changes):
    profile = yaml.safe_load(open(os.path.join(ROOT, 'profiles', 'demo.yml')))
    profile['media']['build_from'] = os.path.join(ROOT, 'apps', 'demo_pos')
    for key, value in changes.items():
        target = profile
        parts = key.split('.')
        for part in parts[:-1]:
            target = target[part]
        if value is None:
            del target[parts[-1]]
        else:
            target[parts[-1]] = value
    folder = tmp_path / 'profiles'
    folder.mkdir(exist_ok=True)
    (folder / 'broken.yml').write_text(yaml.safe_dump(profile))
    return str(folder)


def stage_other(lab, *extra):
    images = images_of(lab, OTHER_ID)
    rc, out = lab.playbook('playbooks/stage_pos.yml', '-l', OTHER, *extra)
    assert rc != 0
    assert images_of(lab, OTHER_ID) == images, 'a failed staging left an image'
    assert containers_named(lab, 'stage_%s' % OTHER_ID) == [], 'a failed staging left its container'
    return failure_messages(out)


def test_a_failing_health_check_leaves_no_tagged_image(lab, tmp_path):
    profiles = broken_profile(tmp_path, **{'health.expect': {'status': 'never'}, 'health.timeout': 3})
    msg = stage_other(lab, '-e', 'store_app_profile=broken', '-e', json.dumps({'pos_profile_dirs': [profiles]}))
    assert 'health:' in msg and 'did not answer with' in msg


@pytest.mark.parametrize('case,changes,expect', [
    ('missing-media', {'media.build_from': None, 'media.path': '/nonexistent/demo-pos-9.tar.gz'},
     'media.path: the install media /nonexistent/demo-pos-9.tar.gz'),
    ('checksum-mismatch', {'media.sha256': '0' * 64}, 'has SHA-256'),
    ('failing-install-step', {'install': ['sh -c "echo broken install >&2; exit 3"']}, 'broken install'),
])
def test_bad_profile_input_is_refused_and_leaves_nothing(lab, tmp_path, case, changes, expect):
    profiles = broken_profile(tmp_path, **changes)
    msg = stage_other(lab, '-e', 'store_app_profile=broken', '-e', json.dumps({'pos_profile_dirs': [profiles]}))
    assert expect in msg


def test_unknown_profile_is_refused(lab):
    msg = stage_other(lab, '-e', 'store_app_profile=nosuchprofile')
    assert "store_app_profile: no profile named 'nosuchprofile'" in msg
    assert 'demo' in msg


def test_store_id_that_does_not_match_the_pattern_is_refused(lab):
    msg = stage_other(lab, '-e', 'store_id=1234')
    assert "store_id: '1234' does not match the store id pattern" in msg


def test_snapshot_export_import_round_trip_refuses_a_corrupt_tarball(lab, tmp_path):
    repo = 'poscloud/e2e-snapshot'
    name = 'e2e-snapshot-source'
    subprocess.run(['docker', 'rm', '-f', name], capture_output=True, check=False)
    lab.docker('run', '-d', '--name', name, '--network', 'none', 'poscloud/lab-base:latest', 'sleep', 'infinity')
    try:
        lab.docker('exec', name, 'sh', '-c', 'echo round-trip > /root/marker')
        snap = lab.module('poscloud.fleet.image_snapshot', {'container': name, 'repository': repo, 'store': '99999999'})
        assert snap['changed'] and snap['taken']
        again = lab.module('poscloud.fleet.image_snapshot', {'container': name, 'repository': repo, 'store': '99999999'})
        assert again['changed'] is False and again['taken'] is False
        tarball = str(tmp_path / 'snap.tar')
        exported = lab.module('poscloud.fleet.image_snapshot', {'state': 'exported', 'image': repo + ':latest', 'path': tarball})
        assert exported['changed'] and os.path.exists(tarball + '.sha256')
        image_id = snap['image']['id']
        lab.docker('rmi', '-f', image_id)
        imported = lab.module('poscloud.fleet.image_snapshot', {'state': 'imported', 'path': tarball})
        assert imported['changed'] and imported['image']['id'] == image_id
        marker = lab.docker('run', '--rm', '--network', 'none', repo + ':latest', 'cat', '/root/marker')
        assert marker.strip() == 'round-trip'
        lab.docker('rmi', '-f', image_id)
        with open(tarball, 'r+b') as f:
            f.seek(4096)
            byte = f.read(1)
            f.seek(4096)
            f.write(bytes([byte[0] ^ 0xFF]))
        refused = lab.module('poscloud.fleet.image_snapshot', {'state': 'imported', 'path': tarball})
        assert refused.get('failed') and 'does not match its checksum' in refused['msg']
        assert lab.docker('image', 'ls', '-q', repo).split() == [], 'a corrupt tarball was loaded'
    finally:
        subprocess.run(['docker', 'rm', '-f', name], capture_output=True, check=False)
        ids = lab.docker('image', 'ls', '-q', repo).split()
        if ids:
            subprocess.run(['docker', 'rmi', '-f'] + sorted(set(ids)), capture_output=True, check=False)
