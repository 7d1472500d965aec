"""Fleet updates over the lab fleet (inventories/lab/fleet.lab_fleet.yml, 3 stores), for real: a new
patch level rolled out in waves with a health gate, a store whose new snapshot fails put back on its
previous one, the wave limit, the no-op fast path, and the fleet status report."""
import json
import os
import subprocess

import pytest

from conftest import ROOT, failures

FLEET = ['store_9000000%d' % i for i in (1, 2, 3)]
PATCH = '{"lab_fleet_patch_packages": ["less"]}'
HOOK = os.path.join(ROOT, 'tests', 'e2e', 'hooks', 'break_new_snapshot.yml')
BROKEN = '{"fleet_update_hook_after_replace": "%s", "e2e_fault_hosts": ["store_90000002"]}' % HOOK
FAST = '{"fleet_update_health_timeout": 15}'


def sh(*args):
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout.strip()


def running_image(host):
    return sh('docker', 'inspect', '-f', '{{.Image}}', 'pos_' + host.split('_')[1])


def has_less(host):
    return subprocess.run(['docker', 'exec', 'pos_' + host.split('_')[1], 'dpkg', '-s', 'less'],
                          capture_output=True, check=False).returncode == 0


def healthy(host):
    proc = subprocess.run(['docker', 'exec', 'pos_' + host.split('_')[1], 'python3', '-c',
                           "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=3)"],
                          capture_output=True, check=False)
    return proc.returncode == 0


def summary(name='fleet-update.json'):
    with open(os.path.join(ROOT, 'reports', 'fleet', name)) as f:
        data = json.load(f)
    return data, dict((r['store'], r['outcome']) for r in data['stores'])


def update(lab, *extra):
    args = ['-l', 'fleet_stores', '-e', FAST]
    for e in extra:
        args += [e] if e.startswith('--') else ['-e', e]
    return lab.playbook('playbooks/fleet_update.yml', *args)


@pytest.fixture(scope='module')
def fleet(lab):
    """The lab fleet staged on the unpatched fleet media, each store's instance running."""
    rc, out = lab.playbook('playbooks/stage_pos.yml', '-l', 'fleet_stores')
    assert rc == 0, failures(out)
    rc, out = lab.playbook('playbooks/pos_start.yml', '-l', 'fleet_stores')
    assert rc == 0, failures(out)
    # A data marker per store: a fleet update never touches the data volumes.
    for host in FLEET:
        sh('docker', 'exec', 'pos_' + host.split('_')[1], 'sh', '-c', 'echo %s > /usr2/pos/fleet-marker' % host)
    # Start from the unpatched level whatever an earlier run left.
    rc, out = update(lab)
    assert rc == 0, failures(out)
    return dict((h, running_image(h)) for h in FLEET)


def test_check_mode_replaces_nothing(lab, fleet):
    before = dict((h, running_image(h)) for h in FLEET)
    rc, out = update(lab, PATCH, '--check')
    assert rc == 0, failures(out)
    outcome = summary('fleet-update-check.json')[1]
    assert set(outcome.values()) == {'would_update'}
    assert dict((h, running_image(h)) for h in FLEET) == before


def test_a_failed_store_returns_to_its_previous_snapshot_and_the_wave_limit_stops_the_update(lab, fleet):
    rc, out = update(lab, PATCH, BROKEN, '{"fleet_update_waves": "1,1,100%"}')
    assert rc != 0
    data, outcome = summary()
    assert outcome == {'store_90000001': 'updated', 'store_90000002': 'rolled_back', 'store_90000003': 'not reached'}
    assert 'wave 2: 1 of 1 stores failed' in data['halted']
    rows = dict((r['store'], r) for r in data['stores'])
    assert rows['store_90000002']['running'] == fleet['store_90000002'][7:19] != rows['store_90000002']['target']
    assert has_less('store_90000001') and running_image('store_90000001') != fleet['store_90000001']
    # Back on its previous snapshot, healthy, data untouched; the third store was not touched.
    assert running_image('store_90000002') == fleet['store_90000002'] and healthy('store_90000002')
    assert sh('docker', 'exec', 'pos_90000002', 'cat', '/usr2/pos/fleet-marker') == 'store_90000002'
    assert sh('docker', 'inspect', '-f', '{{.Id}}', 'poscloud/store-90000002:latest') == fleet['store_90000002']
    assert running_image('store_90000003') == fleet['store_90000003'] and not has_less('store_90000003')
    assert 'Fleet update: not reached 1, rolled_back 1, updated 1' in failures(out)


def test_a_wave_within_its_failure_limit_goes_on(lab, fleet):
    rc, out = update(lab, PATCH, BROKEN, '{"fleet_update_waves": "1,100%", "fleet_update_max_fail_percentage": 50}')
    assert rc != 0
    data, outcome = summary()
    assert outcome == {'store_90000001': 'skipped', 'store_90000002': 'rolled_back', 'store_90000003': 'updated'}
    assert data['halted'] == ''
    assert has_less('store_90000003') and healthy('store_90000003')
    assert running_image('store_90000002') == fleet['store_90000002'] and healthy('store_90000002')


def test_every_store_updated_then_a_second_run_changes_nothing(lab, fleet):
    rc, out = update(lab, PATCH)
    assert rc == 0, failures(out)
    outcome = summary()[1]
    assert outcome == {'store_90000001': 'skipped', 'store_90000002': 'updated', 'store_90000003': 'skipped'}
    assert all(has_less(h) and healthy(h) for h in FLEET)
    assert sh('docker', 'exec', 'pos_90000002', 'cat', '/usr2/pos/fleet-marker') == 'store_90000002'

    rc, out = update(lab, PATCH)
    assert rc == 0, failures(out)
    assert all(out['stats'][h]['changed'] == 0 for h in out['stats']), out['stats']
    outcome = summary()[1]
    assert set(outcome.values()) == {'skipped'}
    # The no-op path: one module call per store (the rest are meta tasks, not host tasks).
    calls = [t for p in out['plays'] for t in p['tasks'] if 'Is the store already current' in t['task']['name']]
    assert sum(len(t['hosts']) for t in calls) == 3
    assert all(out['stats'][h]['ok'] <= 3 for h in FLEET[1:]), out['stats']  # the first also runs the run-once tasks


