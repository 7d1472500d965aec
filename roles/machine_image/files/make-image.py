"""Make one machine's disk image on the build server; prints one JSON object.

    make-image.py SPEC.json

The image is the master (disk_image) with what belongs to this machine written into its root file
system: hostname, hosts, network (systemd-networkd, matched by MAC), machine id and SSH host keys
(both kept per machine in SPEC.keys_dir, so a rebuilt image keeps them), root's authorized keys,
the users with their keys and sudo rules, /etc/fstab with the root and every data disk by UUID,
per-machine files and packages, the kernel command line and the GRUB entry of the network
maintenance environment (grub.cfg made again by Debian's grub-mkconfig), and the marker
/etc/poscloud-image. It is written as zstd-compressed raw disk to SPEC.out_dir/<sha256>.img.zst,
where <sha256> is the digest of the raw disk, with a manifest of /usr, /etc and /boot beside it
(<sha256>.manifest: manifest.py's format) and its digest.

Nothing is left behind on failure: the work folder is removed, the loop device detached, and the
output appears only complete (renamed into place).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PART_OFFSET = 2048 * 512
NETBOOT_ENTRY = '/etc/grub.d/42_poscloud_netboot'

FAKE_PROBE = """#!/bin/sh
for a in "$@"; do case "$a" in --target=*) t=${a#--target=};; esac; done
case "$t" in
  device) echo /dev/vda1;; fs) echo ext2;; fs_uuid) echo %(uuid)s;; partmap) echo msdos;;
  abstraction) echo;; drive) echo '(hd0,msdos1)';; compatibility_hint) echo 'hd0,msdos1';;
  hints_string) echo '--hint-bios=hd0,msdos1 --hint=hd0,msdos1';; partuuid) echo;; disk) echo /dev/vda;;
  *) echo "grub-probe stand-in: unknown target $t" >&2; exit 1;;
esac
"""


def run(argv, **kw):
    res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         check=False, **kw)
    if res.returncode != 0:
        raise RuntimeError('%s failed (rc %d): %s' % (' '.join(argv), res.returncode, (res.stderr or res.stdout).strip()[-800:]))
    return res.stdout


def write(path, text, mode=0o644):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


def machine_keys(keys_dir, hostname):
    """The machine's SSH host keys and machine id, made once and kept."""
    os.makedirs(keys_dir, mode=0o700, exist_ok=True)
    for kind in ('ed25519', 'rsa'):
        key = os.path.join(keys_dir, 'ssh_host_%s_key' % kind)
        if not os.path.exists(key):
            run(['ssh-keygen', '-q', '-t', kind, '-N', '', '-C', 'root@%s' % hostname, '-f', key])
    mid = os.path.join(keys_dir, 'machine-id')
    if not os.path.exists(mid):
        write(mid, os.urandom(16).hex() + '\n', 0o600)


def sudo_line(user):
    sudo = user.get('sudo') or []
    if sudo == 'ALL' or sudo == ['ALL']:
        return '%s ALL=(ALL:ALL) NOPASSWD: ALL\n' % user['name']
    return '%s ALL=(root) NOPASSWD: %s\n' % (user['name'], ', '.join(sudo))


def add_users(root, users):
    for user in users:
        name = user['name']
        argv = ['useradd', '--root', root, '--create-home', '--shell', user.get('shell') or '/bin/bash',
                '--password', '*']
        if user.get('groups'):
            argv += ['--groups', ','.join(user['groups'])]
        run(argv + [name])
        home = os.path.join(root, 'home', name)
        ssh = os.path.join(home, '.ssh')
        os.makedirs(ssh, mode=0o700, exist_ok=True)
        write(os.path.join(ssh, 'authorized_keys'), ''.join(k.strip() + '\n' for k in user.get('ssh_keys', [])), 0o600)
        run(['chroot', root, 'chown', '-R', '%s:' % name, '/home/%s' % name])
        if user.get('sudo'):
            path = os.path.join(root, 'etc', 'sudoers.d', 'poscloud-%s' % name)
            if not os.path.exists(os.path.join(root, 'usr', 'bin', 'sudo')):
                raise RuntimeError('user %s has sudo rules but the master image has no sudo: add sudo to '
                                   'disk_image_packages' % name)
            write(path, '# %s, written by poscloud.fleet machine_image\n' % name + sudo_line(user), 0o440)
            run(['chroot', root, 'visudo', '-c', '-q', '-f', '/etc/sudoers.d/poscloud-%s' % name])


