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
    naming the same kernel after C(update-grub) while indexes shift. With O(state=present), a value
    already set that GRUB resolves to the same entry is left as it is.
  - O(health) runs a boot-health contract for kernel upgrades. C(arm) makes the next boot, and only
    that one, a trial of O(target) and makes the known-good entry the default; because GRUB clears
    C(next_entry) before it boots the trial, a hang, a panic or any reboot without C(commit) lands on
    the known-good entry. C(commit) makes the trial entry the default once the health gate passed.
    C(rollback) drops the trial and makes the known-good entry the default again, or restores the
    variables given in O(restore) (the C(previous) result of an earlier run).
  - The contract keeps its state in the environment block. C(next_entry) holds the trial entry until
    GRUB boots it. C(saved_entry) holds the known-good entry while the trial runs and the trial entry
    after C(commit). C(poscloud_trial_entry) names the entry under trial and is set only while a
    trial is armed. C(poscloud_known_good) names the entry to fall back to. There is a single attempt
    and no boot counter (C(boot_success), C(boot_counter) and the like are not used), because Debian's
    C(grub.cfg) has no code that would read them.
  - One-time boots (O(mode=once) and O(health=arm)) need GRUB to write the environment block at boot.
    GRUB cannot write on LVM, MD RAID, dm-crypt, btrfs or ZFS; there C(next_entry) is never cleared
    and the one-time entry would be booted on every boot. The module looks at the filesystem and the
    device stack holding O(grubenv) with C(findmnt) and C(lsblk) (or C(/proc/mounts) and C(/sys)) and
    refuses such places unless O(force=true).
  - The environment block is written whole into a temporary file beside O(grubenv) and moved over it
    atomically, exactly 1024 bytes, byte for byte what C(grub-editenv) writes.
extends_documentation_fragment: [poscloud.fleet.attributes]
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
        C(grub-efi)). Other GRUB 2 systems work when O(grubenv) and O(grub_cfg) point at their files
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
      - Needed to set targets and for O(health=arm) and O(health=commit); without it the module only
        clears variables and reports them.
    type: path
    default: /boot/grub/grub.cfg
  target:
    description:
      - The menu entry, by id, title, index or a C(>) path through submenus.
      - Required with O(state=present) and O(health=arm). With O(state=absent) the variable is
        only cleared when it points at this entry. With O(health=commit) the commit is refused
        unless this is the armed trial entry.
    type: str
  mode:
    description:
      - Which variable O(state) acts on.
      - V(once) is C(next_entry), booted on the next boot only and cleared by GRUB as it boots it.
      - V(default) is C(saved_entry), booted whenever no one-time entry is pending. It needs a
        C(grub.cfg) generated with C(GRUB_DEFAULT=saved); the module fails otherwise, since GRUB
        would ignore the variable.
      - Ignored with O(health).
    type: str
    choices: [once, default]
    default: once
  state:
    description:
      - V(present) sets the variable of O(mode) to O(target).
      - V(absent) clears it.
      - V(query) changes nothing and only reports the menu, the variables and what GRUB boots next.
        It is deprecated and will be removed in release 0.3.0; use M(poscloud.fleet.grub_boot_target_info),
        which returns the same and the entry of a given kernel.
      - Must be V(present) when O(health) is used.
    type: str
    choices: [present, absent, query]
    default: present
  health:
    description:
      - Operation of the boot-health contract, instead of O(state) and O(mode).
      - V(arm) arms a one-time trial of O(target) with O(known_good) as the fallback. It does
        nothing when O(target) already is the known-good default.
      - V(commit) makes the armed trial entry the default and ends the trial. It is refused while
        C(next_entry) still holds the trial entry, that is before the trial has been booted. Without
        an armed trial it does nothing.
      - V(rollback) ends the trial and makes the known-good entry the default again, or, with
        O(restore), sets the variables back to the given values. Without an armed trial or
        O(restore) it does nothing.
    type: str
    choices: [arm, commit, rollback]
  known_good:
    description:
      - The entry to fall back to when the trial fails, with O(health=arm). Same forms as O(target).
      - Defaults to the entry GRUB boots by default now. It must not boot the same kernel as the
        trial entry; on Debian the top entry always boots the newest kernel, so after installing a
        new kernel give the old kernel's entry from the Advanced options submenu.
    type: str
  restore:
    description:
      - Variables to set back with O(health=rollback), as the C(previous) result of an earlier run
        returns them. A null value unsets the variable.
      - Only the variables this module sets can be restored, and each value must be null, empty or
        a string that names an entry of O(grub_cfg); anything else (a number, an entry that is gone)
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
      - V(auto) uses C(grub-editenv) (or C(grub2-editenv)) when installed, else the built-in writer.
      - V(always) requires C(grub-editenv).
      - V(never) uses the built-in writer, which produces the same bytes.
      - With C(grub-editenv) the edits are made on a copy beside O(grubenv), checked to hold exactly
        the expected variables, and moved over O(grubenv) atomically.
    type: str
    choices: [auto, always, never]
    default: auto
