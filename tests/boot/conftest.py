"""Boot tier: the real playbooks against qemu VMs the project builds (see docs/boot-lab.md).

Nothing here is skipped: a machine without qemu fails the tier, as it should.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lablib import BIN, LAB, ROOT, ansible_env, json_output as _json  # noqa: E402,F401 pylint: disable=wrong-import-position,unused-import

KEY = os.path.join(ROOT, '.state', 'lab', 'id_ed25519')
PORTS = {'machine01': 2221, 'machine02': 2222, 'machine03': 2223}
# The machines the kernel and software tiers start (machine03 starts blank in test_new_machine.py).
UPGRADED = ('machine01', 'machine02')
# What the lab's build server serves each machine over TFTP (boot_lab_dir of the boot_lab role).
TFTP = '/var/lib/poscloud-fleet/boot-lab/tftp'
OLD = 'linux-image-6.1.0-50-cloud-amd64'
NEW = 'linux-image-6.1.0-56-cloud-amd64'


# The longest playbook of the tier takes about 10 minutes beside the other tiers; a run past this
# has a boot that hangs (every lab boot wait is 900 s, inventories/lab/group_vars/machines.yml).
PLAYBOOK_SECONDS = 1800
VMS = '/var/lib/poscloud-fleet/boot-lab/vms'


def consoles(lines=15):
    """The last lines of each lab machine's serial console, escape sequences removed."""
    parts = []
    for machine in sorted(PORTS):
        path = os.path.join(VMS, machine, 'serial.log')
        try:
            with open(path, 'rb') as f:
                f.seek(max(0, os.path.getsize(path) - 65536))
                text = f.read().decode('utf-8', 'replace')
        except OSError:
            continue
        text = re.sub(r'\x1b\[[0-9;?]*[A-Za-z]', ' ', text)
        tail = [l.strip() for l in text.splitlines() if l.strip()][-lines:]
        parts.append('--- %s\n%s' % (machine, '\n'.join(tail)))
    return '\n'.join(parts)


def kernel_version(package):
    return package[len('linux-image-'):]


class Run(object):
    def __init__(self, rc, data, seconds):
        self.rc, self.data, self.seconds = rc, data, seconds

    def stats(self, host):
        return self.data['stats'][host]

    def results(self, host):
        for play in self.data['plays']:
            for task in play['tasks']:
                if host in task['hosts']:
                    yield task['task']['name'], task['hosts'][host]

    def failure(self, host):
        """The message of the host's last failed task that was not rescued."""
        msgs = [r.get('msg', '') for name, r in self.results(host) if r.get('failed')]
        return msgs[-1] if msgs else None

    def task_names(self, host):
        return [name for name, r in self.results(host) if not r.get('skipped')]


class Lab(object):
    root = ROOT

    def playbook(self, playbook, *args, **env):
        """Run a playbook of the checkout against the lab; one that outlasts PLAYBOOK_SECONDS is
        stopped and fails the test with the end of each machine's serial console, so that a boot
        that hangs ends the tier with where it stood instead of holding it until CI's limit."""
        cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', LAB, os.path.join(ROOT, 'playbooks', playbook)] + list(args)
        start = time.time()
        log = os.path.join(ROOT, 'tests', 'output', 'boot')
        os.makedirs(log, exist_ok=True)
        log = os.path.join(log, '%s-%d.log' % (playbook, int(start)))
        proc = subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=PLAYBOOK_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            with open(log, 'w') as f:
                f.write(' '.join(cmd) + '\n' + out + err)
            raise AssertionError('%s did not end within %d s (stopped; log %s). Serial consoles:\n%s'
                                 % (playbook, PLAYBOOK_SECONDS, log, consoles()))
        with open(log, 'w') as f:
            f.write(' '.join(cmd) + '\n' + out + err)
        try:
            data = _json(out)
        except ValueError:
            raise AssertionError('no JSON from %s: %s' % (playbook, (out + err)[-3000:]))
        return Run(proc.returncode, data, time.time() - start)

    def ssh(self, host, command):
        cmd = ['ssh', '-i', KEY, '-p', str(PORTS[host]), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10',
               '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
               'root@127.0.0.1', command]
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout

    def state(self, host):
        """uname -r, /proc/cmdline, boot id, GRUB variables and /boot of a machine."""
        out = self.ssh(host, 'uname -r; cat /proc/cmdline; cat /proc/sys/kernel/random/boot_id; '
                             'grub-editenv /boot/grub/grubenv list; echo ---; ls /boot')
        lines = out.splitlines()
        env_lines, boot = lines[3:lines.index('---')], lines[lines.index('---') + 1:]
        return {
            'uname_r': lines[0], 'cmdline': lines[1], 'boot_id': lines[2],
            'grubenv': dict(l.split('=', 1) for l in env_lines if '=' in l),
            'boot': sorted(boot),
        }

    def report(self, host):
        with open(os.path.join(ROOT, 'reports', host, 'kernel-upgrade-latest.json')) as f:
            return json.load(f)


@pytest.fixture(scope='session')
def lab():
    return Lab()


@pytest.fixture(scope='session')
def fresh_lab(lab):
    """Both machines imaged afresh from the build server's copies (built when missing) and up;
    shut down when the tier ends, so no VM outlives it."""
    run = lab.playbook('boot_lab.yml', '-l', 'machine01,machine02', '-e', 'boot_lab_state=reimaged',
                       '-e', 'disk_image_reset_copies=true')
    try:
        assert run.rc == 0, run.data['stats']
        for host in UPGRADED:
            assert lab.state(host)['uname_r'] == kernel_version(OLD)
        yield lab
    finally:
        down = lab.playbook('boot_lab.yml', '-e', 'boot_lab_state=down')
        assert down.rc == 0, down.data['stats']


# The kernel and software tests share machine01 and machine02; the new-machine tests shut those
# down and use machine03 alone, so they run last. Any other module runs after these, in name order.
ORDER = ('test_kernel_upgrade.py', 'test_software_update.py', 'test_new_machine.py')


def pytest_collection_modifyitems(items):
    def rank(item):
        name = os.path.basename(str(item.fspath))
        return ORDER.index(name) if name in ORDER else len(ORDER)
    items.sort(key=rank)    # a stable sort: the tests of a module keep their order
