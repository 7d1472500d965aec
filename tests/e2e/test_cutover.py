"""Cutover from the lab stores' physical POS servers to their cloud instances, for real: deploy_pos.yml
with its evidence and idempotence, the fault cases (each ends with no lost sale and the store
serving on one side), and backup sets with restore_data.yml.

These tests use stores 23456789 and 34567890 only: the other end-to-end tests run beside them on
store 12345678 and the lab fleet (scripts/run-tiers.sh), so nothing here may look at what is not
its own (containers are listed by store)."""
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import BIN, LAB, ROOT, _json, ansible_env, failures, kill_controller, webhook

B, C = '23456789', '34567890'
HOOKS = os.path.join(ROOT, 'tests', 'e2e', 'hooks')
STATE = '/var/lib/poscloud-fleet/stores/%s/cutover.json'
SOURCE_HOLD = '/var/lib/poscloud-fleet/lab/posserver_%s/hold/posd'
SOURCE_MARKER = '/var/lib/poscloud/cutover-%s.json'
LOCK = '/var/lib/poscloud-fleet/stores/%s/lock'
DATA_MB = 64    # store_lab_posserver_data_mb of both stores in inventories/lab


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, check=kw.get('check', True)).stdout


def health(container):
    """The demo POS's /health in a container, or None when it does not answer."""
    proc = subprocess.run(['docker', 'exec', container, 'python3', '-c',
                           "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=3).read().decode())"],
                          capture_output=True, text=True, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def sale_ids(container):
    out = sh('docker', 'exec', container, 'python3', '-c',
             "import sqlite3; db = sqlite3.connect('file:/usr2/pos/db/pos.db?mode=ro', uri=True); "
             "print(' '.join(str(r[0]) for r in db.execute('SELECT id FROM sales')))")
    return set(int(x) for x in out.split())


def acked(store):
    """Sales the physical server's POS acknowledged to the sales generator."""
    out = sh('docker', 'exec', 'posserver_%s' % store, 'cat', '/var/log/posgen/acks.jsonl')
    return set(json.loads(line)['id'] for line in out.splitlines() if line.strip())


def serving(store):
    """Which side serves the store: 'source', 'cloud' (exactly one must)."""
    src, cloud = health('posserver_%s' % store), health('pos_%s' % store)
    assert (src is None) != (cloud is None), 'exactly one side must serve store %s (source %s, cloud %s)' % (
        store, src, cloud)
    return 'source' if src else 'cloud'


def assert_no_sale_lost(store, side):
    assert serving(store) == side
    container = 'posserver_%s' % store if side == 'source' else 'pos_%s' % store
    missing = acked(store) - sale_ids(container)
    assert not missing, 'acknowledged sales missing on the %s: %s' % (side, sorted(missing)[:20])
    assert len(acked(store)) > 0


def copying(store):
    """Whether a copy (rsync) runs in the store's copy container: a pre-sync's own container, or the
    container that holds the window's connection to the physical server."""
    proc = subprocess.run(['docker', 'top', 'posdata_%s' % store, '-o', 'pid,args'], capture_output=True, text=True,
                          check=False)
    return proc.returncode == 0 and any(line.split()[1:2] == ['rsync'] for line in proc.stdout.splitlines())


def state(store):
    try:
        with open(STATE % store) as f:
            return json.load(f)
    except IOError:
        return {}


def report(store):
    with open(os.path.join(ROOT, 'reports', 'store_%s' % store, 'cutover.json')) as f:
        return json.load(f)


def containers(store):
    """The store's containers (every one has the store id in its name) with their images and states."""
    return sh('docker', 'ps', '-a', '--filter', 'name=%s' % store, '--format', '{{.Names}} {{.Image}} {{.State}}')


def stats(out, host):
    return out['stats'][host]


def wait_for(check, timeout=60, what='condition'):
    end = time.time() + timeout
    while time.time() < end:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError('timed out waiting for %s' % what)


def state_volume(store):
    """Where the cloud instance's state volume is on this host ('' when there is none)."""
    return subprocess.run(['docker', 'volume', 'inspect', '-f', '{{.Mountpoint}}', 'pos_%s_state' % store],
                          capture_output=True, text=True, check=False).stdout.strip()


def trim_source(store):
    """Take the physical server's archive back to the inventory's size (a test that grew it, or a
    run that died before undoing its growth, leaves it larger and every later copy slower)."""
    sh('docker', 'exec', 'posserver_%s' % store, 'python3', '/usr/local/share/posserver/labdata.py', 'trim',
       '--dir', '/usr2/pos', '--size-mb', str(DATA_MB))


def source_files(store):
    return int(sh('docker', 'exec', 'posserver_%s' % store, 'sh', '-c', 'find /usr2/pos -type f | wc -l').strip())


def back_on_source(store, fresh_cloud=False):
    """Put a lab store back on its physical server before a test: no cutover state, the cloud's
    application held, the server's released and healthy. fresh_cloud also empties the cloud copy."""
    for c in ('router_%s' % store, 'posserver_%s' % store):
        subprocess.run(['docker', 'unpause', c], capture_output=True, check=False)
    subprocess.run(['rm', '-rf', STATE % store, SOURCE_HOLD % store, LOCK % store], check=True)
    subprocess.run(['docker', 'exec', 'posserver_%s' % store, 'rm', '-f', SOURCE_MARKER % store], check=True)
    vol = state_volume(store)
    if vol:
        subprocess.run(['rm', '-f', os.path.join(vol, 'cutover.json')], check=True)
        os.makedirs(os.path.join(vol, 'hold'), exist_ok=True)
        open(os.path.join(vol, 'hold', 'posd'), 'a').close()
    if fresh_cloud:
        subprocess.run(['docker', 'rm', '-f', 'pos_%s' % store], capture_output=True, check=False)
        subprocess.run(['docker', 'volume', 'rm', 'pos_%s_usr2_pos' % store], capture_output=True, check=False)
    wait_for(lambda: health('posserver_%s' % store) is not None, 60, 'the physical POS of %s' % store)
    wait_for(lambda: health('pos_%s' % store) is None, 30, 'the cloud POS of %s to stop' % store)
    time.sleep(1)


@pytest.fixture(scope='module')
def lab_stores(lab):
    # Both stores start as new ones: a physical server with a new data set and no sale yet, no cloud
    # copy, no cutover state (as bench/cutover.sh makes a store). A lab store that has sold for hours
    # holds a receipt file per sale, and every later copy and manifest would be slower run after run.
    # The routers, printers and nets stay (the tunnels need not be made again).
    limit = 'store_%s,store_%s' % (B, C)
    for store in (B, C):
        subprocess.run(['docker', 'rm', '-f', 'posserver_%s' % store], capture_output=True, check=False)
        subprocess.run(['docker', 'volume', 'rm', 'posserver_%s_data' % store], capture_output=True, check=False)
        subprocess.run(['docker', 'rm', '-f', 'pos_%s' % store], capture_output=True, check=False)
        subprocess.run(['docker', 'volume', 'rm', 'pos_%s_usr2_pos' % store], capture_output=True, check=False)
        subprocess.run(['rm', '-rf', STATE % store, LOCK % store, os.path.dirname(SOURCE_HOLD % store)], check=True)
        vol = state_volume(store)
        if vol:
            subprocess.run(['rm', '-f', os.path.join(vol, 'cutover.json')], check=True)
    rc, out = lab.playbook('playbooks/lab.yml', '-l', limit)
    assert rc == 0, failures(out)
    for store in (B, C):
        assert source_files(store) < 2000, 'store %s did not start from a new data set' % store
    yield
    # The stores are left as pos_start.yml makes them: a store not cut over gets its cloud
    # application released and its state cleared.
    for store in (B, C):
        for c in ('router_%s' % store, 'posserver_%s' % store):
            subprocess.run(['docker', 'unpause', c], capture_output=True, check=False)
        subprocess.run(['rm', '-rf', LOCK % store], check=False)
        if state(store).get('outcome') != 'completed':
            subprocess.run(['rm', '-f', STATE % store], check=False)
            subprocess.run(['docker', 'exec', 'posserver_%s' % store, 'rm', '-f', SOURCE_MARKER % store], check=False)
            vol = state_volume(store)
            if vol:
                subprocess.run(['rm', '-f', os.path.join(vol, 'cutover.json')], check=False)
            if vol and os.path.exists(os.path.join(vol, 'hold', 'posd')):
                os.remove(os.path.join(vol, 'hold', 'posd'))


def deploy(lab, *args):
    return lab.playbook('playbooks/deploy_pos.yml', *args)


def test_unreachable_physical_server_changes_nothing(lab, lab_stores):
    back_on_source(B)
    before = (state(B), containers(B))
    sh('docker', 'pause', 'posserver_%s' % B)
    try:
        rc, out = deploy(lab, '-l', 'store_%s' % B)
    finally:
        sh('docker', 'unpause', 'posserver_%s' % B)
    assert rc != 0
    assert 'cannot be reached' in failures(out) and 'Nothing was changed' in failures(out)
    assert stats(out, 'store_%s' % B)['changed'] == 0
    assert (state(B), containers(B)) == before
    assert_no_sale_lost(B, 'source')


def test_check_mode_copies_and_stops_nothing(lab, lab_stores):
    # As on a new store: no cloud instance and no staged image yet, so check mode must report the
    # staging it would do without building anything.
    back_on_source(B, fresh_cloud=True)
    staged = sh('docker', 'images', '-q', '--filter', 'label=poscloud.fleet.kind=snapshot',
                '--filter', 'label=poscloud.fleet.store=%s' % B).split()
    if staged:
        sh('docker', 'rmi', '-f', *sorted(set(staged)))
    before = (state(B), containers(B))
    rc, out = deploy(lab, '-l', 'store_%s' % B, '--check')
    assert rc == 0, failures(out)
    messages = [str(r.get('msg', '')) for p in out['plays'] for t in p['tasks'] for r in t['hosts'].values()]
    assert any('Check mode: store %s would be pre-synced' % B in m for m in messages)
    assert any('Check mode: store %s has no image for these inputs' % B in m for m in messages)
    assert (state(B), containers(B)) == before
    assert not os.path.exists(SOURCE_HOLD % B)
    assert_no_sale_lost(B, 'source')


def test_tunnel_drop_during_presync_fails_before_the_window_and_a_rerun_completes(lab, lab_stores):
    back_on_source(B, fresh_cloud=True)
    paused = []

    def drop_tunnel():
        # The pre-sync copies the whole data set into an empty volume: drop the tunnel mid-way.
        end = time.time() + 240
        while time.time() < end:
            if copying(B):
                time.sleep(3)
                sh('docker', 'pause', 'router_%s' % B)
                paused.append(time.time())
                return
            time.sleep(0.2)

    t = threading.Thread(target=drop_tunnel)
    t.start()
    try:
        # 2 MiB/s: the copy of the empty volume lasts long enough to be cut in the middle.
        rc, out = deploy(lab, '-l', 'store_%s' % B, '-e', 'pos_data_bwlimit=2048')
    finally:
        t.join()
        subprocess.run(['docker', 'unpause', 'router_%s' % B], check=False)
    assert paused, 'the pre-sync never started'
    assert rc != 0
    assert 'pre-sync' in failures(out) and 'a re-run resumes the copy' in failures(out)
    assert state(B).get('phase') == 'presync'
    assert not os.path.exists(SOURCE_HOLD % B)
    assert_no_sale_lost(B, 'source')

    rc, out = deploy(lab, '-l', 'store_%s' % B)
    assert rc == 0, failures(out)
    assert report(B)['outcome'] == 'completed'
    assert_no_sale_lost(B, 'cloud')


def test_controller_killed_during_final_sync_then_a_rerun_completes(lab, lab_stores):
    back_on_source(B)
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', LAB, os.path.join(ROOT, 'playbooks', 'deploy_pos.yml'),
           '-l', 'store_%s' % B, '-e', 'pos_cutover_hook_before_window=%s/churn_source.yml' % HOOKS,
           '-e', 'e2e_churn_percent=40']
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: state(B).get('phase') == 'window' and copying(B), 300, 'the final sync')
        time.sleep(1)
        kill_controller(proc.pid)
    finally:
        proc.wait()
    assert state(B)['phase'] == 'window'
    assert os.path.exists(SOURCE_HOLD % B)      # the source stays stopped: no sale can be taken there

    # The killed run's lock is taken over, as its refusal asks (test_controller_killed_after_the_cloud_started...).
    rc, out = deploy(lab, '-l', 'store_%s' % B, '-e', 'poscloud_lock_takeover=true')
    assert rc == 0, failures(out)
    r = report(B)
    assert r['outcome'] == 'completed' and r['resumed'] is True
    assert r['transactions_before'] == r['transactions_after']
    assert_no_sale_lost(B, 'cloud')


