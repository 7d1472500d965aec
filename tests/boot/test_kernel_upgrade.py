"""Kernel upgrade with automatic fallback, on real qemu VMs.

One playbook run upgrades machine01 (healthy new kernel) and machine02 (the same kernel with its
initramfs corrupted after installation, so its trial boot panics) side by side; the tests then
look at each machine and at the evidence. Later tests run the playbook again on machine01 (nothing
to do) and on machine02 with its network environment no longer served.
"""
import os

import pytest

from conftest import NEW, OLD, TFTP, kernel_version

NEW_V, OLD_V = kernel_version(NEW), kernel_version(OLD)


@pytest.fixture(scope='module')
def upgrade(fresh_lab, tmp_path_factory):
    lab = fresh_lab
    faults = tmp_path_factory.mktemp('faults') / 'faults.yml'
    faults.write_text('all:\n  hosts:\n    machine02:\n      kernel_upgrade_inject_fault: corrupt_initramfs\n')
    before = {h: lab.state(h) for h in ('machine01', 'machine02')}
    run = lab.playbook('kernel_upgrade.yml', '-l', 'machine01,machine02', '-i', str(faults), '-e', 'kernel_upgrade_serial=2',
                       '-e', 'kernel_upgrade_package=%s' % NEW)
    after = {h: lab.state(h) for h in ('machine01', 'machine02')}
    return lab, run, before, after


def test_upgrade_commits_the_new_kernel(upgrade):
    lab, run, before, after = upgrade
    assert run.stats('machine01')['failures'] == 0, run.failure('machine01')
    assert before['machine01']['uname_r'] == OLD_V
    assert after['machine01']['uname_r'] == NEW_V
    assert 'vmlinuz-%s' % NEW_V in after['machine01']['cmdline']
    env = after['machine01']['grubenv']
    assert NEW_V in env['saved_entry']
    assert not env.get('next_entry')
    assert 'poscloud_trial_entry' not in env and 'poscloud_known_good' not in env
    # both kernels stay installed: the new one and the known-good one
    assert 'vmlinuz-%s' % OLD_V in after['machine01']['boot']


def test_evidence_shows_every_step(upgrade):
    lab, run, before, after = upgrade
    record = lab.report('machine01')
    assert record['outcome'] == 'committed'
    states = {s['label']: s for s in record['states']}
    assert states['before']['uname_r'] == OLD_V
    assert states['network environment']['environment'] == 'netboot'
    assert 'poscloud.netboot=' in states['network environment']['cmdline']
    assert 'poscloud.machine=machine01' in states['network environment']['cmdline']
    assert states['after the trial boot']['uname_r'] == NEW_V
    assert 'vmlinuz-%s' % NEW_V in states['committed']['cmdline']
    steps = [s['step'] for s in record['steps']]
    assert steps == ['pre-checks', 'reboot request', 'one-time boot into the network environment',
                     'network environment', 'install from the network environment', 'trial boot',
                     'health check', 'commit', "build server's copy"]
    health = record['health']
    assert health['build_server_ok'] and health['services_ok'] and int(health['stress_rc']) == 0
    assert os.path.exists(record['server_copy']['snapshot'])
    assert any('vmlinuz-%s' % NEW_V in f for f in record['server_copy']['boot_files'])
    assert os.path.exists(os.path.join(lab.root, 'reports', 'machine01',
                                       'kernel-upgrade-%s.md' % record['started'].replace(':', '')))


def test_broken_kernel_falls_back_by_itself(upgrade):
    lab, run, before, after = upgrade
    assert run.rc != 0
    assert run.stats('machine02')['failures'] == 1
    message = run.failure('machine02')
    assert 'Kernel panic' in message or 'Unable to mount root' in message, message
    assert 'known-good kernel %s' % OLD_V in message
    state = after['machine02']
    assert state['uname_r'] == OLD_V
    assert 'vmlinuz-%s' % OLD_V in state['cmdline']
    assert state['boot_id'] != before['machine02']['boot_id']
    env = state['grubenv']
    assert OLD_V in env['saved_entry'] and not env.get('next_entry')
    assert 'poscloud_trial_entry' not in env
    record = lab.report('machine02')
    assert record['outcome'] == 'failed'
    trial = [b for b in record['boots'] if b['boot'] == 'trial of the new kernel'][0]
    assert trial['outcome'] == 'up_after_reset'
    assert trial['events'][0]['reason'] == 'panic'
    assert trial['panic_lines']