def write_fstab(root, root_uuid, disks):
    lines = ['# written by poscloud.fleet machine_image: the root and each data disk by UUID\n',
             'UUID=%s / ext4 errors=remount-ro 0 1\n' % root_uuid]
    for d in disks:
        lines.append('UUID=%s %s %s %s 0 2\n' % (d['uuid'], d['mount'], d['fstype'], d.get('options') or 'defaults'))
        os.makedirs(os.path.join(root, d['mount'].lstrip('/')), mode=0o755, exist_ok=True)
    write(os.path.join(root, 'etc', 'fstab'), ''.join(lines))


def grub(root, spec):
    """The kernel command line and the network environment's entry, then grub.cfg afresh."""
    default = os.path.join(root, 'etc', 'default', 'grub')
    with open(default) as f:
        lines = [l for l in f.read().splitlines() if not l.startswith('GRUB_CMDLINE_LINUX=')]
    lines.append('GRUB_CMDLINE_LINUX="%s"' % spec['cmdline'].replace('"', ''))
    write(default, '\n'.join(lines) + '\n')
    if spec.get('netboot_entry'):
        write(os.path.join(root, NETBOOT_ENTRY.lstrip('/')), spec['netboot_entry'], 0o755)
    probe = os.path.join(root, 'usr', 'sbin', 'grub-probe')
    os.rename(probe, probe + '.real')
    mounted = []
    try:
        write(probe, FAKE_PROBE % {'uuid': spec['root_uuid']}, 0o755)
        for m in ('proc', 'sys'):
            run(['mount', '--bind', '/' + m, os.path.join(root, m)])
            mounted.append(os.path.join(root, m))
        # A /dev of its own, where the root's UUID names a device: Debian's 10_linux writes
        # root=UUID=... only when /dev/disk/by-uuid/<uuid> exists, and root=/dev/vda1 otherwise,
        # which names the wrong disk on a machine whose disks enumerate in another order.
        dev = os.path.join(root, 'dev')
        run(['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', dev])
        mounted.append(dev)
        for name, minor in (('null', 3), ('zero', 5), ('random', 8), ('urandom', 9)):
            run(['mknod', '-m', '0666', os.path.join(dev, name), 'c', '1', str(minor)])
        os.makedirs(os.path.join(dev, 'disk', 'by-uuid'))
        write(os.path.join(dev, 'disk', 'by-uuid', spec['root_uuid']), '')
        run(['chroot', root, 'grub-mkconfig', '-o', '/boot/grub/grub.cfg'])
    finally:
        for m in reversed(mounted):
            subprocess.run(['umount', '-l', m], check=False)
        os.replace(probe + '.real', probe)
    with open(os.path.join(root, 'boot', 'grub', 'grub.cfg')) as f:
        cfg = f.read()
    if spec.get('netboot_entry') and 'poscloud-netboot' not in cfg:
        raise RuntimeError('grub.cfg has no network environment entry after grub-mkconfig')
    if 'root=UUID=%s' % spec['root_uuid'] not in cfg:
        raise RuntimeError('grub.cfg does not name the root by its UUID after grub-mkconfig')


