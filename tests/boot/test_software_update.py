"""Software update with content-addressed backups and automatic rollback, on the boot lab's VMs.

The first run installs the sample release pos-agent-1.0 (tests/boot/releases) on both machines,
a systemd service among its files, and brings the build server's copies to it. The second run, in
one play, gives machine01 the same release again (nothing may change, the service not restarted)
and machine02 pos-agent-1.1, whose own test fails: the playbook must put 1.0 back by itself. The
build server's copy of machine01 is then read offline, from its disk image.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

RELEASES = os.path.join(ROOT, 'tests', 'boot', 'releases')
IMAGES = '/var/lib/poscloud-fleet/boot-lab/images'
STORE = '/var/lib/poscloud/releases'
PATHS = ['/usr/local/bin/pos-agent', '/usr/local/share/pos-agent/version', '/usr/local/share/pos-agent/notes.txt',
         '/etc/pos-agent/agent.conf', '/etc/pos-agent/legacy.conf', '/etc/systemd/system/pos-agent.service']
# git keeps only the executable bit: the modes the releases ship are set here
MODES = {'pos-agent-1.0': {'etc/pos-agent/agent.conf': 0o640},
         'pos-agent-1.1': {'etc/pos-agent/agent.conf': 0o600}}
HEALTH = ['python3', '-c', "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8089/version', "
                           "timeout=5).read().decode().strip())"]


def make_release(release, out):
    tree = os.path.join(str(out), release + '.tree')
    shutil.copytree(os.path.join(RELEASES, release), tree)
    for path, mode in MODES[release].items():
        os.chmod(os.path.join(tree, path), mode)
    bundle = os.path.join(str(out), release)
    test = '/usr/local/bin/pos-agent check'
    remove = ['--remove', '/usr/local/share/pos-agent/notes.txt'] if release == 'pos-agent-1.0' else \
        ['--remove', '/etc/pos-agent/legacy.conf']
    subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'make-release.py'), '--id', release, '--test', test,
                    '--owner', '/etc/pos-agent/agent.conf=root:adm'] + remove + [tree, bundle], check=True)
    return bundle


def files(lab, host):
    """path -> (sha256, mode, owner, group) of every path the releases touch; None when absent."""
    out = lab.ssh(host, 'for p in %s; do if [ -f "$p" ]; then echo "$p $(sha256sum < "$p" | cut -d" " -f1) '
                        '$(stat -c "%%a %%U %%G" "$p")"; else echo "$p -"; fi; done' % ' '.join(PATHS))
    states = {}
    for line in out.splitlines():
        parts = line.split()
        states[parts[0]] = None if parts[1] == '-' else tuple(parts[1:])
    return states


def service(lab, host):
    out = lab.ssh(host, 'systemctl show -p ActiveState -p MainPID -p ActiveEnterTimestampMonotonic pos-agent.service')
    return dict(line.split('=', 1) for line in out.splitlines() if '=' in line)


def history(lab, host):
    return [json.loads(l) for l in lab.ssh(host, 'cat %s/history.jsonl' % STORE).splitlines() if l.strip()]


def report(lab, host):
    with open(os.path.join(lab.root, 'reports', host, 'software-update-latest.json')) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def updates(fresh_lab, tmp_path_factory):
    lab = fresh_lab
    work = tmp_path_factory.mktemp('releases')
    v10 = make_release('pos-agent-1.0', work)
    v11 = make_release('pos-agent-1.1', work)
    tarball = str(work / 'pos-agent-1.1.tar.gz')
    subprocess.run(['tar', '-C', v11, '-czf', tarball, '.'], check=True)
    with open(tarball, 'rb') as f:
        v11_sha = hashlib.sha256(f.read()).hexdigest()
    settings = work / 'settings.json'
    # The lab's machines open one SSH connection per task (a shared one would outlive the reboots of a
    # kernel upgrade); a software update does not reboot, and under TCG each new connection's key
    # exchange costs the VM seconds of CPU, so these runs share one connection per machine.
    settings.write_text(json.dumps({'software_update_services': ['pos-agent.service'],
                                    'software_update_health_command': HEALTH, 'software_update_serial': 2,
                                    'ansible_ssh_args': '-o ControlMaster=auto -o ControlPersist=60s'}))
    first = lab.playbook('software_update.yml', '-l', 'machine01,machine02', '-e', '@%s' % settings, '-e', 'software_update_bundle=%s' % v10)
    installed = {h: files(lab, h) for h in ('machine01', 'machine02')}
    before = {'machine01': service(lab, 'machine01'), 'machine02': files(lab, 'machine02')}
    copy_before = {h: open(os.path.join(IMAGES, h + '.release.json')).read() if first.rc == 0 else None
                   for h in ('machine01', 'machine02')}
    per_host = work / 'bundles.yml'
    per_host.write_text('all:\n  hosts:\n    machine01:\n      software_update_bundle: %s\n'
                        '    machine02:\n      software_update_bundle: %s\n      software_update_bundle_sha256: %s\n'
                        % (v10, tarball, v11_sha))
    second = lab.playbook('software_update.yml', '-l', 'machine01,machine02', '-i', str(per_host), '-e', '@%s' % settings,
                          '-e', 'software_update_max_fail_percentage=100')
    return dict(lab=lab, first=first, second=second, installed=installed, before=before, copy_before=copy_before,
                v10=v10)


def test_a_release_that_passes_its_test_is_installed_and_recorded(updates):
    lab, first = updates['lab'], updates['first']
    for host in ('machine01', 'machine02'):
        assert first.stats(host)['failures'] == 0, first.failure(host)
        states = updates['installed'][host]
        with open(os.path.join(RELEASES, 'pos-agent-1.0', 'usr/local/bin/pos-agent'), 'rb') as f:
            assert states['/usr/local/bin/pos-agent'] == (hashlib.sha256(f.read()).hexdigest(), '755', 'root', 'root')
        assert states['/etc/pos-agent/agent.conf'][1:] == ('640', 'root', 'adm')
        assert states['/usr/local/share/pos-agent/notes.txt'] is None
        assert service(lab, host)['ActiveState'] == 'active'
        records = history(lab, host)
        assert records[0]['release'] == 'pos-agent-1.0' and records[0]['action'] == 'install'
        # the files the release replaced were absent before: nothing to keep, and the record says so
        assert all(p['before'] is None for p in records[0]['paths'].values() if p['after'])
    record = report(lab, 'machine01')
    assert record['release'] == 'pos-agent-1.0'
    assert record['test']['passed'] and record['health']['passed']


def test_a_second_run_of_the_same_release_changes_nothing(updates):
    lab, second = updates['lab'], updates['second']
    assert second.stats('machine01')['failures'] == 0, second.failure('machine01')
    assert second.stats('machine01')['changed'] == 0
    now = service(lab, 'machine01')
    assert now['ActiveState'] == 'active'
    assert now['MainPID'] == updates['before']['machine01']['MainPID']
    assert now['ActiveEnterTimestampMonotonic'] == updates['before']['machine01']['ActiveEnterTimestampMonotonic']
    assert [r['action'] for r in history(lab, 'machine01')] == ['install']


def test_a_release_whose_test_fails_is_rolled_back_by_itself(updates):
    lab, second = updates['lab'], updates['second']
    assert second.rc != 0
    assert second.stats('machine02')['failures'] == 1
    message = second.failure('machine02')
    assert 'self-test failed: cannot open the sales journal' in message, message
    assert 'Rolled back to pos-agent-1.0' in message, message
    # every file as before: contents, modes and owners; the removed file back, the added one gone
    assert files(lab, 'machine02') == updates['before']['machine02']
    assert service(lab, 'machine02')['ActiveState'] == 'active'
    assert [(r['release'], r['action']) for r in history(lab, 'machine02')] == [
        ('pos-agent-1.0', 'install'), ('pos-agent-1.1', 'install'), ('pos-agent-1.0', 'rollback')]
    record = report(lab, 'machine02')
    assert record['outcome'] == 'rolled back'
    assert record['test']['passed'] is False and record['test']['rc'] == 1
    changed = dict((c['path'], c['action']) for c in record['changes'])
    assert changed['/etc/pos-agent/legacy.conf'] == 'removed'
    assert changed['/usr/local/share/pos-agent/notes.txt'] == 'added'
    assert record['rollback']['ok'] and record['rollback']['release'] == 'pos-agent-1.0'
    # a failed update leaves the build server's copy alone
    with open(os.path.join(IMAGES, 'machine02.release.json')) as f:
        assert f.read() == updates['copy_before']['machine02']


def test_the_build_server_copy_carries_the_release(updates, tmp_path):
    lab = updates['lab']
    record = report(lab, 'machine01')
    copy = record['server_copy'] if record['outcome'] == 'installed' else None
    first_copy = json.loads(updates['copy_before']['machine01'])
    assert first_copy['release'] == 'pos-agent-1.0'
    assert copy is None or copy['files_match_machine']
    # read the copy offline: its disk image, mounted read-only
    raw = str(tmp_path / 'copy.raw')
    subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', os.path.join(IMAGES, 'machine01.qcow2'), raw],
                   check=True)
    with open(os.path.join(IMAGES, 'machine01.qcow2'), 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == first_copy['image_sha256']
    loop = subprocess.run(['losetup', '-r', '-o', str(2048 * 512), '--show', '-f', raw], check=True,
                          capture_output=True, text=True).stdout.strip()
    mnt = tmp_path / 'mnt'
    mnt.mkdir()
    try:
        subprocess.run(['mount', '-o', 'ro', loop, str(mnt)], check=True)
        try:
            with open(str(mnt) + STORE + '/history.jsonl') as f:
                records = [json.loads(l) for l in f if l.strip()]
            machine = updates['installed']['machine01']
            for path in PATHS:
                full = str(mnt) + path
                if machine[path] is None:
                    assert not os.path.exists(full), path
                    continue
                with open(full, 'rb') as f:
                    assert hashlib.sha256(f.read()).hexdigest() == machine[path][0], path
                assert '%o' % (os.stat(full).st_mode & 0o7777) == machine[path][1], path
        finally:
            subprocess.run(['umount', str(mnt)], check=True)
    finally:
        subprocess.run(['losetup', '-d', loop], check=True)
    assert [(r['release'], r['action']) for r in records] == [('pos-agent-1.0', 'install')]
    assert records[-1]['paths'] == history(lab, 'machine01')[0]['paths']
