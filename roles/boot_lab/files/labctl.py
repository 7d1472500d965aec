# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helper of the boot lab: start, stop and reset qemu VMs, and the watchdog.

Every subcommand prints one JSON object. The watchdog (``watch``) stands in for what a hardware
watchdog or a BMC does in production: it waits for the machine to come back after a reboot,
reads the serial console while it waits, and resets the VM when the console shows a kernel panic
or when the timeout passes; then it waits again (for the fallback boot). Nothing here reaches an
address other than 127.0.0.1.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

PANIC_RE = re.compile(r'Kernel panic - not syncing|end Kernel panic|BUG: unable to handle|'
                      r'Oops: |VFS: Unable to mount root|Unable to mount root fs|'
                      r'Initramfs unpacking failed|No working init found|Attempted to kill init',
                      re.I)
ANSI_RE = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r')


def out(obj, rc=0):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + '\n')
    sys.exit(rc)


def paths(vm_dir):
    return {k: os.path.join(vm_dir, v) for k, v in (
        ('pid', 'qemu.pid'), ('qmp', 'qmp.sock'), ('serial', 'serial.log'), ('cmd', 'qemu.cmdline'))}


def running_pid(vm_dir):
    p = paths(vm_dir)['pid']
    try:
        with open(p) as f:
            pid = int(f.read().strip())
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            cmdline = f.read().split(b'\0')
    except (IOError, OSError, ValueError):
        return None
    if any(b'qemu-system' in c for c in cmdline[:1]) and vm_dir.encode() in b' '.join(cmdline):
        return pid
    return None