def customise(root, spec, work):
    name = spec['hostname']
    net = spec['network']
    write(os.path.join(root, 'etc', 'hostname'), name + '\n')
    write(os.path.join(root, 'etc', 'hosts'),
          '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' % name)
    netdir = os.path.join(root, 'etc', 'systemd', 'network')
    for old in os.listdir(netdir):
        if old.endswith('.network'):
            os.unlink(os.path.join(netdir, old))
    write(os.path.join(netdir, '10-%s.network' % name),
          '# %s, written by poscloud.fleet machine_image\n[Match]\nMACAddress=%s\n\n[Network]\nAddress=%s\n'
          'Gateway=%s\n%s' % (name, net['mac'], net['address'], net['gateway'],
                              ''.join('DNS=%s\n' % d for d in net.get('dns', []))))
    keys = spec['keys_dir']
    machine_keys(keys, name)
    shutil.copyfile(os.path.join(keys, 'machine-id'), os.path.join(root, 'etc', 'machine-id'))
    for old in os.listdir(os.path.join(root, 'etc', 'ssh')):
        if old.startswith('ssh_host_'):
            os.unlink(os.path.join(root, 'etc', 'ssh', old))
    for kind in ('ed25519', 'rsa'):
        for suffix, mode in (('', 0o600), ('.pub', 0o644)):
            dst = os.path.join(root, 'etc', 'ssh', 'ssh_host_%s_key%s' % (kind, suffix))
            shutil.copyfile(os.path.join(keys, 'ssh_host_%s_key%s' % (kind, suffix)), dst)
            os.chmod(dst, mode)
    os.makedirs(os.path.join(root, 'root', '.ssh'), mode=0o700, exist_ok=True)
    write(os.path.join(root, 'root', '.ssh', 'authorized_keys'), ''.join(k.strip() + '\n' for k in spec['root_keys']), 0o600)
    add_users(root, spec.get('users', []))
    write_fstab(root, spec['root_uuid'], spec.get('disks', []))
    for item in spec.get('files', []):
        dst = os.path.join(root, item['dest'].lstrip('/'))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(item['src'], dst)
        os.chmod(dst, int(str(item.get('mode') or '0644'), 8))
    debs = spec.get('debs', [])
    if debs:
        inside = os.path.join(root, 'var', 'tmp', 'poscloud-debs')
        os.makedirs(inside)
        for deb in debs:
            shutil.copy(deb, inside)
        try:
            run(['chroot', root, 'sh', '-c', 'dpkg -i /var/tmp/poscloud-debs/*.deb'])
        finally:
            shutil.rmtree(inside)
    grub(root, spec)
    write(os.path.join(root, 'etc', 'poscloud-image'),
          json.dumps({'machine': name, 'image_id': spec['image_id'], 'master': spec['master_hash']},
                     sort_keys=True) + '\n')


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    os.makedirs(spec['work'], exist_ok=True)
    os.makedirs(spec['out_dir'], exist_ok=True)
    work = tempfile.mkdtemp(prefix='image.', dir=spec['work'])
    mnt = os.path.join(work, 'mnt')
    os.mkdir(mnt)
    raw = os.path.join(work, 'disk.raw')
    loop = None
    try:
        run(['qemu-img', 'convert', '-q', '-f', 'qcow2', '-O', 'raw', spec['master_qcow2'], raw])
        loop = run(['losetup', '-o', str(PART_OFFSET), '--show', '-f', raw]).strip()
        run(['mount', loop, mnt])
        try:
            customise(mnt, spec, work)
            manifest = run([sys.executable, os.path.join(HERE, 'manifest.py'), 'list', mnt])
        finally:
            run(['umount', mnt])
        run(['losetup', '-d', loop])
        loop = None
        digest = sha256_file(raw)
        size = os.path.getsize(raw)
        out = os.path.join(spec['out_dir'], digest + '.img.zst')
        run(['zstd', '-q', '-T0', '-3', '-f', raw, '-o', out + '.part'])
        write(os.path.join(spec['out_dir'], digest + '.manifest.part'), manifest)
        os.replace(out + '.part', out)
        os.replace(os.path.join(spec['out_dir'], digest + '.manifest.part'),
                   os.path.join(spec['out_dir'], digest + '.manifest'))
        with open(os.path.join(spec['keys_dir'], 'ssh_host_ed25519_key.pub')) as f:
            host_key = f.read().strip()
        print(json.dumps({'changed': True, 'digest': digest, 'size': size, 'image': out,
                          'compressed_size': os.path.getsize(out),
                          'manifest_digest': hashlib.sha256(manifest.encode()).hexdigest(),
                          'host_key': host_key}))
    except (RuntimeError, OSError, KeyError, ValueError) as e:
        print(json.dumps({'failed': True, 'msg': 'making the image of %s failed: %s' % (spec.get('hostname'), e)}))
        sys.exit(1)
    finally:
        if loop:
            subprocess.run(['umount', mnt], check=False, stderr=subprocess.DEVNULL)
            subprocess.run(['losetup', '-d', loop], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
