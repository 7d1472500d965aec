"""What the machine runs, read on the machine after it boots its image; prints one JSON object.

    verify.py 'WANTED'     WANTED: JSON, {"root_disk", "root_uuid", "disks": [{"mount", "uuid"}],
                           "users": [{"name", "ssh_keys", "sudo"}], "services": [name]}

Reads the root file system's device and UUID, the kernel and its command line, /etc/fstab, what is
mounted on each data disk's mount point, each user's authorized keys and sudo rights as sudo lists
them, and the services' states; then judges them against WANTED ("checks", "passed"). Reads only.
Runs on Python 3.5+.
"""
import json
import re
import subprocess
import sys


def out(argv):
    res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    return res.returncode, res.stdout


def sudo_rights(listing):
    """The commands of `sudo -l -U USER`, as written in the sudoers rule (None: no sudo at all)."""
    if 'is not allowed to run sudo' in listing:
        return None
    rights = []
    started = False
    for line in listing.splitlines():
        if re.search(r'may run the following commands', line):
            started = True
            continue
        m = re.match(r'^\s+\(([^)]*)\)\s+(?:NOPASSWD:\s*)?(.*)$', line)
        if started and m:
            rights.extend({'runas': m.group(1).replace(' ', ''), 'command': c.strip()}
                          for c in m.group(2).split(', ') if c.strip())
    return rights


def wanted_sudo(sudo):
    if not sudo:
        return None
    if sudo == 'ALL' or sudo == ['ALL']:
        return [{'runas': 'ALL:ALL', 'command': 'ALL'}]
    return [{'runas': 'root', 'command': c} for c in sudo]


def judge(wanted, seen):
    """Each test by name: True when the machine is as its inventory entry says."""
    fstab = set()
    for line in seen['fstab']:
        fields = line.split()
        if len(fields) >= 2 and fields[0].startswith('UUID='):
            fstab.add((fields[0][5:], fields[1]))
    checks = {
        'root from its own disk': (len(seen['root']) == 2 and seen['root'][0].startswith(wanted['root_disk'])
                                   and seen['root'][1] == wanted['root_uuid']
                                   and 'root=UUID=%s' % wanted['root_uuid'] in seen['cmdline']),
        'fstab lists every disk by UUID': fstab == set([(wanted['root_uuid'], '/')] + [(d['uuid'], d['mount']) for d in wanted['disks']]),
        'data disks mounted': all(seen['mounts'].get(d['mount'], [None, None])[-1:] == [d['uuid']] for d in wanted['disks']),
        'services active': all(state == 'active' for state in seen['services'].values()),
    }
    for user in wanted['users']:
        got = seen['users'][user['name']]
        checks['user %s: keys' % user['name']] = got['exists'] and sorted(got['authorized_keys']) == sorted(
            k.strip() for k in user.get('ssh_keys', []))
        want = wanted_sudo(user.get('sudo'))
        checks['user %s: sudo rights' % user['name']] = (
            got['sudo'] == want if want is None or got['sudo'] is None
            else sorted(got['sudo'], key=json.dumps) == sorted(want, key=json.dumps))
    return checks


def read(wanted):
    with open('/proc/cmdline') as f:
        cmdline = f.read().strip()
    with open('/etc/fstab') as f:
        fstab = [l for l in f.read().splitlines() if l.strip() and not l.startswith('#')]
    root = out(['findmnt', '-n', '-o', 'SOURCE,UUID', '/'])[1].split()
    mounts = {}
    for d in wanted['disks']:
        rc, text = out(['findmnt', '-n', '-o', 'SOURCE,UUID', '--mountpoint', d['mount']])
        mounts[d['mount']] = text.split() if rc == 0 else []
    users = {}
    for user in wanted['users']:
        name = user['name']
        rc, pw = out(['getent', 'passwd', name])
        keys = []
        if rc == 0:
            home = pw.strip().split(':')[5]
            try:
                with open('%s/.ssh/authorized_keys' % home) as f:
                    keys = [l.strip() for l in f if l.strip() and not l.startswith('#')]
            except OSError:
                keys = []
        users[name] = {'exists': rc == 0, 'authorized_keys': keys,
                       'sudo': sudo_rights(out(['sudo', '-n', '-l', '-U', name])[1]) if rc == 0 else None}
    services = {s: out(['systemctl', 'is-active', s])[1].strip() for s in wanted['services']}
    return {'root': root, 'cmdline': cmdline, 'kernel': out(['uname', '-r'])[1].strip(),
            'fstab': fstab, 'mounts': mounts, 'users': users, 'services': services}


def main():
    wanted = json.loads(sys.argv[1])
    seen = read(wanted)
    checks = judge(wanted, seen)
    seen.update(checks=checks, passed=all(checks.values()))
    print(json.dumps(seen))


if __name__ == '__main__':
    main()
