"""Fleet updates over the lab fleet (inventories/lab/fleet.lab_fleet.yml, 3 stores), for real: a new
patch level rolled out in waves with a health gate, a store whose new snapshot fails put back on its
previous one, the wave limit, the no-op fast path, and the fleet status report."""
import datetime
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, answers_health, failures, lab_host, webhook

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from browser import render  # noqa: E402 pylint: disable=wrong-import-position

FLEET = ['store_9000000%d' % i for i in (1, 2, 3)]
PATCH = '{"lab_fleet_patch_packages": ["less"]}'
HOOK = os.path.join(ROOT, 'tests', 'e2e', 'hooks', 'break_new_snapshot.yml')
BROKEN = '{"fleet_update_hook_after_replace": "%s", "e2e_fault_hosts": ["store_90000002"]}' % HOOK
FAST = '{"fleet_update_health_timeout": 15}'
# Actions that run on the controller without a round trip to the store's host.
CONTROLLER_ONLY = {'ansible.builtin.set_fact', 'ansible.builtin.validate_argument_spec', 'ansible.builtin.debug',
                   'ansible.builtin.include_role', 'ansible.builtin.include_tasks',
                   'ansible.builtin.meta', 'poscloud.fleet.maintenance_window'}


def sh(*args):
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout.strip()


def running_image(host):
    return sh('docker', 'inspect', '-f', '{{.Image}}', 'pos_' + host.split('_')[1])


def has_less(host):
    return lab_host('pos_' + host.split('_')[1]).package('less').is_installed


def healthy(host):
    return answers_health('pos_' + host.split('_')[1])


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
    # Every other task a store costs runs on the controller (facts, argument checks, the window
    # check); the first store also runs the run-once tasks of the whole run.
    for host in FLEET[1:]:
        ran = [t['hosts'][host].get('action') for p in out['plays'] for t in p['tasks']
               if host in t['hosts'] and not t['hosts'][host].get('skipped')]
        assert [a for a in ran if a not in CONTROLLER_ONLY] == ['poscloud.fleet.stage_plan'], (host, ran)