def test_controller_gone_inside_the_window_the_physical_server_serves_again_by_itself(lab, lab_stores):
    # The controller dies inside the window and the cloud instance cannot be reached: nothing will
    # come to release the physical server, which starts its POS again at its deadline.
    back_on_source(B)
    proc = deploy_in_background('-l', 'store_%s' % B, '-e', 'pos_cutover_hook_after_final_sync=%s/stall.yml' % HOOKS,
                                '-e', 'e2e_stall_seconds=600', '-e', 'pos_cutover_deadman_seconds=25')
    try:
        wait_for(lambda: state(B).get('phase') == 'window' and os.path.exists(SOURCE_HOLD % B)
                 and health('posserver_%s' % B) is None, 600, 'the window')
        wait_for(lambda: not copying(B), 120, 'the final sync to end')
        kill_controller(proc.pid)
    finally:
        proc.wait()
    sh('docker', 'pause', 'pos_%s' % B)
    try:
        killed = time.time()
        assert health('posserver_%s' % B) is None
        wait_for(lambda: health('posserver_%s' % B) is not None, 60, 'the physical server to serve again by itself')
        assert not os.path.exists(SOURCE_HOLD % B)
        print('the physical server served again %.1f s after the controller died' % (time.time() - killed))
    finally:
        sh('docker', 'unpause', 'pos_%s' % B)
    assert_no_sale_lost(B, 'source')


