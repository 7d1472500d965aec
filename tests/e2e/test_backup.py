"""Backups and restores against the real engine, on lab store 34567890 (after the cutover tests, in
their stream, so the other stream keeps store 12345678 to itself): the hold state they find is
the state they leave, a backup that stops the application ends only when it serves again, an online
backup keeps the store selling, the retention never removes the set just made, and a restore
interrupted by the controller's death keeps the data it replaced and finishes on a re-run."""
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import BIN, LAB, ROOT, ansible_env, failures, kill_controller, task_results

STORE = 'store_34567890'
STORE_ID = '34567890'
INSTANCE = 'pos_%s' % STORE_ID
BACKUPS = '/var/lib/poscloud-fleet/backups/%s' % STORE_ID
RESTORE_RECORD = os.path.join(BACKUPS, 'restore.json')
HOLD_FILE = '/var/lib/poscloud/hold/posd'


def sh(*args):
    return subprocess.run(list(args), capture_output=True, text=True, check=False)


def http(path, body=None):
    """GET or POST the instance's POS API from inside it; None when it does not answer."""
    code = ("import json, sys, urllib.request\n"
            "data = sys.argv[2].encode() if sys.argv[2] else None\n"
            "req = urllib.request.Request('http://127.0.0.1:8080' + sys.argv[1], data=data)\n"
            "print(urllib.request.urlopen(req, timeout=3).read().decode())\n")
    proc = sh('docker', 'exec', INSTANCE, 'python3', '-c', code, path, json.dumps(body) if body else '')
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def health():
    return http('/health')


def sale(cents):
    answer = http('/sale', {'amount_cents': cents, 'items': ['backup e2e']})
    assert answer and answer['id'] > 0, 'the POS did not take a sale'
    return answer


def held():
    return sh('docker', 'exec', INSTANCE, 'test', '-e', HOLD_FILE).returncode == 0


def sets():
    return sorted(n for n in os.listdir(BACKUPS) if n[:8].isdigit()) if os.path.isdir(BACKUPS) else []


def set_meta(name):
    with open(os.path.join(BACKUPS, name, 'set.json')) as f:
        return json.load(f)


def messages(out, name_part):
    return ' '.join(str(r.get('msg', '')) for r in task_results(out, name_part))


def hold_playbook(tmp_path, state):
    path = tmp_path / ('hold_%s.yml' % state)
    path.write_text(
        '- hosts: stores\n  gather_facts: false\n  tasks:\n'
        '    - ansible.builtin.include_role:\n        name: poscloud.fleet.pos_instance\n        tasks_from: hold\n'
        '      vars:\n        pos_instance_hold_state: %s\n' % state)
    return str(path)


@pytest.fixture(scope='module')
def instance(lab):
    """The store's instance, staged and running with its application released, as test_pos.py makes it."""
    for playbook in ('lab', 'stage_pos', 'pos_start'):
        rc, out = lab.playbook('playbooks/%s.yml' % playbook, '-l', STORE)
        assert rc == 0, failures(out)
    if os.path.exists(RESTORE_RECORD):
        os.remove(RESTORE_RECORD)
    return INSTANCE


@pytest.fixture
def running(lab, instance, tmp_path):
    rc, out = lab.playbook(hold_playbook(tmp_path, 'released'), '-l', STORE)
    assert rc == 0, failures(out)
    deadline = time.time() + 60
    while health() is None and time.time() < deadline:
        time.sleep(1)
    assert health() is not None
    return instance


def backup(lab, *extra):
    before = set(sets())
    rc, out = lab.playbook('playbooks/backup_data.yml', '-l', STORE, *extra)
    new = sorted(set(sets()) - before)
    return rc, out, new


