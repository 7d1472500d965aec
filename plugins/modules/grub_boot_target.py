#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: grub_boot_target
short_description: Choose the GRUB entry to boot once or by default, with a trial-and-fallback contract
version_added: 0.1.0
description:
  - Reads the menu of C(grub.cfg) and the GRUB environment block (C(grubenv)) and sets or clears
    C(next_entry), which GRUB boots once and then clears, or C(saved_entry), which GRUB boots by
    default when C(grub.cfg) was generated with C(GRUB_DEFAULT=saved).
  - A target is given by id, by title or by index, and entries in submenus by a path joined with
    C(>), for example C(1>2), C(Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-26-amd64)
    or the two ids joined with C(>). Forms can be mixed. A component of decimal digits is an index,
    anything else is compared with the ids and titles of that menu level in menu order, as GRUB does.
    A literal C(>) in a title is written C(>>), as GRUB requires. A target naming a submenu, or one
    that matches nothing, fails with the list of available entries.
  - The value stored is canonical. Per menu level it is the entry's id (what GRUB's own
    C(savedefault) stores), else its title, else its index, skipping any form GRUB would read as a
    number (GRUB reads C(2nd kernel) as index 2) or that an earlier entry would match first. Ids of
    Debian's C(grub-mkconfig) carry the kernel version and the root filesystem UUID, so they keep
    naming the same kernel after C(update-grub) while indexes shift. With I(state=present), a value
    already set that GRUB resolves to the same entry is left as it is.
  - I(health) runs a boot-health contract for kernel upgrades. C(arm) makes the next boot, and only
    that one, a trial of I(target) and makes the known-good entry the default; because GRUB clears
    C(next_entry) before it boots the trial, a hang, a panic or any reboot without C(commit) lands on
    the known-good entry. C(commit) makes the trial entry the default once the health gate passed.
    C(rollback) drops the trial and makes the known-good entry the default again, or restores the
    variables given in I(restore) (the C(previous) result of an earlier run).
  - The contract keeps its state in the environment block. C(next_entry) holds the trial entry until
    GRUB boots it. C(saved_entry) holds the known-good entry while the trial runs and the trial entry
    after C(commit). C(poscloud_trial_entry) names the entry under trial and is set only while a
    trial is armed. C(poscloud_known_good) names the entry to fall back to. There is a single attempt
    and no boot counter (C(boot_success), C(boot_counter) and the like are not used), because Debian's
    C(grub.cfg) has no code that would read them.
  - One-time boots (I(mode=once) and I(health=arm)) need GRUB to write the environment block at boot.
    GRUB cannot write on LVM, MD RAID, dm-crypt, btrfs or ZFS; there C(next_entry) is never cleared
    and the one-time entry would be booted on every boot. The module looks at the filesystem and the
    device stack holding I(grubenv) with C(findmnt) and C(lsblk) (or C(/proc/mounts) and C(/sys)) and
    refuses such places unless I(force=true).
  - The environment block is written whole into a temporary file beside I(grubenv) and moved over it
    atomically, exactly 1024 bytes, byte for byte what C(grub-editenv) writes.
author:
  - POS Cloud Fleet team (@poscloud-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Computes and reports the change and the diff without writing the environment block.
  diff_mode:
    support: full
    details: Shows the environment variables before and after, one C(name=value) line each.
  platform:
    platforms: debian
    support: full
    details:
      - Made for the C(grub.cfg) that Debian's C(grub-mkconfig) writes (GRUB 2.06, C(grub-pc) and
        C(grub-efi)). Other GRUB 2 systems work when I(grubenv) and I(grub_cfg) point at their files
        and their C(grub.cfg) consumes C(next_entry) the same way.
      - Run as root on the target; C(findmnt) and C(lsblk) from util-linux are used when present.