notes:
  - GRUB boots C(next_entry) only when C(grub.cfg) has the one-time boot code of Debian's
    C(/etc/grub.d/00_header) (C(set default="${next_entry}") followed by C(save_env next_entry)); the
    module fails for O(mode=once) and O(health=arm) when it is missing.
  - A trial needs a fallback GRUB reaches without help. With C(GRUB_DEFAULT=saved) the known-good
    entry is put into C(saved_entry). With a fixed C(GRUB_DEFAULT) arming is refused unless that
    default already is the known-good entry.
  - The size of the block is fixed at 1024 bytes; when the variables do not fit the module fails
    and writes nothing. A block of another size, with a wrong header, a line without C(=) or
    garbage in its padding is reported as corrupt and not touched.
  - GRUB itself matches C(next_entry) and C(saved_entry) against ids and titles; a value that
    matches nothing makes GRUB boot the first entry. The module never writes such a value.
seealso:
  - module: poscloud.fleet.grub_boot_target_info
    description: Read the menu, the variables, what GRUB boots next and the entry of a kernel.
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
  poscloud.fleet.grub_boot_target_info:
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
    - Every menu entry and submenu of O(grub_cfg) in menu order, each as
      M(poscloud.fleet.grub_boot_target_info) describes it in its RV(poscloud.fleet.grub_boot_target_info#module:entries).
      Empty when O(grub_cfg) is missing.
  returned: always
  type: list
  elements: dict
default:
  description:
    - What GRUB boots when no one-time entry is pending, after the change, with the keys C(source),
      C(value), C(matched) and C(entry) of RV(poscloud.fleet.grub_boot_target_info#module:default).
  returned: always
  type: dict
next_boot:
  description:
    - What GRUB boots on the next boot (the one-time entry when one is pending), after the change,
      with the keys C(value), C(matched) and C(entry) of RV(poscloud.fleet.grub_boot_target_info#module:next_boot).
  returned: always
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
      O(restore) with O(health=rollback) to undo the change.
  returned: always
  type: dict
  sample: {next_entry: null}
target:
  description: The entry O(target) resolved to, as in RV(entries), with C(requested) holding O(target) as given.
  returned: when O(target) is given and O(grub_cfg) exists
  type: dict
known_good:
  description: The fallback entry of the trial, as in RV(entries).
  returned: with O(health=arm)
  type: dict
trial:
  description:
    - The trial recorded in the environment block after the change, with the keys C(entry),
      C(known_good), C(armed) and C(pending) of RV(poscloud.fleet.grub_boot_target_info#module:trial).
  returned: always
  type: dict
env_location:
  description:
    - Where O(grubenv) lives and whether GRUB can write it at boot, with the keys C(source),
      C(fstype), C(devices), C(writable), C(reasons), C(message) and C(method) of
      RV(poscloud.fleet.grub_boot_target_info#module:env_location).
  returned: always
  type: dict
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

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_file, write_target
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.constants import (
    ENVBLK_SIZE, GRUB_CFG_PATH, GRUBENV_PATH, HEALTH_ACTIONS, MODE_VARIABLES, TRIAL_ENTRY, GrubError)
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.envblock import (
    EnvBlock, env_diff_text, plan_changes, restore_changes)
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.host import (
    boot_info, probe_location, read_env, read_menu)
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.trial import arm_trial, commit_trial, rollback_trial


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
        try:
            return read_env(self.path)
        except GrubError as e:
            self.fail(to_native(e))

    def read_menu(self, required):
        path = self.p['grub_cfg']
        try:
            menu = read_menu(path)
        except GrubError as e:
            self.fail(to_native(e))
        if menu is None:
            if required:
                self.fail('%s does not exist; the menu is needed to resolve entries' % path)
            self.module.warn('%s does not exist; no menu entries are known' % path)
        return menu

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
            self.module.deprecate('state=query is replaced by the module poscloud.fleet.grub_boot_target_info, which '
                                  'takes the same grubenv and grub_cfg and returns the same keys',
                                  version='0.3.0', collection_name='poscloud.fleet')
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

        location = probe_location(self.module, self.path)
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

    @staticmethod
    def info(menu, variables):
        return boot_info(menu, variables)


def main():
    module = fleet_module(dict(
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
    ))
    GrubBootTarget(module).run()


if __name__ == '__main__':
    main()
