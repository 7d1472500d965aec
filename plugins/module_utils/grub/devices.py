# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the environment block lives: whether GRUB can write it there at boot."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# Filesystems GRUB cannot write the block on: no write support or checksummed data.
_NO_WRITE_FS = {
    'btrfs': 'btrfs (GRUB does not write to btrfs; its data is checksummed and copy-on-write)',
    'zfs': 'ZFS (GRUB has no write support for ZFS)',
}
# Not a local disk filesystem GRUB reads the block from at all.
_NOT_DISK_FS = ('nfs', 'nfs4', 'cifs', 'smb3', 'tmpfs', 'ramfs', 'overlay', 'squashfs', '9p',
                'virtiofs', 'aufs', 'fuse', 'fuseblk', 'autofs')
_OK_TYPES = ('disk', 'part', 'mpath')


def parse_findmnt(text):
    """The first line of ``findmnt -n -P -o SOURCE,FSTYPE[,TARGET]`` (pairs) or of
    ``findmnt -no SOURCE,FSTYPE`` (columns) as ``{'source', 'fstype', 'target'}``."""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if '="' in line:
            pairs = dict((k.lower(), _unhex(v)) for k, v in re.findall(r'([A-Z_%-]+)="((?:[^"\\]|\\.)*)"', line))
            return {'source': pairs.get('source', ''), 'fstype': pairs.get('fstype', ''),
                    'target': pairs.get('target')}
        parts = line.split()
        return {'source': parts[0], 'fstype': parts[1] if len(parts) > 1 else '',
                'target': parts[2] if len(parts) > 2 else None}
    return None


def _unhex(value):
    return re.sub(r'\\x([0-9a-fA-F]{2})', lambda m: chr(int(m.group(1), 16)), value)


def _unoctal(value):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), value)


def mount_for_path(mounts_text, path):
    """The mount of /proc/mounts text that holds the absolute, resolved ``path``:
    ``{'source', 'fstype', 'target'}`` or None. The longest mount point wins, a later line over an
    earlier one for the same mount point (it is mounted on top)."""
    best = None
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        source, target, fstype = _unoctal(fields[0]), _unoctal(fields[1]), fields[2]
        inside = path == target or target == '/' or path.startswith(target.rstrip('/') + '/')
        if inside and (best is None or len(target) >= len(best['target'])):
            best = {'source': source, 'fstype': fstype, 'target': target}
    return best


def parse_lsblk(text):
    """Flatten ``lsblk -J -s -o NAME,KNAME,PATH,TYPE,FSTYPE DEVICE`` into a list of devices, the
    device first and then what it is built on (``-s`` prints dependencies as children)."""
    data = json.loads(text)
    devices = []

    def visit(node):
        devices.append({
            'name': node.get('name'),
            'kname': node.get('kname'),
            'path': node.get('path'),
            'type': (node.get('type') or '').lower(),
            'fstype': node.get('fstype'),
        })
        for child in node.get('children') or []:
            visit(child)

    for node in data.get('blockdevices') or []:
        visit(node)
    return devices


def dm_type_from_uuid(uuid):
    """lsblk's TYPE for a device-mapper device from /sys/block/dm-N/dm/uuid."""
    uuid = (uuid or '').strip()
    for prefix, kind in (('LVM-', 'lvm'), ('CRYPT-', 'crypt'), ('mpath-', 'mpath'), ('part', 'part')):
        if uuid.startswith(prefix):
            return kind
    return 'dm'


def assess_env_location(source, fstype, devices=None, path=None):
    """Can GRUB write an environment block on this filesystem and device stack at boot?

    ``source`` and ``fstype`` come from findmnt or /proc/mounts, ``devices`` from parse_lsblk()
    (or the same shape built from /sys). Returns ``{'writable', 'reasons', 'message', 'source',
    'fstype', 'devices'}``; ``reasons`` names each obstacle.
    """
    source = source or ''
    fstype = (fstype or '').lower()
    devices = list(devices or [])
    reasons = []
    if fstype in _NO_WRITE_FS:
        reasons.append(_NO_WRITE_FS[fstype])
    elif fstype in _NOT_DISK_FS or fstype.startswith('fuse.'):
        reasons.append('%s is not a local disk filesystem GRUB can read or write at boot' % fstype)
    device = re.sub(r'\[.*\]$', '', source)
    seen = set()
    for dev in devices:
        kind = dev.get('type') or ''
        label = dev.get('path') or dev.get('name') or '?'
        if kind == 'lvm':
            why = 'LVM logical volume %s (GRUB reads LVM but cannot write to it)' % label
        elif kind.startswith('raid') or kind == 'md' or kind == 'linear':
            why = 'MD RAID device %s (GRUB reads MD RAID but cannot write to it)' % label
        elif kind == 'crypt':
            why = 'encrypted device %s (GRUB cannot write to LUKS/dm-crypt)' % label
        elif kind == 'dm':
            why = 'device-mapper device %s (GRUB cannot write through device-mapper)' % label
        elif kind == 'loop':
            why = 'loop device %s (backed by a file GRUB does not see)' % label
        elif kind in _OK_TYPES or not kind:
            continue
        else:
            why = 'device %s of type %s, which GRUB is not known to write to' % (label, kind)
        if why not in seen:
            seen.add(why)
            reasons.append(why)
    if not devices and fstype not in _NO_WRITE_FS and fstype != 'zfs':
        if re.match(r'^/dev/md(\d|/|$)', device):
            reasons.append('MD RAID device %s (GRUB reads MD RAID but cannot write to it)' % device)
        elif device.startswith('/dev/mapper/') or re.match(r'^/dev/dm-\d+$', device):
            reasons.append('device-mapper device %s (LVM or similar; GRUB cannot write to it)' % device)
    where = path or 'the environment block'
    if reasons:
        message = (
            'GRUB cannot write %s at boot: it is on %s. GRUB clears next_entry with save_env before '
            'booting the one-time entry; that write fails there, so next_entry is never cleared and '
            'the one-time entry is booted again on every boot (a one-time boot or trial silently '
            'becomes permanent and never falls back). Keep /boot/grub on a plain partition, or set '
            'force=true if you know better.' % (where, '; '.join(reasons)))
    else:
        message = 'GRUB can write %s at boot (%s on %s)' % (where, fstype or 'unknown filesystem', source or 'unknown device')
    return {
        'writable': not reasons,
        'reasons': reasons,
        'message': message,
        'source': source,
        'fstype': fstype,
        'devices': devices,
    }
