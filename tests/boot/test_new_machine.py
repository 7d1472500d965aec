"""New machine and image restore on a real qemu VM (docs/bare-metal.md).

machine03 starts with two empty disks (2 GiB for the system, 256 MiB for data), so SeaBIOS falls
through to the NIC's iPXE ROM, which loads the network maintenance environment from the lab's build
server. new_machine.yml then installs it; a second run changes nothing. Its system is damaged
(files deleted); a restore from a tampered image is refused with the disk untouched; the restore
from the real image brings it back and keeps the data disk; a second restore changes nothing.
Four boots in all: two per install.
"""
import json
import os
import shutil
import subprocess

import pytest

from conftest import KEY, OLD, ROOT, kernel_version

M = 'machine03'
PORT = 2223
STORE = '/var/lib/poscloud-fleet/machines/%s' % M
USERS = os.path.join(ROOT, '.state', 'lab', 'users')


def user_ssh(user, command, key=None):
    cmd = ['ssh', '-i', key or os.path.join(USERS, user), '-p', str(PORT), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
           '-o', 'ConnectTimeout=10', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
           '-o', 'LogLevel=ERROR', '%s@127.0.0.1' % user, command]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)


def boot_id(lab):
    return lab.ssh(M, 'cat /proc/sys/kernel/random/boot_id').strip()


def record():
    with open(os.path.join(STORE, 'record.json')) as f:
        return json.load(f)


def evidence(lab):
    with open(os.path.join(lab.root, 'reports', M, 'machine-image-latest.json')) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def installed(lab):
    # The kernel and software tests' machines (run before this module) are not needed here: they
    # are shut down, so that their idle emulation takes no CPU from this machine's boots.
    down = lab.playbook('boot_lab.yml', '-l', 'machine01,machine02', '-e', 'boot_lab_state=down')
    assert down.rc == 0, down.data['stats']
    shutil.rmtree(STORE, ignore_errors=True)
    up = lab.playbook('boot_lab.yml', '-l', M, '-e', 'boot_lab_state=reimaged')
    assert up.rc == 0, up.failure(M)
    netboot = lab.ssh(M, 'cat /etc/poscloud-netboot')
    run = lab.playbook('new_machine.yml', '-l', M)
    return lab, run, netboot


def test_a_blank_machine_becomes_a_working_machine(installed):
    lab, run, netboot = installed
    assert 'POSCLOUD_NETBOOT=1' in netboot, 'machine03 did not start in the network environment'
    assert run.rc == 0, run.failure(M)
    out = lab.ssh(M, 'uname -r; findmnt -n -o SOURCE /; cat /proc/cmdline; blkid -s UUID -o value /dev/vda1; '
                     'blkid -s UUID -o value /dev/vdb; findmnt -n -o SOURCE /srv/pos-data; cat /etc/fstab; '
                     'test -e /etc/poscloud-netboot && echo NETBOOT || echo OWN').splitlines()
    kernel, root, cmdline, root_uuid, data_uuid, data_src = out[:6]
    assert kernel == kernel_version(OLD)
    assert root == '/dev/vda1' and 'root=UUID=%s' % root_uuid in cmdline and 'panic=30' in cmdline
    assert data_src == '/dev/vdb'
    fstab = [l.split() for l in out[6:-1] if l.strip() and not l.startswith('#')]
    assert sorted((f[0], f[1]) for f in fstab) == sorted([('UUID=%s' % root_uuid, '/'), ('UUID=%s' % data_uuid, '/srv/pos-data')])
    assert out[-1] == 'OWN'


def test_each_user_logs_in_with_their_key_and_has_exactly_their_sudo_rights(installed):
    alice = user_ssh('alice', 'id -un; sudo -n true && echo ROOT-OK')
    assert alice.returncode == 0 and alice.stdout.split() == ['alice', 'ROOT-OK'], alice.stderr
    bob = user_ssh('bob', 'id -un; sudo -n -l; sudo -n /usr/bin/journalctl -n 1 >/dev/null && echo JOURNAL-OK; '
                          'sudo -n true || echo TRUE-REFUSED')
    assert bob.returncode == 0, bob.stderr
    lines = [l.strip() for l in bob.stdout.splitlines()]
    assert lines[0] == 'bob'
    assert '(root) NOPASSWD: /usr/bin/systemctl restart ssh, /usr/bin/journalctl' in lines
    assert not any('ALL' in l and 'NOPASSWD' in l for l in lines)
    assert 'JOURNAL-OK' in lines and 'TRUE-REFUSED' in lines
    # a key that is not the user's is refused
    wrong = user_ssh('bob', 'true', key=os.path.join(USERS, 'alice'))
    assert wrong.returncode != 0
    root = user_ssh('root', 'true', key=KEY)
    assert root.returncode == 0