def test_a_backup_during_a_standby_leaves_the_application_held(lab, running, tmp_path):
    sale(111)
    rc, out = lab.playbook(hold_playbook(tmp_path, 'held'), '-l', STORE)
    assert rc == 0, failures(out)
    assert held() and health() is None
    try:
        rc, out, new = backup(lab)
        assert rc == 0, failures(out)
        assert len(new) == 1
        # Never started by the backup: still held, and nothing answers, right after it and a bit later.
        assert held() and health() is None
        time.sleep(5)
        assert held() and health() is None
        meta = set_meta(new[0])
        assert meta['consistency'] == 'held' and meta['offline_seconds'] == 0
        assert meta['held_services'] == ['posd']
        assert 'stays held' in messages(out, 'Report the set')
        # A restore into the standby leaves it held too, and is done when the data matches the set.
        rc, out = lab.playbook('playbooks/restore_data.yml', '-l', STORE, '-e', 'pos_data_restore_set=%s' % new[0])
        assert rc == 0, failures(out)
        assert held() and health() is None
        assert not os.path.exists(RESTORE_RECORD)
        assert 'found held and stays held' in messages(out, 'Report the restore')
    finally:
        rc, out = lab.playbook(hold_playbook(tmp_path, 'released'), '-l', STORE)
        assert rc == 0, failures(out)


def test_a_backup_that_stops_the_application_ends_when_it_serves_again(lab, running):
    count = health()['transactions']
    sale(222)
    rc, out, new = backup(lab, '-e', 'pos_data_backup_online=false')
    # Done only when healthy: the very first request after the playbook is answered.
    answer = health()
    assert rc == 0, failures(out)
    assert answer is not None and answer['status'] == 'ok', 'the POS did not answer right after the backup ended'
    assert not held()
    meta = set_meta(new[0])
    assert meta['consistency'] == 'stopped'
    assert 0 < meta['offline_seconds'] < 300
    assert meta['summary']['transactions'] == count + 1
    report = messages(out, 'Report the set')
    assert 'could not sell for %s s' % meta['offline_seconds'] in report, report
    assert 'stopped for a consistent copy' in messages(out, 'Say how the set is made')


def test_an_online_backup_keeps_the_store_selling(lab, running):
    count = health()['transactions']
    sold, refused = [], []
    stop = threading.Event()

    def sell():
        while not stop.is_set():
            answer = http('/sale', {'amount_cents': 5, 'items': ['during backup']})
            (sold if answer else refused).append(time.time())
            time.sleep(0.2)

    t = threading.Thread(target=sell)
    t.start()
    try:
        rc, out, new = backup(lab)
    finally:
        stop.set()
        t.join()
    assert rc == 0, failures(out)
    assert refused == [], 'the POS refused %d sales during an online backup' % len(refused)
    assert len(sold) > 5
    meta = set_meta(new[0])
    assert meta['consistency'] == 'online-sqlite' and meta['offline_seconds'] == 0
    assert '0 s without selling' in messages(out, 'Report the set')
    # The set holds a consistent database with at least every sale made before the backup began,
    # and a receipt for every sale in it.
    listing = sh('tar', '-tf', os.path.join(BACKUPS, new[0], 'data.tar')).stdout.split()
    assert 'usr2/pos/db/pos.db' in listing and 'usr2/pos/db/pos.db-wal' not in listing
    script = ('set -e; mkdir /x; tar -C /x -xf /b/data.tar; python3 -c "import sqlite3, os; '
              'db = sqlite3.connect(\'/x/usr2/pos/db/pos.db\'); '
              'print(db.execute(\'PRAGMA integrity_check\').fetchone()[0]); '
              'rows = db.execute(\'SELECT receipt FROM sales\').fetchall(); print(len(rows)); '
              'print(all(os.path.exists(os.path.join(\'/x/usr2/pos\', r[0])) for r in rows))"')
    lines = sh('docker', 'run', '--rm', '--network', 'none', '-v', '%s:/b:ro' % os.path.join(BACKUPS, new[0]),
               '--entrypoint', 'sh', 'poscloud/store-%s:latest' % STORE_ID, '-c', script).stdout.split()
    assert lines[0] == 'ok' and int(lines[1]) >= count and lines[2] == 'True', lines