def source_mb(store):
    return int(sh('docker', 'exec', 'posserver_%s' % store, 'du', '-sm', '/usr2/pos').split()[0])


def test_failures_in_the_window_roll_back_each_store(lab, lab_stores):
    # One run, two faults: store B's cloud copy changes after its final sync (the verify finds a
    # checksum mismatch), store C's cloud data volume fills during its final sync (it has room
    # for the data as it is, plus 60 MB, not for the 150 MB the store adds before the window).
    # Each is rolled back alone, with no sale lost.
    back_on_source(B)
    back_on_source(C)
    size = source_mb(C)
    sh('docker', 'rm', '-f', 'pos_%s' % C, check=False)
    sh('docker', 'volume', 'rm', 'pos_%s_usr2_pos' % C, check=False)
    sh('docker', 'volume', 'create', '--driver', 'local', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs',
       '--opt', 'o=size=%dm' % (size + 60), '--label', 'poscloud.fleet.store=%s' % C,
       '--label', 'poscloud.fleet.data-path=/usr2/pos', 'pos_%s_usr2_pos' % C)
    try:
        rc, out = deploy(lab, '-l', 'store_%s,store_%s' % (B, C),
                         '-e', 'pos_cutover_hook_after_final_sync=%s/corrupt_cloud.yml' % HOOKS,
                         '-e', 'pos_cutover_hook_before_window=%s/grow_source.yml' % HOOKS,
                         '-e', '{"e2e_corrupt_hosts": ["store_%s"], "e2e_grow_hosts": ["store_%s"]}' % (B, C),
                         '-e', 'e2e_grow_to_mb=%d' % (size + 150))
        assert rc != 0
        msg = failures(out)
        for store, reason in ((B, 'does not match'), (C, 'final-sync')):
            assert stats(out, 'store_%s' % store)['failures'] >= 1
            assert 'rolled back' in msg and 'back on its physical server' in msg and reason in msg, msg
            r = report(store)
            assert r['outcome'] == 'rolled_back' and reason in r['reason'], (store, r['reason'])
            assert state(store)['outcome'] == 'rolled_back'
            assert_no_sale_lost(store, 'source')
    finally:
        subprocess.run(['docker', 'rm', '-f', 'pos_%s' % C], capture_output=True, check=False)
        subprocess.run(['docker', 'volume', 'rm', 'pos_%s_usr2_pos' % C], capture_output=True, check=False)
        trim_source(C)