def test_fleet_status_reports_every_store_and_flags_old_media_and_missing_backups(lab, fleet):
    """Every store in one table, with the compliance flags: store 2 is put on an image whose media
    is old on purpose (its snapshot with an old patch level), the lab fleet has no backups. The HTML
    page, opened in headless Chromium, shows the flagged cells."""
    image = running_image('store_90000002')
    build = subprocess.run(['docker', 'build', '-q', '-t', 'poscloud/store-90000002:old-media', '-'],
                           input='FROM %s\nLABEL poscloud.fleet.patch-level=2020-01-01T00:00:00Z\n' % image,
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    try:
        rc, out = lab.playbook('playbooks/pos_start.yml', '-l', 'store_90000002', '-e', 'pos_instance_snapshot=old-media')
        assert rc == 0, failures(out)
        rc, out = lab.playbook('playbooks/fleet_status.yml', '-e', '{"fleet_status_policy": {"media_max_age_days": 400}}')
    finally:
        # back on its own snapshot, for the runs after this one
        rc2, out2 = lab.playbook('playbooks/pos_start.yml', '-l', 'store_90000002')
        subprocess.run(['docker', 'rmi', 'poscloud/store-90000002:old-media'], capture_output=True, check=False)
    assert rc == 0, failures(out)
    assert rc2 == 0 and running_image('store_90000002') == image, failures(out2)
    with open(os.path.join(ROOT, 'reports', 'fleet', 'fleet-status.json')) as f:
        report = json.load(f)
    rows = dict((r['host'], r) for r in report['stores'])
    assert set(FLEET) <= set(rows) and 'store_12345678' in rows
    for host in FLEET:
        assert rows[host]['instance']['state'] == 'running' and rows[host]['instance']['snapshot']
        assert rows[host]['instance']['patch_level'] not in ('', 'unknown')
    main = rows['store_12345678']
    assert main['cutover'].get('outcome') == 'completed'
    assert any(t['name'] == 'phonehome' and t['state'] == 'ESTABLISHED' for t in main['tunnels'])
    # the crypto agreed with the store router is read, and it is the strong set
    phonehome = [t for t in main['tunnels'] if t['name'] == 'phonehome'][0]
    assert phonehome['ike_proposal'] and phonehome['esp_proposal'], phonehome
    assert 'weak_tunnel' not in [f['flag'] for f in main['flags']], main['flags']
    flags = dict((h, [f['flag'] for f in rows[h]['flags']]) for h in FLEET)
    assert 'media_old' in flags['store_90000002'] and 'media_old' not in flags['store_90000001'], flags
    assert all('backup_old' in flags[h] for h in FLEET), flags
    assert report['totals']['by_flag']['media_old'] >= 1 and report['totals']['flagged'] >= 3
    said = [t for p in out['plays'] for t in p['tasks'] if 'Say whether the fleet is compliant' in t['task']['name']]
    assert said and list(said[0]['hosts'].values())[0]['msg'].startswith('COMPLIANCE FLAGGED: ')
    with open(os.path.join(ROOT, 'reports', 'fleet', 'fleet-status.md')) as f:
        table = f.read()
    assert all('| %s ' % h.split('_')[1] in table for h in FLEET)

    shown = render('file://' + os.path.join(ROOT, 'reports', 'fleet', 'fleet-status.html'),
                   os.path.join(ROOT, 'tests', 'output', 'chromium'),
                   os.path.join(ROOT, 'tests', 'output', 'screenshots', 'fleet-status-e2e.png'))
    flagged = set((s, f) for s, f, cls in flag_cells(shown) if 'flag' in cls.split())
    assert ('90000002', 'media_old') in flagged and ('90000001', 'media_old') not in flagged, flagged
    assert ('90000002', 'backup_old') in flagged and ('12345678', 'weak_tunnel') not in flagged, flagged


def flag_cells(page):
    """(store, flag, class) of each flag cell of the HTML report's table."""
    cells = []
    for row in re.findall(r'<tr data-store="([^"]*)">(.*?)</tr>', page, re.S):
        for flag, cls in re.findall(r'<td data-flag="([^"]+)" class="([^"]*)"', row[1]):
            cells.append((row[0], flag, cls))
    return cells


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


def blackout_now():
    """A run of blackout days around today in every time zone (a florist's Valentine's week)."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    return '"%s..%s"' % (today - datetime.timedelta(days=1), today + datetime.timedelta(days=1))


def test_stores_on_different_media_get_each_media_built_once_and_a_store_outside_its_window_is_skipped(
        lab, fleet, tmp_path):
    """A fleet whose stores use different OS media (per region, per profile): the run builds each
    distinct media set once, before the waves, and each store is restaged on its own media. Store 3
    gets media with one more package (bzip2), so its snapshot cannot be the fleet media's. Store 1 is
    moved to the same media but is in a blackout week in its time zone: it is skipped, said so, and
    keeps running what it ran; an override runs it anyway and is recorded."""
    window = ('      maintenance_window_timezone: Pacific/Auckland\n'
              '      maintenance_window_opening_hours: {mon: "08:00-18:00", sat: "09:00-13:00"}\n'
              '      maintenance_window_blackout_dates: [%s]\n' % blackout_now())
    media_b = ('      pos_stage_media_image: poscloud/fleet-media-b:latest\n'
               '      os_media_images:\n'
               '        - {name: poscloud/fleet-media-b, kind: media, suite: bookworm,\n'
               '           packages: "{{ poscloud_media_packages + lab_fleet_patch_packages + [\'bzip2\'] }}"}\n')
    other = tmp_path / 'other-media.yml'
    other.write_text('all:\n  hosts:\n    store_90000001:\n' + media_b + window + '    store_90000003:\n' + media_b)
    back = tmp_path / 'window-only.yml'
    back.write_text('all:\n  hosts:\n    store_90000001:\n' + window)
    before = running_image('store_90000001')
    try:
        rc, out = lab.playbook('playbooks/windows.yml', '-i', str(other), '-l', 'fleet_stores')
        assert rc == 0, failures(out)
        with open(os.path.join(ROOT, 'reports', 'fleet', 'windows.json')) as f:
            report = json.load(f)
        assert report['outside'] == ['store_90000001'] and report['in_window'] == FLEET[1:], report
        assert report['hosts'][0]['reason'].startswith('blackout '), report['hosts'][0]

        with webhook() as (url, events):
            rc, out = lab.playbook('playbooks/fleet_update.yml', '-i', str(other), '-l', 'fleet_stores', '-e', FAST,
                                   '-e', PATCH, '-e', 'notify_webhook_url=%s' % url)
        assert rc == 0, failures(out)
        # os_media ran twice, each time for the first store of a media set, delegated to the build host
        builds = [t for p in out['plays'] for t in p['tasks'] if t['task']['name'].endswith('Summarise the images')]
        built_for = sorted(h for t in builds for h in t['hosts'] if not t['hosts'][h].get('skipped'))
        assert built_for == ['store_90000001', 'store_90000002'], built_for
        media_b = json.loads(sh('docker', 'image', 'inspect', 'poscloud/fleet-media-b:latest'))[0]['Id']
        assert media_b != json.loads(sh('docker', 'image', 'inspect', 'poscloud/fleet-media:latest'))[0]['Id']
        labels = json.loads(sh('docker', 'image', 'inspect', running_image('store_90000003')))[0]['Config']['Labels']
        assert labels['poscloud.fleet.media-image'] == media_b
        data, outcome = summary()
        # the other two stay on the fleet's media: skipped when already on the patch level (after the
        # tests above), updated to it when this test runs alone
        assert outcome['store_90000003'] == 'updated', outcome
        assert outcome['store_90000002'] in ('skipped', 'updated')
        # store 1 would have moved to media b: outside its window it is skipped, said so, untouched
        assert outcome['store_90000001'] == 'outside window', outcome
        row = [r for r in data['stores'] if r['store'] == 'store_90000001'][0]
        assert row['reason'].startswith('outside its maintenance window: blackout '), row
        said = [t['hosts']['store_90000001']['msg'] for p in out['plays'] for t in p['tasks']
                if t['task']['name'].endswith('Say what the window means for the operation') and 'store_90000001' in t['hosts']]
        assert said and 'Fleet update skipped; -e maintenance_window_override=true runs it anyway' in said[0], said
        assert running_image('store_90000001') == before
        # the webhook heard one event per store, with the summary's outcome and a link to the evidence
        assert sorted(e['host'] for e in events) == FLEET, events
        assert dict((e['host'], e['outcome']) for e in events) == outcome
        assert all(e['operation'] == 'fleet update' and os.path.exists(e['evidence']) for e in events), events
        assert [e['store'] for e in events if e['host'] == 'store_90000001'] == ['90000001']
        assert all(healthy(h) for h in FLEET)
        assert sh('docker', 'exec', 'pos_90000003', 'cat', '/usr2/pos/fleet-marker') == 'store_90000003'
    finally:
        # back on the fleet's media, for the runs after this one; store 1, still in its blackout,
        # goes through only by the override, which is recorded
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H%M%SZ')
        rc, out = lab.playbook('playbooks/fleet_update.yml', '-i', str(back), '-l', 'fleet_stores', '-e', FAST,
                               '-e', PATCH, '-e', 'maintenance_window_override=true')
        for ref in sh('docker', 'images', '--format', '{{.Repository}}:{{.Tag}}', 'poscloud/fleet-media-b').split():
            subprocess.run(['docker', 'rmi', ref], capture_output=True, check=False)
    assert rc == 0, failures(out)
    data, outcome = summary()
    assert outcome['store_90000003'] == 'updated' and outcome['store_90000001'] == 'skipped', outcome
    row = [r for r in data['stores'] if r['store'] == 'store_90000001'][0]
    assert 'outside its maintenance window: blackout ' in row['reason'] and 'runs anyway' in row['reason'], row
    folder = os.path.join(ROOT, 'reports', 'store_90000001')
    records = sorted(f for f in os.listdir(folder) if f.startswith('window-override-') and f[16:33] >= stamp[:17])
    assert records, os.listdir(folder)
    with open(os.path.join(folder, records[-1])) as f:
        record = json.load(f)
    assert record['operation'] == 'fleet update' and record['overridden'] is True
    assert record['decision']['reason'].startswith('blackout ') and record['decision']['allowed'] is True