options:
  grubenv:
    description:
      - Path of the GRUB environment block. It is created as C(grub-editenv create) does when missing.
    type: path
    default: /boot/grub/grubenv
  grub_cfg:
    description:
      - Path of the GRUB configuration whose menu targets are resolved against.
      - Needed to set targets and for I(health=arm) and I(health=commit); without it the module only
        clears variables and reports them.
    type: path
    default: /boot/grub/grub.cfg
  target:
    description:
      - The menu entry, by id, title, index or a C(>) path through submenus.
      - Required with I(state=present) and I(health=arm). With I(state=absent) the variable is
        only cleared when it points at this entry. With I(health=commit) the commit is refused
        unless this is the armed trial entry.
    type: str
  mode:
    description:
      - Which variable I(state) acts on.
      - C(once) is C(next_entry), booted on the next boot only and cleared by GRUB as it boots it.
      - C(default) is C(saved_entry), booted whenever no one-time entry is pending. It needs a
        C(grub.cfg) generated with C(GRUB_DEFAULT=saved); the module fails otherwise, since GRUB
        would ignore the variable.
      - Ignored with I(health).
    type: str
    choices: [once, default]
    default: once
  state:
    description:
      - C(present) sets the variable of I(mode) to I(target).
      - C(absent) clears it.
      - C(query) changes nothing and only reports the menu, the variables and what GRUB boots next.
      - Must be C(present) when I(health) is used.
    type: str
    choices: [present, absent, query]
    default: present
  health:
    description:
      - Operation of the boot-health contract, instead of I(state) and I(mode).
      - C(arm) arms a one-time trial of I(target) with I(known_good) as the fallback. It does
        nothing when I(target) already is the known-good default.
      - C(commit) makes the armed trial entry the default and ends the trial. It is refused while
        C(next_entry) still holds the trial entry, that is before the trial has been booted. Without
        an armed trial it does nothing.
      - C(rollback) ends the trial and makes the known-good entry the default again, or, with
        I(restore), sets the variables back to the given values. Without an armed trial or
        I(restore) it does nothing.
    type: str
    choices: [arm, commit, rollback]
  known_good:
    description:
      - The entry to fall back to when the trial fails, with I(health=arm). Same forms as I(target).
      - Defaults to the entry GRUB boots by default now. It must not boot the same kernel as the
        trial entry; on Debian the top entry always boots the newest kernel, so after installing a
        new kernel give the old kernel's entry from the Advanced options submenu.
    type: str
  restore:
    description:
      - Variables to set back with I(health=rollback), as the C(previous) result of an earlier run
        returns them. A null value unsets the variable.
      - Only the variables this module sets can be restored, and each value must be null, empty or
        a string that names an entry of I(grub_cfg); anything else (a number, an entry that is gone)
        is refused and nothing is written.
    type: dict
  force:
    description:
      - Write a one-time entry even where GRUB cannot write the environment block at boot (LVM,
        MD RAID, dm-crypt, btrfs, ZFS) or where that could not be determined.
    type: bool
    default: false
  use_grub_editenv:
    description:
      - How the new environment block is made.
      - C(auto) uses C(grub-editenv) (or C(grub2-editenv)) when installed, else the built-in writer.
      - C(always) requires C(grub-editenv).
      - C(never) uses the built-in writer, which produces the same bytes.
      - With C(grub-editenv) the edits are made on a copy beside I(grubenv), checked to hold exactly
        the expected variables, and moved over I(grubenv) atomically.
    type: str
    choices: [auto, always, never]
    default: auto
notes:
  - GRUB boots C(next_entry) only when C(grub.cfg) has the one-time boot code of Debian's
    C(/etc/grub.d/00_header) (C(set default="${next_entry}") followed by C(save_env next_entry)); the
    module fails for I(mode=once) and I(health=arm) when it is missing.
  - A trial needs a fallback GRUB reaches without help. With C(GRUB_DEFAULT=saved) the known-good
    entry is put into C(saved_entry). With a fixed C(GRUB_DEFAULT) arming is refused unless that
    default already is the known-good entry.
  - The size of the block is fixed at 1024 bytes; when the variables do not fit the module fails
    and writes nothing. A block of another size, with a wrong header, a line without C(=) or
    garbage in its padding is reported as corrupt and not touched.
  - GRUB itself matches C(next_entry) and C(saved_entry) against ids and titles; a value that
    matches nothing makes GRUB boot the first entry. The module never writes such a value.
seealso:
  - name: GRUB manual, Environment block
    description: How C(load_env) and C(save_env) use the environment block.
    link: https://www.gnu.org/software/grub/manual/grub/html_node/Environment-block.html
  - name: GRUB manual, default
    description: How GRUB selects the default entry by number, title or id, and C(>) paths.
    link: https://www.gnu.org/software/grub/manual/grub/html_node/default.html