def deploy_in_background(*args):
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', LAB, os.path.join(ROOT, 'playbooks', 'deploy_pos.yml')] + list(args)
    return subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True)


def cloud_sale(store, note):
    out = sh('docker', 'exec', 'pos_%s' % store, 'python3', '-c',
             "import json, sys, urllib.request; print(urllib.request.urlopen(urllib.request.Request("
             "'http://127.0.0.1:8080/sale', data=json.dumps({'amount_cents': 100, 'items': [sys.argv[1]]}).encode(), "
             "headers={'Content-Type': 'application/json'}), timeout=5).read().decode())", note)
    return json.loads(out)['id']


def test_deploy_completes_with_evidence_and_a_rerun_changes_nothing(lab, lab_stores):
    # One run cuts over two stores while the health check of one (C) is broken after its final
    # sync: C alone is rolled back and B completes. A second run on B at the same time is refused
    # at once, naming the first, and changes nothing.
    # The run's notifications go to a local receiver: one event per store, with its outcome.
    back_on_source(C)
    back_on_source(B)
    with webhook() as (url, events):
        first = deploy_in_background('-l', 'store_%s,store_%s' % (C, B),
                                     '-e', 'pos_cutover_hook_after_final_sync=%s/break_health.yml' % HOOKS,
                                     '-e', '{"e2e_fault_hosts": ["store_%s"]}' % C, '-e', 'notify_webhook_url=%s' % url)
        try:
            wait_for(lambda: os.path.exists(os.path.join(LOCK % B, 'owner.json')), 120, 'the first run to take the lock')
            rc2, out2 = deploy(lab, '-l', 'store_%s' % B)
            stdout, dummy = first.communicate(timeout=900)
        finally:
            if first.poll() is None:
                kill_controller(first.pid)
                first.wait()
            # The broken configuration is in C's container: the next start makes a new one.
            subprocess.run(['docker', 'rm', '-f', 'pos_%s' % C], capture_output=True, check=False)
    assert rc2 != 0
    msg = failures(out2)
    assert 'is locked by another run: cutover by' in msg and 'still running' in msg and 'Nothing was changed' in msg, msg
    assert 'pid %d' % first.pid in msg
    assert stats(out2, 'store_%s' % B)['changed'] == 0
    rc, out = first.returncode, _json(stdout)
    assert rc != 0
    assert stats(out, 'store_%s' % B)['failures'] == 0, failures(out)
    assert stats(out, 'store_%s' % C)['failures'] >= 1
    assert report(C)['outcome'] == 'rolled_back' and 'health check' in report(C)['reason']
    assert_no_sale_lost(C, 'source')
    assert not os.path.exists(LOCK % B) and not os.path.exists(LOCK % C), 'a lock was not given back'
    r = report(B)
    assert r['outcome'] == 'completed' and r['reason'] == ''
    for key in ('store', 'started', 'finished', 'downtime_seconds', 'bytes_presynced', 'bytes_final_delta',
                'source_manifest_digest', 'destination_manifest_digest', 'transactions_before',
                'transactions_after', 'image_id', 'snapshot', 'tunnels', 'test_print'):
        assert r[key] not in (None, ''), key
    assert r['source_manifest_digest'] == r['destination_manifest_digest']
    assert r['transactions_before'] == r['transactions_after'] and r['data_digest_before'] == r['data_digest_after']
    assert r['test_print']['printed'] is True
    assert any(t['name'] == 'phonehome' and t['state'] == 'ESTABLISHED' for t in r['tunnels'])
    assert r['downtime_seconds'] > 0   # the 15 s target is bench/cutover.sh's to show, not a timed test's
    # Where the downtime went: every phase of the window, in order, adding up to it.
    phases = ['stop', 'read source', 'final sync', 'verify', 'commit', 'start', 'health']
    assert [p['phase'] for p in r['phases']] == phases
    assert all(p['seconds'] >= 0 and p['started'].endswith('Z') for p in r['phases'])
    assert abs(sum(p['seconds'] for p in r['phases']) - r['downtime_seconds']) < 0.1, (r['phases'], r['downtime_seconds'])
    assert os.path.exists(os.path.join(ROOT, 'reports', 'store_%s' % B, 'cutover.md'))
    assert_no_sale_lost(B, 'cloud')
    cloud = health('pos_%s' % B)
    sent = dict((e['store'], e) for e in events)
    assert len(events) == 2 and set(sent) == {B, C}, events
    assert sent[B]['operation'] == 'cutover' and sent[B]['outcome'] == 'completed'
    assert sent[B]['downtime_seconds'] == r['downtime_seconds'] and sent[B]['host'] == 'store_%s' % B
    assert sent[B]['evidence'] == os.path.join(os.path.realpath(ROOT), 'reports', 'store_%s' % B, 'cutover.md')
    assert sent[C]['outcome'] == 'rolled_back' and 'health check' in sent[C]['detail']

    logins = sh('docker', 'logs', 'posserver_%s' % B).count('Accepted publickey')
    hold_mtime = os.stat(SOURCE_HOLD % B).st_mtime
    rc, out = deploy(lab, '-l', 'store_%s' % B)
    assert rc == 0, failures(out)
    assert stats(out, 'store_%s' % B)['changed'] == 0
    assert sh('docker', 'logs', 'posserver_%s' % B).count('Accepted publickey') == logins
    assert os.stat(SOURCE_HOLD % B).st_mtime == hold_mtime
    assert health('pos_%s' % B)['transactions'] >= cloud['transactions']
    assert_no_sale_lost(B, 'cloud')

    # A checkout without the evidence (another controller) gets it back from the cloud host's copy.
    record = report(B)
    for name in ('cutover.json', 'cutover.md'):
        os.remove(os.path.join(ROOT, 'reports', 'store_%s' % B, name))
    rc, out = deploy(lab, '-l', 'store_%s' % B)
    assert rc == 0, failures(out)
    assert report(B) == record
    assert os.path.exists(os.path.join(ROOT, 'reports', 'store_%s' % B, 'cutover.md'))


