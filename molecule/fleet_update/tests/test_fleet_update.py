"""After the fleet update: the store runs a new snapshot with the changed configuration, its data
kept, and the evidence of both runs. Read on this machine (host) and inside the instance
(testinfra's docker backend)."""
import json
import os
import re

import pytest
import testinfra

testinfra_hosts = ['stores']
STORE_ID = '99999995'
REPOSITORY = 'poscloud/store-' + STORE_ID
REPORTS = '/var/tmp/poscloud-fleet/molecule/reports-%s/fleet' % STORE_ID
KEY = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], '.state', 'lab', 'id_ed25519.pub')


@pytest.fixture(scope='module')
def instance():
    return testinfra.get_host('docker://pos_' + STORE_ID)


def inspect(host, kind, name):
    return json.loads(host.check_output('docker %s inspect %s', kind, name))[0]


def snapshots(host):
    """{tag: image id} of the store's timestamped snapshots."""
    out = host.check_output("docker image ls %s --format '{{.Tag}} {{.ID}}'", REPOSITORY)
    return dict(line.split() for line in out.splitlines() if re.match(r'^\d{8}T\d{6}Z ', line))


def test_the_instance_runs_the_new_snapshot_and_latest_points_at_it(host):
    tags = snapshots(host)
    assert len(tags) == 2, tags
    newest = tags[max(tags)]
    running = inspect(host, 'container', 'pos_' + STORE_ID)
    assert running['State']['Running']
    assert running['Image'].startswith('sha256:' + newest)
    assert inspect(host, 'image', REPOSITORY + ':latest')['Id'] == running['Image']


def test_the_data_volume_outlived_the_replacement(host, instance):
    running = inspect(host, 'container', 'pos_' + STORE_ID)
    volumes = [m['Name'] for m in running['Mounts'] if m['Type'] == 'volume' and m['Destination'] == '/usr2/pos']
    assert volumes == ['pos_%s_usr2_pos' % STORE_ID]
    assert instance.file('/usr2/pos/molecule-marker').content_string == 'kept by the fleet update\n'


def test_the_new_snapshot_has_the_added_support_user_without_sudo(instance):
    with open(KEY) as f:
        key = f.read().split()[1]
    posops = instance.user('posops')
    assert posops.exists and posops.home == '/home/posops'
    keys = instance.file('/home/posops/.ssh/authorized_keys')
    assert keys.user == 'posops' and keys.mode == 0o600 and key in keys.content_string
    assert not instance.file('/etc/sudoers.d/poscloud-posops').exists
    assert instance.file('/etc/sudoers.d/poscloud-posadmin').exists


def test_the_new_instance_serves_the_store(instance):
    assert instance.socket('tcp://0.0.0.0:8080').is_listening
    assert [p for p in instance.process.filter(user='pos') if 'posd' in p.args.split()[1]]
    health = json.loads(instance.check_output(
        'python3 -c "import urllib.request; print(urllib.request.urlopen(\'http://127.0.0.1:8080/health\', timeout=3).read().decode())"'))
    assert health['status'] == 'ok'
    assert instance.file('/etc/demo-pos/posd.json').contains('"store_id": "%s"' % STORE_ID)


def test_the_evidence_shows_the_update_then_the_no_op(host):
    history = sorted(host.file(REPORTS + '/history').listdir())
    assert len(history) == 2, history
    runs = [json.loads(host.file(REPORTS + '/history/' + name).content_string) for name in history]
    rows = [dict((r['store'], r) for r in run['stores'])['store_' + STORE_ID] for run in runs]
    assert [r['outcome'] for r in rows] == ['updated', 'skipped']
    tags = snapshots(host)
    assert rows[0]['target'] == tags[max(tags)][:12] and rows[0]['running'] == rows[0]['target']
    assert rows[1]['running'] == rows[0]['target']
    assert json.loads(host.file(REPORTS + '/fleet-update.json').content_string) == runs[1]
    assert 'store_' + STORE_ID in host.file(REPORTS + '/fleet-update.md').content_string
