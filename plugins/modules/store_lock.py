#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: store_lock
short_description: Take or give back a store's lock on its cloud host
version_added: 0.2.0
description:
  - One lock per store, held on the store's cloud host for the whole of an operation that touches
    the store's data or instance (cutover, pre-sync, backup, restore, delete data, purge, fleet
    update, stage). The playbooks of the collection take it before their first change and give it
    back at the end, also when the operation fails.
  - The lock is a folder, C(<state_dir>/<store>/lock), made atomically with its owner inside
    (C(owner.json)) naming the run, the controller it runs on, that run's process id and start time, the
    operation, the user and the time it was taken.
  - A second run on the same store fails at once, naming who holds the lock and since when, and
    changes nothing. The same run taking the lock again gets it (nothing changes).
  - A lock left by a run that died is recognised when that run's controller is the one running this
    task (its process is gone, or another process has its id). Such a lock, or one held from
    another controller that cannot be checked from here, is taken over only with O(takeover=true).
    The lock of a run that still runs is never taken over.
extends_documentation_fragment:
  [poscloud.fleet.attributes, poscloud.fleet.attributes.action_plugin, ansible.builtin.action_common_attributes.flow]
attributes:
  action:
    details: The action plugin names the owner (the controller's run) and checks on the controller whether a holder still runs.
  check_mode:
    support: full
    details: Takes nothing; fails the same way when another run holds the lock.
  diff_mode:
    support: none
options:
  store:
    description:
      - The store id.
    type: str
    required: true
  state:
    description:
      - V(present) takes the lock, V(absent) gives it back (only when this run holds it; a lock of
        another run is left alone), V(query) reports the holder.
    type: str
    choices: [present, absent, query]
    default: present
  operation:
    description:
      - What the run does with the store, shown to a run that finds the lock taken.
    type: str
    default: operation
  takeover:
    description:
      - Take over a lock whose holder is gone, or whose holder runs on another controller and cannot be
        checked from here. Only for a lock left by a run that you know has ended.
    type: bool
    default: false
  state_dir:
    description:
      - The folder of the stores' state on the cloud host.
    type: path
    default: /var/lib/poscloud-fleet/stores
  owner:
    description:
      - The run that takes or gives back the lock. Set by the action plugin from the controller's
        running C(ansible-playbook); leave it unset.
    type: dict
  takeover_of:
    description:
      - The run id of the holder being taken over. Set by the action plugin; leave it unset.
    type: str
notes:
  - The lock is given back by the playbooks in an C(always) section. A run that is killed, or whose
    cloud host becomes unreachable, leaves its lock; the next run names it and asks for O(takeover=true)
    (C(-e poscloud_lock_takeover=true) with the playbooks).
  - Taking and giving back the lock in one run leaves nothing changed, so both report C(changed=false);
    taking over a stale lock reports C(changed=true).
  - The collection's C(docs/cutover.md) says what happens to a store when the controller dies at each step.
'''

EXAMPLES = r'''
- name: Take the store's lock for a backup
  poscloud.fleet.store_lock:
    store: "{{ store_id }}"
    operation: backup

- name: Give it back
  poscloud.fleet.store_lock:
    store: "{{ store_id }}"
    state: absent

- name: Take over the lock of a run that died (its controller was lost)
  poscloud.fleet.store_lock:
    store: "{{ store_id }}"
    operation: cutover
    takeover: true

- name: Who holds the lock?
  poscloud.fleet.store_lock:
    store: "{{ store_id }}"
    state: query
  register: lock
'''

RETURN = r'''
outcome:
  description:
    - V(acquired), V(ours) (this run held it already), V(taken_over), V(would_acquire) (check mode),
      V(held) (another run holds it; the task fails), V(released), V(not_held) (nothing to give back),
      or for V(query) V(free) or V(held).
  returned: always
  type: str
  sample: acquired
holder:
  description: The owner of the lock found, when there was one.
  returned: when a lock was found
  type: dict
  sample: {run_id: "ctl1:4211:881234", controller: ctl1, pid: 4211, pid_start: "881234", user: root,
           operation: cutover, started: "2026-12-03T09:00:00Z", started_epoch: 1796288400.0}
holder_alive:
  description: Whether the holder still runs (V(null) when that cannot be told from this controller).
  returned: when another run holds the lock
  type: bool
lock:
  description: The lock's folder on the cloud host.
  returned: always
  type: str
  sample: /var/lib/poscloud-fleet/stores/12345678/lock
'''


from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import exit_with, fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.lock import LockError, acquire, lock_path, read_owner, release


def run(module):
    p = module.params
    path = lock_path(p['state_dir'], p['store'])
    if p['state'] == 'query':
        holder = read_owner(path)
        return dict(changed=False, lock=path, outcome='held' if holder else 'free', holder=holder)
    owner = p['owner']
    if not owner or not owner.get('run_id'):
        raise LockError('owner: the run that takes the lock is named by the action plugin; run store_lock as a task, '
                        'not through a module call that bypasses it')
    if p['state'] == 'absent':
        released, holder = release(path, owner['run_id'], module.check_mode)
        return dict(changed=False, lock=path, outcome='released' if released else 'not_held', holder=holder)
    outcome, holder = acquire(path, owner, p['takeover_of'], module.check_mode)
    return dict(changed=outcome == 'taken_over', lock=path, outcome=outcome, holder=holder)


def main():
    module = fleet_module(dict(
        store=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent', 'query']),
        operation=dict(type='str', default='operation'),
        takeover=dict(type='bool', default=False),
        state_dir=dict(type='path', default='/var/lib/poscloud-fleet/stores'),
        owner=dict(type='dict'),
        takeover_of=dict(type='str'),
    ))
    exit_with(module, lambda: run(module), [(LockError, ''),
                                            ((IOError, OSError), 'the lock of store %s could not be read or written: ' % module.params['store'])])


if __name__ == '__main__':
    main()
