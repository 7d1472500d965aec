# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the GRUB modules read from the host: the environment block, grub.cfg, and the mount and
device stack holding the block. Shared by ``grub_boot_target`` and ``grub_boot_target_info``; the
parsing and the decisions stay in the pure modules of this package."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.poscloud.fleet.plugins.module_utils.grub.constants import (
    NEXT_ENTRY, SAVED_ENTRY, GrubError)
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.devices import (
    assess_env_location, dm_type_from_uuid, mount_for_path, parse_findmnt, parse_lsblk)
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.envblock import EnvBlock
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.menu import default_info, parse_grub_cfg
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.trial import trial_state

RECOVERY_SUFFIX = '(recovery mode)'


def read_env(path):
    """The environment block at ``path``, None when there is none; GrubError when it is unreadable
    or corrupt (the message names the file)."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as e:
        raise GrubError('grubenv: cannot read %s: %s' % (path, e))
    try:
        return EnvBlock.parse(data)
    except GrubError as e:
        raise GrubError('grubenv: %s: %s' % (path, e))


def read_menu(path):
    """The menu of the grub.cfg at ``path``, None when the file does not exist; GrubError when it
    cannot be read or parsed."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except (IOError, OSError) as e:
        raise GrubError('cannot read %s: %s' % (path, e))
    return parse_grub_cfg(text)


def boot_info(menu, variables):
    """The menu, the variables and what GRUB boots, as both GRUB modules return them."""
    default, upcoming = default_info(menu, variables)
    return {
        'entries': menu.entries() if menu is not None else [],
        'default': default,
        'next_boot': upcoming,
        'next_entry': variables.get(NEXT_ENTRY),
        'saved_entry': variables.get(SAVED_ENTRY),
        'variables': dict(variables),
        'trial': trial_state(variables),
    }


def kernel_entry(menu, release):
    """The entry that boots kernel ``release`` and keeps naming it after update-grub, described as
    in ``entries``; None when grub.cfg has none.

    That is the first entry of a submenu (Debian's "Advanced options", whose ids carry the kernel
    version) whose kernel is vmlinuz-RELEASE, in /boot or at the top of a separate /boot
    filesystem, and which is not a recovery-mode entry. The top-level entry is never chosen: it
    boots whichever kernel is newest, so it changes meaning when a kernel is installed."""
    if menu is None or not release:
        return None
    wanted = 'vmlinuz-' + release
    for node in menu.walk():
        if node.kind != 'menuentry' or node.parent is None or not node.kernel:
            continue
        if node.kernel not in ('/boot/' + wanted, '/' + wanted):
            continue
        if node.title.rstrip().endswith(RECOVERY_SUFFIX):
            continue
        return menu.describe(node)
    return None


def sys_device_chain(device, sys_root='/sys'):
    """The device and what it is built on, read from /sys, in the shape parse_lsblk() returns."""
    real = os.path.realpath(device)
    queue = [os.path.basename(real)]
    seen = set()
    devices = []
    while queue:
        kname = queue.pop(0)
        if kname in seen:
            continue
        seen.add(kname)
        base = os.path.join(sys_root, 'class', 'block', kname)
        if not os.path.exists(base):
            continue
        if os.path.exists(os.path.join(base, 'dm', 'uuid')):
            with open(os.path.join(base, 'dm', 'uuid')) as f:
                kind = dm_type_from_uuid(f.read())
        elif os.path.isdir(os.path.join(base, 'md')):
            kind = 'raid'
            try:
                with open(os.path.join(base, 'md', 'level')) as f:
                    kind = f.read().strip() or 'raid'
            except (IOError, OSError):
                pass
        elif os.path.exists(os.path.join(base, 'partition')):
            kind = 'part'
        elif kname.startswith('loop'):
            kind = 'loop'
        else:
            kind = 'disk'
        devices.append({'name': kname, 'kname': kname, 'path': '/dev/' + kname, 'type': kind, 'fstype': None})
        slaves = os.path.join(base, 'slaves')
        if os.path.isdir(slaves):
            queue.extend(sorted(os.listdir(slaves)))
        if kind == 'part':
            queue.append(os.path.basename(os.path.dirname(os.path.realpath(base))))
    return devices


def _find_mount(module, directory):
    findmnt = module.get_bin_path('findmnt')
    if findmnt:
        rc, out, dummy = module.run_command([findmnt, '-n', '-P', '-o', 'SOURCE,FSTYPE,TARGET', '-T', directory])
        if rc == 0:
            mount = parse_findmnt(out)
            if mount:
                return mount, 'findmnt'
    try:
        with open('/proc/self/mounts') as f:
            mount = mount_for_path(f.read(), os.path.realpath(directory))
        if mount:
            return mount, 'proc'
    except (IOError, OSError):
        pass
    return None, None


def _device_stack(module, device):
    lsblk = module.get_bin_path('lsblk')
    if lsblk:
        for columns in ('NAME,KNAME,PATH,TYPE,FSTYPE', 'NAME,KNAME,TYPE,FSTYPE'):
            rc, out, dummy = module.run_command([lsblk, '-J', '-s', '-o', columns, device])
            if rc == 0:
                try:
                    devices = parse_lsblk(out)
                except ValueError:
                    devices = []
                if devices:
                    return devices, 'lsblk'
    devices = sys_device_chain(device)
    return devices, ('sys' if devices else None)


def probe_location(module, path):
    """Find the mount and device stack holding the environment block at ``path`` (with findmnt and
    lsblk through ``module``, else /proc and /sys) and assess whether GRUB can write it at boot."""
    directory = os.path.dirname(os.path.abspath(path))
    while directory != '/' and not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    mount, how = _find_mount(module, directory)
    method = [how] if how else []
    devices = []
    if mount:
        device = re.sub(r'\[.*\]$', '', mount['source'])
        if device.startswith('/dev/'):
            devices, how = _device_stack(module, device)
            if how:
                method.append(how)
    if mount is None:
        location = {
            'writable': False, 'source': None, 'fstype': None, 'devices': [],
            'reasons': ['the filesystem holding %s could not be found' % path],
            'message': 'could not find the filesystem holding %s, so it is unknown whether GRUB can '
                       'write it at boot; set force=true to write a one-time entry anyway' % path,
        }
    else:
        location = assess_env_location(mount['source'], mount['fstype'], devices, path)
    location['method'] = '+'.join(method) or 'none'
    return location
