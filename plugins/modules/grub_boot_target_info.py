#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: grub_boot_target_info
short_description: Read GRUB's menu, its environment block, what it boots next and the entry of a kernel
version_added: 0.2.0
description:
  - Reads the menu of C(grub.cfg) and the GRUB environment block (C(grubenv)) and reports every
    entry, the variables, what GRUB boots by default and on the next boot, the trial of the
    boot-health contract of M(poscloud.fleet.grub_boot_target), and whether GRUB can write the
    environment block at boot.
  - Names the entry that boots the running kernel, and the entries of the kernels in O(kernels).
    That is the entry of the submenu (Debian's C(Advanced options), whose ids carry the kernel
    version and keep naming it after C(update-grub)), never the top-level entry, which boots
    whichever kernel is newest, and never a recovery-mode entry. Its C(target) is what
    M(poscloud.fleet.grub_boot_target) takes as O(poscloud.fleet.grub_boot_target#module:target) or
    O(poscloud.fleet.grub_boot_target#module:known_good).
  - Replaces O(poscloud.fleet.grub_boot_target#module:state=query).
extends_documentation_fragment: [poscloud.fleet.attributes.info_module, poscloud.fleet.attributes]
attributes:
  platform:
    platforms: debian
    details:
      - Made for the C(grub.cfg) that Debian's C(grub-mkconfig) writes (GRUB 2.06). C(findmnt) and
        C(lsblk) from util-linux are used when present.
options:
  grubenv:
    description:
      - Path of the GRUB environment block. A missing block reads as one without variables.
    type: path
    default: /boot/grub/grubenv
  grub_cfg:
    description:
      - Path of the GRUB configuration. When it is missing the module warns and returns no entries.
    type: path
    default: /boot/grub/grub.cfg
  kernels:
    description:
      - Kernel releases (as C(uname -r) prints them) whose entries to name in RV(kernel_entries),
        for example the release about to be installed. Give them when reading the files of a
        system that is not the one running, where RV(running_kernel) means nothing.
    type: list
    elements: str
    default: []
seealso:
  - module: poscloud.fleet.grub_boot_target
    description: Set the entry to boot once or by default, and run the trial-and-fallback contract.
"""

EXAMPLES = r"""
- name: Read the menu and what GRUB boots next
  poscloud.fleet.grub_boot_target_info:
  register: grub

- name: Refuse a machine with a trial armed
  ansible.builtin.assert:
    that: not grub.trial.armed
    fail_msg: a trial of {{ grub.trial.entry }} is armed; roll it back first

- name: Arm a trial of a new kernel with the running kernel's own entry as the fallback
  poscloud.fleet.grub_boot_target:
    health: arm
    target: "{{ grub.kernel_entries['6.1.0-26-amd64'].target }}"
    known_good: "{{ grub.running_kernel.entry.target }}"
  when: grub.kernel_entries['6.1.0-26-amd64'] is not none

- name: Read a system mounted at /mnt and name the entries of two kernels
  poscloud.fleet.grub_boot_target_info:
    grubenv: /mnt/boot/grub/grubenv
    grub_cfg: /mnt/boot/grub/grub.cfg
    kernels: [6.1.0-25-amd64, 6.1.0-26-amd64]
  register: mounted
"""

RETURN = r"""
entries:
  description:
    - Every menu entry and submenu of O(grub_cfg) in menu order. Empty when O(grub_cfg) is missing.
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
      description: Line of O(grub_cfg) where the entry starts.
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
  description: What GRUB boots when no one-time entry is pending, now.
  returned: always
  type: dict
  contains:
    source:
      description: C(saved_entry) when O(grub_cfg) uses it (C(GRUB_DEFAULT=saved)), else C(grub.cfg).
      type: str
    value:
      description: The value GRUB matches (of C(saved_entry) or fixed in O(grub_cfg)).
      type: str
    matched:
      description: Whether the value names an entry; GRUB boots the first entry otherwise.
      type: bool
    entry:
      description: The entry GRUB boots, as in RV(entries).
      type: dict
next_boot:
  description: What GRUB boots on the next boot (the one-time entry when one is pending), now.
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
      description: The entry GRUB boots, as in RV(entries).
      type: dict
next_entry:
  description: C(next_entry) now, null when not set.
  returned: always
  type: str
saved_entry:
  description: C(saved_entry) now, null when not set.
  returned: always
  type: str
variables:
  description: All variables of the environment block now.
  returned: always
  type: dict
  sample: {saved_entry: gnulinux-simple-5e2c9d4a-8b1f-4c3e-9a7d-2f6b0c1e4d58}
trial:
  description: The trial of the boot-health contract recorded in the environment block.
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
  description: Where O(grubenv) lives and whether GRUB can write it at boot.
  returned: always
  type: dict
  contains:
    source:
      description: The mounted device (or dataset) holding O(grubenv).
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
running_kernel:
  description: The running kernel of the host the module runs on, and its entry.
  returned: always
  type: dict
  contains:
    release:
      description: The release, as C(uname -r) prints it.
      type: str
      sample: 6.1.0-25-amd64
    entry:
      description: Its entry, as in RV(entries); null when O(grub_cfg) has none.
      type: dict
kernel_entries:
  description: For each release of O(kernels), its entry as in RV(entries), null when O(grub_cfg) has none.
  returned: always
  type: dict
  sample: {6.1.0-26-amd64: null}
"""

import os


from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import exit_with, fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.constants import GRUB_CFG_PATH, GRUBENV_PATH, GrubError
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.host import (
    boot_info, kernel_entry, probe_location, read_env, read_menu)


def gather(module):
    """Everything the module returns; GrubError when a file cannot be read."""
    p = module.params
    block = read_env(p['grubenv'])
    variables = block.variables() if block is not None else {}
    menu = read_menu(p['grub_cfg'])
    if menu is None:
        module.warn('%s does not exist; no menu entries are known' % p['grub_cfg'])
    result = boot_info(menu, variables)
    release = os.uname()[2]
    result['running_kernel'] = {'release': release, 'entry': kernel_entry(menu, release)}
    result['kernel_entries'] = dict((r, kernel_entry(menu, r)) for r in p['kernels'])
    result['env_location'] = probe_location(module, p['grubenv'])
    return result


def main():
    module = fleet_module(dict(
        grubenv=dict(type='path', default=GRUBENV_PATH),
        grub_cfg=dict(type='path', default=GRUB_CFG_PATH),
        kernels=dict(type='list', elements='str', default=[]),
    ))
    exit_with(module, lambda: gather(module), [(GrubError, '')], changed=False)


if __name__ == '__main__':
    main()