def cloud_summary(store):
    return json.loads(sh('docker', 'exec', '-u', 'pos', 'pos_%s' % store, '/opt/demo-pos/bin/posd', '--summary',
                         '--config', '/etc/demo-pos/posd.json'))


def test_rerun_after_the_cloud_host_lost_its_state_is_refused(lab, lab_stores):
    # Store B serves from its cloud instance (previous test). The cloud host's state folder goes, as
    # on a rebuilt host; a re-run must not pre-sync the physical server's older data over the cloud's.
    assert state(B)['outcome'] == 'completed'
    cloud_sale(B, 'before the state was lost')
    before = (cloud_summary(B), containers(B), os.path.exists(SOURCE_HOLD % B))
    saved = '/var/lib/poscloud-fleet/stores/%s.saved' % B
    subprocess.run(['rm', '-rf', saved], check=True)
    os.rename('/var/lib/poscloud-fleet/stores/%s' % B, saved)
    try:
        rc, out = deploy(lab, '-l', 'store_%s' % B)
        assert rc != 0
        msg = failures(out)
        assert 'moved to its cloud instance' in msg and 'is missing' in msg and 'Nothing was changed' in msg, msg
        assert 'on the physical server and in the cloud instance' in msg, msg
        assert stats(out, 'store_%s' % B)['changed'] == 0
        assert (cloud_summary(B), containers(B), os.path.exists(SOURCE_HOLD % B)) == before
        assert_no_sale_lost(B, 'cloud')
    finally:
        subprocess.run(['rm', '-rf', '/var/lib/poscloud-fleet/stores/%s' % B], check=True)
        os.rename(saved, '/var/lib/poscloud-fleet/stores/%s' % B)