def test_fleet_status_reports_every_store(lab, fleet):
    rc, out = lab.playbook('playbooks/fleet_status.yml')
    assert rc == 0, failures(out)
    with open(os.path.join(ROOT, 'reports', 'fleet', 'fleet-status.json')) as f:
        rows = dict((r['host'], r) for r in json.load(f)['stores'])
    assert set(FLEET) <= set(rows) and 'store_12345678' in rows
    for host in FLEET:
        assert rows[host]['instance']['state'] == 'running' and rows[host]['instance']['snapshot']
        assert rows[host]['instance']['patch_level'] not in ('', 'unknown')
    main = rows['store_12345678']
    assert main['cutover'].get('outcome') == 'completed'
    assert any(t['name'] == 'phonehome' and t['state'] == 'ESTABLISHED' for t in main['tunnels'])
    with open(os.path.join(ROOT, 'reports', 'fleet', 'fleet-status.md')) as f:
        table = f.read()
    assert all('| %s ' % h.split('_')[1] in table for h in FLEET)


def mitogen_env():
    import ansible_mitogen
    return {'ANSIBLE_STRATEGY_PLUGINS': os.path.join(os.path.dirname(ansible_mitogen.__file__), 'plugins', 'strategy'),
            'ANSIBLE_STRATEGY': 'mitogen_linear'}


def test_mitogen_gives_the_same_no_op_and_reaches_the_ssh_and_docker_hosts(lab, fleet):
    rc, out = lab.playbook('playbooks/fleet_update.yml', '-l', 'fleet_stores', '-e', PATCH, **mitogen_env())
    assert rc == 0, failures(out)
    assert all(out['stats'][h]['changed'] == 0 for h in out['stats'])
    outcome = summary()[1]
    assert set(outcome.values()) == {'skipped'}
    # The lab's other connection types: SSH (the physical POS server) and Docker (the router).
    rc, out = lab.playbook('playbooks/lab.yml', '-l', 'store_12345678')
    assert rc == 0, failures(out)
    for host in ('posserver_12345678', 'router_12345678'):
        proc = subprocess.run([os.path.join(ROOT, '.venv', 'bin', 'ansible'), host, '-m', 'ansible.builtin.command',
                               '-a', 'hostname'], cwd=ROOT, capture_output=True, text=True, check=False,
                              env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), **mitogen_env()))
        assert proc.returncode == 0 and 'CHANGED' in proc.stdout, proc.stdout + proc.stderr


def test_stores_on_different_media_get_each_media_built_once(lab, fleet, tmp_path):
    """A fleet whose stores use different OS media (per region, per profile): the run builds each
    distinct media set once, before the waves, and each store is restaged on its own media. Store 3
    gets media with one more package (bzip2), so its snapshot cannot be the fleet media's."""
    other = tmp_path / 'other-media.yml'
    other.write_text(
        'all:\n  hosts:\n    store_90000003:\n'
        '      pos_stage_media_image: poscloud/fleet-media-b:latest\n'
        '      os_media_images:\n'
        '        - {name: poscloud/fleet-media-b, kind: media, suite: bookworm,\n'
        '           packages: "{{ poscloud_media_packages + lab_fleet_patch_packages + [\'bzip2\'] }}"}\n')
    try:
        rc, out = lab.playbook('playbooks/fleet_update.yml', '-i', str(other), '-l', 'fleet_stores', '-e', FAST,
                               '-e', PATCH)
        assert rc == 0, failures(out)
        # os_media ran twice, each time for the first store of a media set, delegated to the build host
        builds = [t for p in out['plays'] for t in p['tasks'] if t['task']['name'].endswith('Summarise the images')]
        built_for = sorted(h for t in builds for h in t['hosts'] if not t['hosts'][h].get('skipped'))
        assert built_for == ['store_90000001', 'store_90000003'], built_for
        media_b = json.loads(sh('docker', 'image', 'inspect', 'poscloud/fleet-media-b:latest'))[0]['Id']
        assert media_b != json.loads(sh('docker', 'image', 'inspect', 'poscloud/fleet-media:latest'))[0]['Id']
        labels = json.loads(sh('docker', 'image', 'inspect', running_image('store_90000003')))[0]['Config']['Labels']
        assert labels['poscloud.fleet.media-image'] == media_b
        outcome = summary()[1]
        # the other two stay on the fleet's media: skipped when already on the patch level (after the
        # tests above), updated to it when this test runs alone
        assert outcome['store_90000003'] == 'updated', outcome
        assert outcome['store_90000001'] in ('skipped', 'updated') and outcome['store_90000002'] in ('skipped', 'updated')
        assert all(healthy(h) for h in FLEET)
        assert sh('docker', 'exec', 'pos_90000003', 'cat', '/usr2/pos/fleet-marker') == 'store_90000003'
    finally:
        # back on the fleet's media, for the runs after this one
        rc, out = update(lab, PATCH)
        for ref in sh('docker', 'images', '--format', '{{.Repository}}:{{.Tag}}', 'poscloud/fleet-media-b').split():
            subprocess.run(['docker', 'rmi', ref], capture_output=True, check=False)
    assert rc == 0, failures(out)
    assert summary()[1]['store_90000003'] == 'updated'