def qmp(vm_dir, command, arguments=None, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(paths(vm_dir)['qmp'])
    f = s.makefile('rw')
    json.loads(f.readline())
    f.write(json.dumps({'execute': 'qmp_capabilities'}) + '\n')
    f.flush()
    json.loads(f.readline())
    msg = {'execute': command}
    if arguments:
        msg['arguments'] = arguments
    f.write(json.dumps(msg) + '\n')
    f.flush()
    while True:
        line = f.readline()
        if not line:
            return None
        reply = json.loads(line)
        if 'return' in reply or 'error' in reply:
            s.close()
            return reply


def serial_size(vm_dir):
    try:
        return os.path.getsize(paths(vm_dir)['serial'])
    except OSError:
        return 0


def console_text(vm_dir, since):
    try:
        with open(paths(vm_dir)['serial'], 'rb') as f:
            f.seek(since)
            data = f.read()
    except (IOError, OSError):
        return ''
    return ANSI_RE.sub('', data.decode('utf-8', 'replace'))


def cmd_start(a):
    os.makedirs(a.dir, exist_ok=True)
    p = paths(a.dir)
    pid = running_pid(a.dir)
    if pid:
        out({'changed': False, 'pid': pid, 'msg': 'already running'})
    accel = a.accel
    if accel == 'kvm':
        if not os.access('/dev/kvm', os.R_OK | os.W_OK):
            out({'failed': True, 'msg': 'accel=kvm asked for but /dev/kvm is not usable'}, 1)
    netdev = 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22' % a.port
    if a.tftp:
        netdev += ',tftp=%s,bootfile=%s' % (a.tftp, a.bootfile)
    drives = [a.disk] + [os.path.join(a.dir, extra + '.qcow2') for extra in a.extra_disks.split(',') if extra]
    cmd = ['qemu-system-x86_64', '-name', a.name, '-machine', 'pc,accel=%s' % accel,
           '-m', str(a.memory), '-smp', str(a.cpus)]
    for drive in drives:
        cmd += ['-drive', 'file=%s,if=virtio,format=qcow2,cache=unsafe' % drive]
    cmd += ['-netdev', netdev, '-device', 'virtio-net-pci,netdev=n0,mac=%s' % a.mac,
            '-chardev', 'file,id=ser0,path=%s,append=on' % p['serial'], '-serial', 'chardev:ser0',
            '-qmp', 'unix:%s,server=on,wait=off' % p['qmp'],
            '-display', 'none', '-monitor', 'none', '-daemonize', '-pidfile', p['pid']]
    with open(p['cmd'], 'w') as f:
        f.write(' '.join(cmd) + '\n')
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if res.returncode != 0:
        out({'failed': True, 'msg': 'qemu did not start: %s' % res.stdout.strip(), 'cmd': cmd}, 1)
    out({'changed': True, 'pid': running_pid(a.dir), 'cmd': cmd, 'serial_offset': serial_size(a.dir)})


def cmd_stop(a):
    pid = running_pid(a.dir)
    if not pid:
        out({'changed': False, 'msg': 'not running'})
    try:
        qmp(a.dir, 'quit')
    except (OSError, ValueError):
        os.kill(pid, signal.SIGTERM)
    for dummy in range(100):
        if not running_pid(a.dir):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    out({'changed': True, 'pid': pid})


def cmd_reset(a):
    if not running_pid(a.dir):
        out({'failed': True, 'msg': 'VM is not running'}, 1)
    out({'changed': True, 'reply': qmp(a.dir, 'system_reset'), 'serial_offset': serial_size(a.dir)})


def cmd_status(a):
    pid = running_pid(a.dir)
    out({'changed': False, 'running': bool(pid), 'pid': pid, 'serial_offset': serial_size(a.dir)})


def probe(a):
    """boot_id, kernel, command line and netboot marker over SSH, or None when not reachable."""
    script = ('cat /proc/sys/kernel/random/boot_id; uname -r; cat /proc/cmdline; '
              'cat /etc/poscloud-netboot 2>/dev/null || true')
    cmd = ['ssh', '-i', a.key, '-p', str(a.port), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5',
           '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
           '%s@127.0.0.1' % a.user, script]
    try:
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return None
    lines = res.stdout.splitlines()
    if res.returncode != 0 or len(lines) < 3:
        return None
    marker = dict(l.split('=', 1) for l in lines[3:] if '=' in l)
    return {'boot_id': lines[0].strip(), 'kernel': lines[1].strip(), 'cmdline': lines[2].strip(),
            'netboot': marker or None}


def cmd_watch(a):
    since = a.since if a.since is not None else serial_size(a.dir)
    start = time.time()
    events = []
    resets = 0
    deadline = start + a.timeout
    phase_start = since
    panic_seen = None
    while True:
        now = time.time()
        text = console_text(a.dir, phase_start)
        m = PANIC_RE.search(text)
        if m and resets == 0 and panic_seen is None:
            panic_seen = m.group(0)
        state = probe(a) if a.old_boot_id is not None else None
        if state and state['boot_id'] != a.old_boot_id:
            break
        reset_now = None
        if resets < a.resets:
            if m and a.reset_on_panic:
                reset_now = 'panic'
            elif now > deadline:
                reset_now = 'timeout'
        if reset_now:
            before = [l for l in text.splitlines() if l.strip()]
            events.append({'at': round(now - start, 1), 'event': 'reset', 'reason': reset_now,
                           'detail': m.group(0) if m else 'no answer within %ds' % a.timeout,
                           'console_before': before[-a.tail:]})
            if running_pid(a.dir):
                qmp(a.dir, 'system_reset')
            resets += 1
            phase_start = serial_size(a.dir)
            deadline = time.time() + a.reset_timeout
            continue
        if now > deadline:
            state = None
            break
        time.sleep(a.interval)
    console = console_text(a.dir, since)
    lines = [l for l in console.splitlines() if l.strip()]
    panic_lines = [l for l in lines if PANIC_RE.search(l)]
    out({
        'changed': resets > 0,
        'outcome': ('up' if resets == 0 else 'up_after_reset') if state else 'down',
        'state': state,
        'resets': resets,
        'events': events,
        'elapsed': round(time.time() - start, 1),
        'panic': panic_seen,
        'panic_lines': panic_lines[:20],
        'console_tail': lines[-a.tail:],
        'serial_from': since,
        'serial_to': serial_size(a.dir),
    })


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest='command', required=True)
    s = sub.add_parser('start')
    s.add_argument('--dir', required=True)
    s.add_argument('--name', required=True)
    s.add_argument('--disk', required=True)
    s.add_argument('--port', type=int, required=True)
    s.add_argument('--mac', required=True)
    s.add_argument('--memory', type=int, default=1024)
    s.add_argument('--cpus', type=int, default=1)
    s.add_argument('--accel', choices=['tcg', 'kvm'], default='tcg')
    s.add_argument('--tftp', default='')
    s.add_argument('--bootfile', default='netboot.ipxe')
    s.add_argument('--extra-disks', default='',
                   help='further disks, comma-separated names of DIR/NAME.qcow2, after the boot disk: /dev/vdb, ...')
    for name in ('stop', 'reset', 'status'):
        sub.add_parser(name).add_argument('--dir', required=True)
    w = sub.add_parser('watch')
    w.add_argument('--dir', required=True)
    w.add_argument('--port', type=int, required=True)
    w.add_argument('--key', required=True)
    w.add_argument('--user', default='root')
    w.add_argument('--old-boot-id', default='')
    w.add_argument('--since', type=int)
    w.add_argument('--timeout', type=int, default=180)
    w.add_argument('--reset-timeout', type=int, default=180)
    w.add_argument('--resets', type=int, default=1)
    w.add_argument('--no-reset-on-panic', dest='reset_on_panic', action='store_false')
    w.add_argument('--interval', type=float, default=3)
    w.add_argument('--tail', type=int, default=40)
    a = ap.parse_args()
    {'start': cmd_start, 'stop': cmd_stop, 'reset': cmd_reset, 'status': cmd_status, 'watch': cmd_watch}[a.command](a)


if __name__ == '__main__':
    main()