'''

EXAMPLES = r'''
- name: Boot the previous kernel once (from the Advanced options submenu, by title path)
  poscloud.fleet.grub_boot_target:
    target: "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-25-amd64"
    mode: once

- name: Boot the second entry of the first submenu once, by index path
  poscloud.fleet.grub_boot_target:
    target: "1>2"

- name: Make a kernel the default, by id path (needs GRUB_DEFAULT=saved)
  poscloud.fleet.grub_boot_target:
    target: gnulinux-advanced-5e2c9d4a-8b1f-4c3e-9a7d-2f6b0c1e4d58>gnulinux-6.1.0-26-amd64-advanced-5e2c9d4a-8b1f-4c3e-9a7d-2f6b0c1e4d58
    mode: default
  register: switched

- name: Put the default back as it was
  poscloud.fleet.grub_boot_target:
    health: rollback
    restore: "{{ switched.previous }}"

- name: Cancel a pending one-time boot
  poscloud.fleet.grub_boot_target:
    mode: once
    state: absent

- name: List the menu and what GRUB boots next
  poscloud.fleet.grub_boot_target:
    state: query
  register: grub

- name: Show the entries booting a given kernel
  ansible.builtin.debug:
    msg: "{{ grub.entries | selectattr('kernel', 'equalto', '/boot/vmlinuz-' ~ ansible_kernel) | map(attribute='target') }}"

# Kernel upgrade with automatic fallback.
- name: Arm a one-time trial of the new kernel, falling back to the running one
  poscloud.fleet.grub_boot_target:
    health: arm
    target: "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-26-amd64"
    known_good: "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux {{ ansible_kernel }}"
  register: armed

- name: Reboot into the trial
  ansible.builtin.reboot:

- name: Health gate (replace with the real checks)
  ansible.builtin.command: /usr/local/sbin/pos-healthcheck
  register: gate
  changed_when: false
  failed_when: false

- name: Keep the new kernel when healthy and running it
  poscloud.fleet.grub_boot_target:
    health: commit
    target: "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-26-amd64"
  when: gate.rc == 0 and ansible_kernel == '6.1.0-26-amd64'

- name: Otherwise go back to the known-good kernel
  poscloud.fleet.grub_boot_target:
    health: rollback
  when: gate.rc != 0 or ansible_kernel != '6.1.0-26-amd64'

- name: What would a one-time switch change? (nothing is written in check mode)
  poscloud.fleet.grub_boot_target:
    target: "1>2"
  check_mode: true
  diff: true
'''

RETURN = r'''
entries:
  description:
    - Every menu entry and submenu of I(grub_cfg) in menu order. Empty when I(grub_cfg) is missing.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: C(menuentry) or C(submenu).
      type: str
    title:
      description: The entry's title.
      type: str
    id:
      description: The entry's id (C(--id) or C($menuentry_id_option)), null when it has none.
      type: str
    index_path:
      description: Indexes from the top of the menu joined with C(>).
      type: str
      sample: 1>2
    title_path:
      description: Titles joined with C(>), a literal C(>) doubled.
      type: str
    id_path:
      description: Ids joined with C(>), null when an entry on the way has no id.
      type: str
    target:
      description: The canonical value the module would store for this entry, null for submenus.
      type: str
    kernel:
      description: The kernel the entry loads (first argument of C(linux)), null when none.
      type: str
      sample: /boot/vmlinuz-6.1.0-26-amd64
    initrd:
      description: The initrd images the entry loads.
      type: list
      elements: str
    depth:
      description: 0 for the top level, 1 inside a submenu and so on.
      type: int
    line:
      description: Line of I(grub_cfg) where the entry starts.
      type: int
    conditional:
      description: Whether the entry is inside an C(if) or loop and may be missing at boot.
      type: bool
  sample:
    - {kind: menuentry, title: Debian GNU/Linux, id: gnulinux-simple-5e2c9d4a-8b1f-4c3e-9a7d-2f6b0c1e4d58,
       index_path: '0', title_path: Debian GNU/Linux, id_path: gnulinux-simple-5e2c9d4a-8b1f-4c3e-9a7d-2f6b0c1e4d58,
       target: gnulinux-simple-5e2c9d4a-8b1f-4c3e-9a7d-2f6b0c1e4d58, kernel: /boot/vmlinuz-6.1.0-26-amd64,
       initrd: [/boot/initrd.img-6.1.0-26-amd64], depth: 0, line: 106, conditional: false}