def test_second_run_changes_nothing_and_does_not_reboot(upgrade):
    lab, run, before, after = upgrade
    first = lab.state('machine01')
    again = lab.playbook('kernel_upgrade.yml', '-l', 'machine01', '-e', 'kernel_upgrade_package=%s' % NEW)
    assert again.rc == 0, again.failure('machine01')
    assert again.stats('machine01')['changed'] == 0
    assert lab.state('machine01')['boot_id'] == first['boot_id']
    assert not any(name.startswith('Reboot') for name in again.task_names('machine01'))


def test_unreachable_network_environment_leaves_the_default(upgrade):
    # The build server stops serving machine02's maintenance environment: its TFTP folder is moved
    # away while the VM runs (qemu serves the folder by its path), so the one-time network boot
    # finds nothing to load. The same fault as the boot service being down
    # (boot_lab_netboot=false), without two restarts of the VM.
    lab, run, before, after = upgrade
    served = os.path.join(TFTP, 'machine02')
    assert os.path.isfile(os.path.join(served, 'netboot.ipxe')), 'the lab serves no environment to machine02'
    start = lab.state('machine02')
    os.rename(served, served + '.away')
    try:
        failed = lab.playbook('kernel_upgrade.yml', '-l', 'machine02', '-e', 'kernel_upgrade_package=%s' % NEW,
                              '-e', 'kernel_upgrade_netboot_timeout=90')
        end = lab.state('machine02')
    finally:
        os.rename(served + '.away', served)
    assert failed.rc != 0
    message = failed.failure('machine02')
    assert 'did not reach the network maintenance environment' in message, message
    # iPXE, chained from GRUB, waits when it finds nothing to boot: the watchdog resets the machine.
    assert 'the watchdog reset it' in message, message
    assert end['uname_r'] == OLD_V == start['uname_r']
    assert end['boot_id'] != start['boot_id']
    assert end['grubenv'].get('saved_entry') == start['grubenv'].get('saved_entry')
    assert not end['grubenv'].get('next_entry')
    assert end['boot'] == start['boot']


def test_build_server_copy_boots_the_new_kernel(upgrade):
    lab, run, before, after = upgrade
    reimaged = lab.playbook('boot_lab.yml', '-l', 'machine01', '-e', 'boot_lab_state=reimaged')
    assert reimaged.rc == 0
    # The copy kept the machine's network environment entry (/etc/grub.d and its grub.cfg): the
    # machine imaged from it needs no new entry and no update-grub.
    entry = [r for name, r in reimaged.results('machine01')
             if name.endswith('Install the GRUB entry that boots the network environment')]
    assert entry and not entry[0].get('changed'), entry
    assert not any('Regenerate grub.cfg' in name for name in reimaged.task_names('machine01'))
    state = lab.state('machine01')
    assert state['uname_r'] == NEW_V
    assert NEW_V in state['grubenv']['saved_entry']


def test_ssh_driver_health_gate_failure_returns_to_known_good(upgrade):
    # machine01 (running the new kernel, the old one still installed) with the production driver:
    # reboots over SSH and ansible.builtin.reboot, no serial console, no QMP. The trial kernel (the
    # old one, as a stand-in for any other) boots fine but its health gate fails (a fault injected
    # after the checks ran), so the machine goes back to its known-good kernel.
    lab, run, before, after = upgrade
    start = lab.state('machine01')
    assert start['uname_r'] == NEW_V
    failed = lab.playbook('kernel_upgrade.yml', '-l', 'machine01', '-e', 'kernel_upgrade_package=%s' % OLD,
                          '-e', 'machine_power_driver=ssh', '-e', 'kernel_upgrade_inject_fault=fail_health')
    end = lab.state('machine01')
    assert failed.rc != 0
    message = failed.failure('machine01')
    assert 'failed its health check' in message and 'fault injected' in message, message
    assert 'known-good kernel %s' % NEW_V in message, message
    assert end['uname_r'] == NEW_V
    assert end['boot_id'] != start['boot_id']
    assert NEW_V in end['grubenv']['saved_entry'] and not end['grubenv'].get('next_entry')
    assert 'poscloud_trial_entry' not in end['grubenv']
    record = lab.report('machine01')
    assert record['outcome'] == 'failed'
    boots = {b['boot']: b for b in record['boots']}
    assert boots['trial of the new kernel']['kernel'] == OLD_V
    assert boots['fallback after a failed health check']['kernel'] == NEW_V
    # the ssh driver: every boot came back by itself, and nothing was read from a serial console
    assert all(b['outcome'] == 'up' and not b['console_tail'] and not b['panic_lines'] for b in record['boots'])
    names = failed.task_names('machine01')
    assert not any('serial console' in n.lower() for n in names), names