def test_controller_killed_after_the_cloud_started_then_a_rerun_completes_keeping_the_clouds_sales(lab, lab_stores):
    back_on_source(B)
    proc = deploy_in_background('-l', 'store_%s' % B, '-e', 'pos_cutover_hook_after_release=%s/stall.yml' % HOOKS,
                                '-e', 'e2e_stall_seconds=600')
    try:
        wait_for(lambda: state(B).get('phase') == 'released' and health('pos_%s' % B) is not None, 600,
                 'the cloud application to start')
        # The store sells in the cloud, then the controller dies before the cutover is recorded.
        sold = set(cloud_sale(B, 'in the cloud %d' % i) for i in range(3))
        kill_controller(proc.pid)
    finally:
        proc.wait()
    assert state(B)['phase'] == 'released'
    assert_no_sale_lost(B, 'cloud')

    # The dead run's lock: named, and taken over only when asked.
    rc, out = deploy(lab, '-l', 'store_%s' % B)
    assert rc != 0
    msg = failures(out)
    assert 'locked by a run that is gone' in msg and 'poscloud_lock_takeover=true' in msg, msg
    assert stats(out, 'store_%s' % B)['changed'] == 0

    rc, out = deploy(lab, '-l', 'store_%s' % B, '-e', 'poscloud_lock_takeover=true')
    assert rc == 0, failures(out)
    r = report(B)
    assert r['outcome'] == 'completed'
    assert r['transactions_before'] is not None and r['source_manifest_digest'] == r['destination_manifest_digest']
    missing = sold - sale_ids('pos_%s' % B)
    assert not missing, 'sales made in the cloud after its start were lost: %s' % sorted(missing)
    assert_no_sale_lost(B, 'cloud')