default:
  description: What GRUB boots when no one-time entry is pending, after the change.
  returned: always
  type: dict
  contains:
    source:
      description: C(saved_entry) when I(grub_cfg) uses it (C(GRUB_DEFAULT=saved)), else C(grub.cfg).
      type: str
    value:
      description: The value GRUB matches (of C(saved_entry) or fixed in I(grub_cfg)).
      type: str
    matched:
      description: Whether the value names an entry; GRUB boots the first entry otherwise.
      type: bool
    entry:
      description: The entry GRUB boots, as in I(entries).
      type: dict
next_boot:
  description: What GRUB boots on the next boot (the one-time entry when one is pending), after the change.
  returned: always
  type: dict
  contains:
    value:
      description: The value GRUB matches.
      type: str
    matched:
      description: Whether the value names an entry.
      type: bool
    entry:
      description: The entry GRUB boots, as in I(entries).
      type: dict
next_entry:
  description: C(next_entry) after the change, null when not set.
  returned: always
  type: str
saved_entry:
  description: C(saved_entry) after the change, null when not set.
  returned: always
  type: str
variables:
  description: All variables of the environment block after the change.
  returned: always
  type: dict
  sample: {saved_entry: gnulinux-simple-5e2c9d4a-8b1f-4c3e-9a7d-2f6b0c1e4d58}
changes:
  description: The variables changed (or, in check mode, to be changed), null for an unset one.
  returned: always
  type: dict
  sample: {next_entry: gnulinux-advanced-5e2c9d4a-8b1f-4c3e-9a7d-2f6b0c1e4d58>gnulinux-6.1.0-25-amd64-advanced-5e2c9d4a-8b1f-4c3e-9a7d-2f6b0c1e4d58}
previous:
  description:
    - The values the changed variables had before, null for one that was not set. Give it as
      I(restore) with I(health=rollback) to undo the change.
  returned: always
  type: dict
  sample: {next_entry: null}
target:
  description: The entry I(target) resolved to, as in I(entries), with C(requested) holding I(target) as given.
  returned: when I(target) is given and I(grub_cfg) exists
  type: dict
known_good:
  description: The fallback entry of the trial, as in I(entries).
  returned: with I(health=arm)
  type: dict
trial:
  description: The trial recorded in the environment block after the change.
  returned: always
  type: dict
  contains:
    entry:
      description: C(poscloud_trial_entry), null when no trial is armed.
      type: str
    known_good:
      description: C(poscloud_known_good).
      type: str
    armed:
      description: Whether a trial is armed.
      type: bool
    pending:
      description: Whether the trial is still to be booted (C(next_entry) holds the trial entry).
      type: bool
env_location:
  description: Where I(grubenv) lives and whether GRUB can write it at boot.
  returned: always
  type: dict
  contains:
    source:
      description: The mounted device (or dataset) holding I(grubenv).
      type: str
    fstype:
      description: Its filesystem type.
      type: str
    devices:
      description: The device and what it is built on, each with C(name), C(kname), C(path), C(type), C(fstype).
      type: list
      elements: dict
    writable:
      description: Whether GRUB can write the environment block there at boot.
      type: bool
    reasons:
      description: Why it cannot.
      type: list
      elements: str
    message:
      description: A sentence saying so.
      type: str
    method:
      description: C(findmnt+lsblk), C(findmnt+sys), C(proc+sys) or C(none) when nothing could be found.
      type: str
writer:
  description: C(grub-editenv) or C(builtin) when the block was written, null when it was not.
  returned: always
  type: str
msg:
  description: What was done.
  returned: always
  type: str
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_file, check_path_options, write_target
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.constants import (
    ENVBLK_SIZE, GRUB_CFG_PATH, GRUBENV_PATH, HEALTH_ACTIONS, MODE_VARIABLES, NEXT_ENTRY, SAVED_ENTRY, TRIAL_ENTRY,
    GrubError)
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.devices import (
    assess_env_location, dm_type_from_uuid, mount_for_path, parse_findmnt, parse_lsblk)
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.envblock import (
    EnvBlock, env_diff_text, plan_changes, restore_changes)
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.menu import default_info, parse_grub_cfg
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.trial import (
    arm_trial, commit_trial, rollback_trial, trial_state)


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


