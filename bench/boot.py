"""Boot lab benchmark: how long the machine image takes to build, each boot takes, and a whole
kernel upgrade takes, on this machine (qemu TCG unless BOOT_LAB_ACCEL=kvm).

Figures, each beside what it is compared with:
  1. master image build from scratch (debootstrap with a warm package cache, GRUB, mke2fs -d,
     qcow2) against the same role finding the master by its input hash (cached);
  2. a machine copy and its imaging (qcow2 overlays) against a full copy of the master;
  3. each boot: the machine's own kernel from disk, the network maintenance environment (GRUB ->
     iPXE -> TFTP), the trial of the new kernel; from the serial console watchdog;
  4. the whole kernel upgrade against the sum of its boots (the rest is Ansible, the install and the
     health gate).
Not a test: a slow machine does not fail. Leaves machine01 upgraded and the lab up.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, '.venv', 'bin')
ENV = dict(os.environ, PATH=BIN + os.pathsep + os.environ['PATH'], ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
ACCEL = os.environ.get('BOOT_LAB_ACCEL', 'tcg')
NEW = 'linux-image-6.1.0-56-cloud-amd64'


def run(cmd, **kw):
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False, **kw)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit('failed: %s' % ' '.join(cmd))
    return time.time() - start, proc.stdout


def playbook(name, *args):
    return run([os.path.join(BIN, 'ansible-playbook'), '-i', 'inventories/lab', 'playbooks/' + name] + list(args))


def main():
    rows = []
    # 1. master build from scratch, into a scratch folder (the lab's cached master is not touched)
    inputs = json.load(open(sorted(
        (os.path.join(d, 'inputs.json') for d in
         (os.path.join('/var/lib/poscloud-fleet/boot-lab/master', h) for h in os.listdir('/var/lib/poscloud-fleet/boot-lab/master'))
         if os.path.exists(os.path.join(d, 'inputs.json'))), key=os.path.getmtime)[-1]))
    out = tempfile.mkdtemp(prefix='bench-master.', dir='/var/tmp')
    env = dict(DI_OUT=out, DI_MIRROR=inputs['mirror'], DI_SUITE=inputs['suite'], DI_KERNEL=inputs['kernel'],
               DI_PACKAGES=' '.join(inputs['packages']), DI_CACHE='/var/cache/poscloud-fleet/debs',
               DI_SIZE_MIB=str(inputs['size_mib']), DI_ROOT_UUID=inputs['root_uuid'],
               DI_WORK='/var/tmp/poscloud-fleet/boot-lab', DI_CMDLINE=inputs['cmdline'])
    start = time.time()
    subprocess.run([os.path.join(ROOT, 'roles/disk_image/files/build-master.sh')], env=dict(ENV, **env), check=True,
                   capture_output=True)
    cold = time.time() - start
    size = os.path.getsize(os.path.join(out, 'master.qcow2'))
    subprocess.run(['rm', '-rf', out], check=True)
    # cached: the whole bring-up with the master found by hash, copies remade, both VMs booted
    up, text = playbook('boot_lab.yml', '-e', 'boot_lab_state=reimaged', '-e', 'disk_image_reset_copies=true',
                        '-e', 'boot_lab_accel=' + ACCEL)
    rows.append(('master image build, from scratch (package cache warm)', cold, 'qcow2 %.0f MiB' % (size / 2 ** 20)))
    boots = [float(x.split('(')[1].split('s to')[0]) for x in text.splitlines() if 's to answer)' in x]
    rows.append(('lab bring-up, master cached: 2 copies, imaging, 2 boots', up, 'vs. build from scratch %.0fs' % cold))
    for i, b in enumerate(boots):
        rows.append(('wait for SSH after start, machine0%d (%s)' % (i + 1, ACCEL), b,
                     'the VMs boot side by side; machine02 is waited for after machine01'))
    # the whole upgrade
    total, dummy = playbook('kernel_upgrade.yml', '-l', 'machine01', '-e', 'kernel_upgrade_package=' + NEW)
    record = json.load(open(os.path.join(ROOT, 'reports', 'machine01', 'kernel-upgrade-latest.json')))
    boot_sum = 0.0
    for b in record['boots']:
        rows.append(('reboot into %s, to SSH' % b['boot'], b['seconds'], 'watchdog outcome %s' % b['outcome']))
        boot_sum += b['seconds']
    rows.append(('whole kernel upgrade (kernel_upgrade.yml, 1 machine)', total,
                 'of which reboots %.0fs, the rest Ansible, install and health gate' % boot_sum))
    noop, dummy = playbook('kernel_upgrade.yml', '-l', 'machine01', '-e', 'kernel_upgrade_package=' + NEW)
    rows.append(('second run, nothing to do', noop, 'vs. whole upgrade %.0fs' % total))
    print('boot lab benchmark (%s, %d CPUs)' % (ACCEL, os.cpu_count()))
    for name, seconds, comparison in rows:
        print('%-62s %7.1fs   %s' % (name, seconds, comparison))


if __name__ == '__main__':
    main()