def test_the_evidence_holds_equal_written_and_read_back_digests(installed):
    lab, run, netboot = installed
    ev = evidence(lab)
    assert ev['operation'] == 'new machine' and ev['outcome'] == 'passed'
    assert ev['digest_written'] == ev['digest_read_back'] == ev['image']['digest'] == record()['current']
    assert len(ev['digest_written']) == 64
    assert [d['action'] for d in ev['disks']] == ['format']
    assert all(ev['tests']['checks'].values()) and 'user bob: login with its key' in ev['tests']['checks']
    assert ev['burn_in']['passed'] and len(ev['burn_in']['readback']) == 2
    assert all(r['written'] == r['read'] for r in ev['burn_in']['readback'])
    assert os.path.exists(os.path.join(STORE, 'versions', ev['image']['digest'] + '.img.zst'))


def test_a_second_install_changes_nothing_and_does_not_reboot(installed):
    lab, run, netboot = installed
    before = boot_id(lab)
    again = lab.playbook('new_machine.yml', '-l', M)
    assert again.rc == 0, again.failure(M)
    assert again.stats(M)['changed'] == 0
    assert boot_id(lab) == before
    assert not any(n.startswith('Reboot') or 'Write the image' in n for n in again.task_names(M))


@pytest.fixture(scope='module')
def damaged(installed):
    lab = installed[0]
    lab.ssh(M, 'echo sales-of-the-day > /srv/pos-data/kept.txt; rm -rf /usr/share/zoneinfo /usr/bin/stress-ng; sync')
    return lab


def test_a_tampered_image_is_refused_with_the_disk_untouched(damaged):
    lab = damaged
    before = boot_id(lab)
    image = os.path.join(STORE, 'versions', record()['current'] + '.img.zst')
    shutil.copy2(image, image + '.good')
    try:
        # a valid zstd file whose disk differs from the record by one byte
        raw = image + '.raw'
        subprocess.run(['zstd', '-q', '-d', '-f', image, '-o', raw], check=True)
        with open(raw, 'r+b') as f:
            f.seek(700 << 20)
            byte = f.read(1)
            f.seek(700 << 20)
            f.write(bytes([byte[0] ^ 0xff]))
        subprocess.run(['zstd', '-q', '-f', '-T0', raw, '-o', image], check=True)
        os.unlink(raw)
        refused = lab.playbook('restore_image.yml', '-l', M)
    finally:
        os.replace(image + '.good', image)
    assert refused.rc != 0
    message = refused.failure(M)
    assert 'does not match its record' in message and 'Nothing was written' in message, message
    assert boot_id(lab) == before
    assert lab.ssh(M, 'test -e /usr/bin/stress-ng && echo there || echo gone').strip() == 'gone'
    assert not any(n.startswith('Reboot') for n in refused.task_names(M))


def test_the_restore_brings_the_damaged_machine_back_and_keeps_its_data(damaged):
    lab = damaged
    before = boot_id(lab)
    run = lab.playbook('restore_image.yml', '-l', M)
    assert run.rc == 0, run.failure(M)
    assert boot_id(lab) != before
    out = lab.ssh(M, 'test -x /usr/bin/stress-ng && echo stress-ng; test -d /usr/share/zoneinfo && echo zoneinfo; '
                     'cat /srv/pos-data/kept.txt; uname -r; grub-editenv /boot/grub/grubenv list').splitlines()
    assert out[:4] == ['stress-ng', 'zoneinfo', 'sales-of-the-day', kernel_version(OLD)]
    assert not any(l.startswith(('next_entry=', 'poscloud_trial_entry=')) and l.split('=', 1)[1] for l in out[4:])
    ev = evidence(lab)
    assert ev['operation'] == 'restore' and ev['outcome'] == 'passed'
    assert ev['digest_written'] == ev['digest_read_back'] == record()['current']
    assert ev['burn_in']['passed'] and ev['tests']['checks']['GRUB boots the running kernel by default, no trial armed']


def test_a_second_restore_changes_nothing_and_does_not_reboot(damaged):
    lab = damaged
    before = boot_id(lab)
    again = lab.playbook('restore_image.yml', '-l', M)
    assert again.rc == 0, again.failure(M)
    assert again.stats(M)['changed'] == 0
    assert boot_id(lab) == before