class GrubBootTarget(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.path = self.p['grubenv']
        self.result = {'changed': False, 'writer': None, 'changes': {}, 'previous': {}}

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **dict(self.result, **kwargs))

    # -- inputs ------------------------------------------------------------------------------
    def check_params(self):
        p = self.p
        if p['health']:
            if p['state'] != 'present':
                self.fail('health cannot be combined with state=%s; leave state at present' % p['state'])
            if p['health'] == 'arm' and not p['target']:
                self.fail('health=arm needs target, the entry to try')
            if p['known_good'] is not None and p['health'] != 'arm':
                self.fail('known_good is only used with health=arm')
            if p['restore'] is not None and p['health'] != 'rollback':
                self.fail('restore is only used with health=rollback')
        else:
            if p['known_good'] is not None:
                self.fail('known_good is only used with health=arm')
            if p['restore'] is not None:
                self.fail('restore is only used with health=rollback')
            if p['state'] == 'present' and not p['target']:
                self.fail('state=present needs target, the entry to boot')

    def read_env(self):
        if not os.path.exists(self.path):
            return None
        try:
            with open(self.path, 'rb') as f:
                data = f.read()
        except (IOError, OSError) as e:
            self.fail('grubenv: cannot read %s: %s' % (self.path, to_native(e)))
        try:
            return EnvBlock.parse(data)
        except GrubError as e:
            self.fail('grubenv: %s: %s' % (self.path, to_native(e)))

    def read_menu(self, required):
        path = self.p['grub_cfg']
        if not os.path.exists(path):
            if required:
                self.fail('%s does not exist; the menu is needed to resolve entries' % path)
            self.module.warn('%s does not exist; no menu entries are known' % path)
            return None
        try:
            with open(path, 'rb') as f:
                text = f.read().decode('utf-8', 'replace')
            return parse_grub_cfg(text)
        except (IOError, OSError) as e:
            self.fail('cannot read %s: %s' % (path, to_native(e)))
        except GrubError as e:
            self.fail(to_native(e))

    def probe_location(self):
        """Find the mount and device stack holding the environment block and assess it."""
        directory = os.path.dirname(os.path.abspath(self.path))
        while directory != '/' and not os.path.isdir(directory):
            directory = os.path.dirname(directory)
        mount = None
        method = []
        findmnt = self.module.get_bin_path('findmnt')
        if findmnt:
            rc, out, err = self.module.run_command([findmnt, '-n', '-P', '-o', 'SOURCE,FSTYPE,TARGET', '-T', directory])
            if rc == 0:
                mount = parse_findmnt(out)
                if mount:
                    method.append('findmnt')
        if mount is None:
            try:
                with open('/proc/self/mounts') as f:
                    mount = mount_for_path(f.read(), os.path.realpath(directory))
                if mount:
                    method.append('proc')
            except (IOError, OSError):
                mount = None
        devices = []
        if mount:
            device = re.sub(r'\[.*\]$', '', mount['source'])
            if device.startswith('/dev/'):
                lsblk = self.module.get_bin_path('lsblk')
                if lsblk:
                    for columns in ('NAME,KNAME,PATH,TYPE,FSTYPE', 'NAME,KNAME,TYPE,FSTYPE'):
                        rc, out, err = self.module.run_command([lsblk, '-J', '-s', '-o', columns, device])
                        if rc == 0:
                            try:
                                devices = parse_lsblk(out)
                            except ValueError:
                                devices = []
                            if devices:
                                method.append('lsblk')
                                break
                if not devices:
                    devices = sys_device_chain(device)
                    if devices:
                        method.append('sys')
        if mount is None:
            location = {
                'writable': False, 'source': None, 'fstype': None, 'devices': [],
                'reasons': ['the filesystem holding %s could not be found' % self.path],
                'message': 'could not find the filesystem holding %s, so it is unknown whether GRUB can '
                           'write it at boot; set force=true to write a one-time entry anyway' % self.path,
            }
        else:
            location = assess_env_location(mount['source'], mount['fstype'], devices, self.path)
        location['method'] = '+'.join(method) or 'none'
        return location

    # -- writing -----------------------------------------------------------------------------
    def editenv_binary(self):
        choice = self.p['use_grub_editenv']
        if choice == 'never':
            return None
        for name in ('grub-editenv', 'grub2-editenv'):
            path = self.module.get_bin_path(name)
            if path:
                return path
        if choice == 'always':
            self.fail('use_grub_editenv=always but neither grub-editenv nor grub2-editenv is installed')
        return None

    def write(self, original, changes, new_block, data):
        try:
            target = write_target(self.path)
        except ValueError as e:
            self.fail('grubenv: %s' % to_native(e))
        directory = os.path.dirname(target)
        if not os.path.isdir(directory):
            self.fail('folder %s of grubenv does not exist' % directory)
        binary = self.editenv_binary()
        touched = set(name for name, value in changes)
        if binary and original is not None and touched & set(original.duplicates()):
            if self.p['use_grub_editenv'] == 'auto':
                self.module.warn('%s holds duplicate variables; using the built-in writer to clean them up' % self.path)
                binary = None
        # a symlinked grubenv (the EFI layout of some distributions) is written at its target; a new
        # file gets 0644 as from grub-editenv create, an existing one keeps its mode and owner
        try:
            self._write_block(target, binary, original, changes, new_block, data)
        except (IOError, OSError) as e:
            self.fail('cannot write %s: %s; it is left as it was' % (target, to_native(e)))

    def _write_block(self, target, binary, original, changes, new_block, data):
        with atomic_file(target, mode=None, module=self.module, prefix='.grubenv.') as tmp:
            if binary:
                if original is None:
                    os.unlink(tmp)
                    self._editenv(binary, [tmp, 'create'])
                else:
                    with open(tmp, 'wb') as f:
                        f.write(original.render())
                for name, value in changes:
                    if value is None:
                        self._editenv(binary, [tmp, 'unset', name])
                    else:
                        self._editenv(binary, [tmp, 'set', '%s=%s' % (name, value)])
                with open(tmp, 'rb') as f:
                    written = f.read()
                try:
                    got = EnvBlock.parse(written).variables()
                except GrubError as e:
                    self.fail('%s produced an unusable block: %s' % (binary, to_native(e)))
                if dict(got) != dict(new_block.variables()):
                    self.fail('%s did not produce the expected variables; nothing was changed' % binary,
                              expected=dict(new_block.variables()), got=dict(got))
                if written != data:
                    self.module.warn('%s laid the block out differently from the built-in writer; its version is used' % binary)
                self.result['writer'] = 'grub-editenv'
            else:
                with open(tmp, 'wb') as f:
                    f.write(data)
                self.result['writer'] = 'builtin'

    def _editenv(self, binary, args):
        rc, out, err = self.module.run_command([binary] + args)
        if rc != 0:
            self.fail('%s %s failed: %s' % (binary, ' '.join(args[1:2]), (err or out).strip()), rc=rc)

    # -- operations --------------------------------------------------------------------------
    def equivalent(self, menu, value, node):
        return value is not None and menu is not None and menu.grub_lookup(value) is node

    def plan(self, menu, variables):
        """Return (changes, message, needs_boot_write) for the requested operation."""
        p = self.p
        health = p['health']
        if health == 'arm':
            plan = arm_trial(menu, variables, p['target'], p['known_good'])
            self.result['known_good'] = menu.describe(menu.grub_lookup(plan['known_good']))
            if not plan['needed']:
                return [], '%s already is the known-good default; there is nothing to try' % plan['trial'], False
            return plan['changes'], ('trial of %s armed for the next boot, falling back to %s'
                                     % (plan['trial'], plan['known_good'])), True
        if health == 'commit':
            plan = commit_trial(menu, variables, p['target'])
            if not plan['trial']:
                return [], 'no trial is armed; nothing to commit', False
            return plan['changes'], '%s committed as the default' % plan['committed'], False
        if health == 'rollback':
            if p['restore'] is not None:
                return restore_changes(p['restore'], menu), 'variables restored', False
            plan = rollback_trial(menu, variables)
            if not plan['changes']:
                return [], 'no trial is armed; nothing to roll back', False
            return plan['changes'], ('trial of %s rolled back to %s' % (plan['trial'], plan['known_good'])), False

        name = MODE_VARIABLES[p['mode']]
        if p['state'] == 'query':
            return [], 'queried', False
        if p['state'] == 'absent':
            current = variables.get(name)
            if not current:
                # GRUB clears next_entry by setting it empty; empty and unset boot the same.
                return [], '%s is not set' % name, False
            if p['target']:
                node = menu.resolve(p['target'])
                if not self.equivalent(menu, current, node):
                    return [], '%s points at another entry (%s); left as it is' % (name, current), False
            return [(name, None)], '%s cleared' % name, False

        node = menu.resolve(p['target'])
        if p['mode'] == 'once':
            if not menu.consumes_next_entry:
                self.fail('%s does not boot next_entry once (no set default="${next_entry}" followed by '
                          'save_env next_entry, as Debian\'s 00_header writes); setting it would do nothing'
                          % p['grub_cfg'])
        elif not menu.uses_saved_entry:
            self.fail('%s boots the fixed default %r and ignores saved_entry; generate it with '
                      'GRUB_DEFAULT=saved in /etc/default/grub (then update-grub) to switch the default '
                      'from the environment block' % (p['grub_cfg'], menu.default_spec))
        if variables.get(TRIAL_ENTRY):
            self.module.warn('a trial of %s is armed; setting %s by hand changes what the trial boots or '
                             'falls back to' % (variables.get(TRIAL_ENTRY), name))
        if self.equivalent(menu, variables.get(name), node):
            return [], '%s already points at %s' % (name, variables.get(name)), p['mode'] == 'once'
        value = menu.canonical(node)
        if p['mode'] == 'once':
            return [(name, value)], '%s set to %s; GRUB boots it on the next boot only' % (name, value), True
        return [(name, value)], '%s set to %s; GRUB boots it by default' % (name, value), False

    def run(self):
        p = self.p
        self.check_params()
        needs_menu = bool(p['target']) or p['health'] in ('arm', 'commit') or bool(p['restore'])
        original = self.read_env()
        block = original.copy() if original is not None else EnvBlock.new(ENVBLK_SIZE)
        before = block.variables()
        if original is not None and original.duplicates():
            self.module.warn('%s sets %s more than once; GRUB uses the last value'
                             % (self.path, ', '.join(original.duplicates())))
        menu = self.read_menu(needs_menu)

        location = self.probe_location()
        self.result['env_location'] = location
        try:
            if p['target'] and menu is not None:
                described = menu.describe(menu.resolve(p['target']))
                described['requested'] = p['target']
                self.result['target'] = described
            changes, message, needs_boot_write = self.plan(menu, before)
            changes, previous = plan_changes(before, changes)
            new_block = block.copy().apply(changes)
            data = new_block.render()
        except GrubError as e:
            self.fail(to_native(e), **self.info(menu, before))

        if needs_boot_write and not location['writable']:
            if p['force']:
                self.module.warn(location['message'])
            else:
                self.fail(location['message'], **self.info(menu, before))
        if len(data) != ENVBLK_SIZE:
            self.fail('internal error: the environment block would be %d bytes' % len(data))

        after = new_block.variables()
        self.result['changes'] = dict(changes)
        self.result['previous'] = dict(previous)
        self.result['changed'] = bool(changes)
        if changes and not self.module.check_mode:
            self.write(original, changes, new_block, data)
        if self.module._diff:
            self.result['diff'] = {
                'before': env_diff_text(before),
                'after': env_diff_text(after),
                'before_header': '%s (variables)' % self.path,
                'after_header': '%s (variables)' % self.path,
            }
        if self.module.check_mode and changes:
            message = 'would have: ' + message
        self.result.update(self.info(menu, after))
        self.module.exit_json(msg=message, **self.result)

    def info(self, menu, variables):
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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            grubenv=dict(type='path', default=GRUBENV_PATH),
            grub_cfg=dict(type='path', default=GRUB_CFG_PATH),
            target=dict(type='str'),
            mode=dict(type='str', default='once', choices=list(MODE_VARIABLES)),
            state=dict(type='str', default='present', choices=['present', 'absent', 'query']),
            health=dict(type='str', choices=list(HEALTH_ACTIONS)),
            known_good=dict(type='str'),
            restore=dict(type='dict'),
            force=dict(type='bool', default=False),
            use_grub_editenv=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
        ),
        supports_check_mode=True,
    )
    check_path_options(module)
    GrubBootTarget(module).run()


if __name__ == '__main__':
    main()