def test_keep_one_keeps_the_set_just_made_and_zero_is_refused(lab, running):
    rc, out, new = backup(lab, '-e', 'pos_data_backup_keep=0')
    assert rc != 0 and 'pos_data_backup_keep' in failures(out) and new == []
    # A set named after the new one (a clock set back since) must not push the new set out.
    future = os.path.join(BACKUPS, '29991231T000000Z')
    os.makedirs(future)
    with open(os.path.join(future, 'set.json'), 'w') as f:
        f.write('{}')
    try:
        rc, out, new = backup(lab, '-e', 'pos_data_backup_keep=1')
        assert rc == 0, failures(out)
        assert len(new) == 1 and os.path.exists(os.path.join(BACKUPS, new[0], 'data.tar'))
        assert [s for s in sets() if not s.endswith('-pre-restore')] == sorted([new[0], '29991231T000000Z'])
    finally:
        subprocess.run(['rm', '-rf', future], check=True)
    rc, out, again = backup(lab, '-e', 'pos_data_backup_keep=1')
    assert rc == 0, failures(out)
    assert [s for s in sets() if not s.endswith('-pre-restore')] == again


def read_record():
    try:
        with open(RESTORE_RECORD) as f:
            return json.load(f)
    except (IOError, ValueError):
        return {}


def test_an_interrupted_restore_keeps_the_replaced_data_and_a_rerun_completes(lab, running):
    for cents in (301, 302):
        sale(cents)
    rc, out, new = backup(lab, '-e', 'pos_data_backup_keep=3')
    assert rc == 0, failures(out)
    restored_set = new[0]
    at_backup = health()
    for cents in (303, 304, 305):
        sale(cents)
    live = health()
    assert live['transactions'] == at_backup['transactions'] + 3

    # Kill the controller as soon as the restore has saved the live data, before its swap.
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', LAB, os.path.join(ROOT, 'playbooks', 'restore_data.yml'),
           '-l', STORE, '-e', 'pos_data_restore_set=%s' % restored_set]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 180
        while read_record().get('phase') != 'saved' and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert read_record().get('phase') == 'saved', 'the restore never saved the live data (rc %s)' % proc.poll()
        kill_controller(proc.pid)
    finally:
        proc.wait()
    sh('docker', 'rm', '-f', 'posdata_%s_restore' % STORE_ID)
    record = read_record()
    pre = record['pre_restore']
    assert pre.endswith('-pre-restore') and record['set'] == restored_set and record['held_before'] == []
    assert set_meta(pre)['summary']['transactions'] == live['transactions']
    assert held(), 'the application must stay held while the restore is unfinished'
    # The swap was cut short: the live database is gone (as if half the set was in).
    sh('docker', 'exec', INSTANCE, 'rm', '-f', '/usr2/pos/db/pos.db')

    # The dead run's lock stops a plain re-run, which changes nothing; taking the lock over continues.
    rc, out = lab.playbook('playbooks/restore_data.yml', '-l', STORE, '-e', 'pos_data_restore_set=%s' % restored_set)
    assert rc != 0 and 'poscloud_lock_takeover=true' in failures(out), failures(out)
    assert read_record() == record and held()
    stale = os.path.join(BACKUPS, '.20200101T000000Z.partial')
    os.makedirs(stale)
    rc, out = lab.playbook('playbooks/restore_data.yml', '-l', STORE, '-e', 'pos_data_restore_set=%s' % restored_set,
                           '-e', 'poscloud_lock_takeover=true')
    assert rc == 0, failures(out)
    assert 'was interrupted' in messages(out, 'Say what the restore continues')
    after = health()
    assert after is not None and after['transactions'] == at_backup['transactions']
    assert after['digest'] == at_backup['digest']
    assert not os.path.exists(RESTORE_RECORD) and not os.path.exists(stale)
    assert not held()
    # The re-run made no second pre-restore set of the broken data: the first is the only one, kept.
    assert [s for s in sets() if s.endswith('-pre-restore')] == [pre]

    # And the data the restore replaced is recoverable: restoring the pre-restore set brings it back.
    rc, out = lab.playbook('playbooks/restore_data.yml', '-l', STORE, '-e', 'pos_data_restore_set=%s' % pre)
    assert rc == 0, failures(out)
    back = health()
    assert back['transactions'] == live['transactions'] and back['digest'] == live['digest']