def test_backup_and_restore_refuses_a_set_that_does_not_match(lab, lab_stores):
    # The store is on its cloud instance (previous test); make a set, record a sale, restore.
    # A set made with the application stopped records the application's summary of its data.
    rc, out = lab.playbook('playbooks/backup_data.yml', '-l', 'store_%s' % B, '-e', 'pos_data_backup_online=false')
    assert rc == 0, failures(out)
    sets = sorted(d for d in os.listdir('/var/lib/poscloud-fleet/backups/%s' % B)
                  if d[:8].isdigit() and not d.endswith('-pre-restore'))
    latest = os.path.join('/var/lib/poscloud-fleet/backups/%s' % B, sets[-1])
    with open(os.path.join(latest, 'set.json')) as f:
        meta = json.load(f)
    sh('docker', 'exec', 'pos_%s' % B, 'python3', '-c',
       "import urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8080/sale', "
       "data=b'{\"amount_cents\": 100, \"items\": [\"after backup\"]}', headers={'Content-Type': 'application/json'}))")
    assert health('pos_%s' % B)['transactions'] == meta['summary']['transactions'] + 1

    rc, out = lab.playbook('playbooks/restore_data.yml', '-l', 'store_%s' % B)
    assert rc == 0, failures(out)
    h = health('pos_%s' % B)
    assert h['transactions'] == meta['summary']['transactions'] and h['digest'] == meta['summary']['digest']

    # One flipped byte in the archive: refused, and the instance's data is left as it is.
    tar = os.path.join(latest, 'data.tar')
    with open(tar, 'r+b') as f:
        f.seek(os.path.getsize(tar) // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0xFF]))
    before = health('pos_%s' % B)
    rc, out = lab.playbook('playbooks/restore_data.yml', '-l', 'store_%s' % B,
                           '-e', 'pos_data_restore_set=%s' % sets[-1])
    assert rc != 0
    assert 'is refused, it does not match its manifest' in failures(out) and 'Nothing was changed' in failures(out)
    assert health('pos_%s' % B) == before
