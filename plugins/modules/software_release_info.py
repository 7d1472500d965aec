#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: software_release_info
short_description: Which release, and which exact files, were in place on a machine at a given time
version_added: 0.3.0
description:
  - Reads the release history that M(poscloud.fleet.software_release) keeps on a machine and answers
    which release was in place at a moment (now by default), with the SHA-256, mode, owner and group of
    every file the releases manage, and the records of the history.
  - Optionally checks that the files on the machine still have the recorded contents (O(verify)).
extends_documentation_fragment: [poscloud.fleet.attributes.info_module, poscloud.fleet.attributes, poscloud.fleet.release_store]
options:
  at:
    description:
      - The moment to answer for (ISO 8601, V(2026-12-01T15:00:00Z); a date alone means the end of that day,
        UTC). Empty for now.
    type: str
    default: ''
  verify:
    description:
      - Hash the files on the machine and report those that differ from the state in place now
        (ignored with O(at)).
    type: bool
    default: false
  full_history:
    description:
      - Return every history record with the states of its paths, not only a line per record.
    type: bool
    default: false
seealso:
  - module: poscloud.fleet.software_release
'''

EXAMPLES = r'''
- name: Which files ran on this register on the 1st of December?
  poscloud.fleet.software_release_info:
    at: "2026-12-01"
  register: on_the_first

- name: The release in place now, with any file that drifted from it
  poscloud.fleet.software_release_info:
    verify: true
  register: now
'''

RETURN = r'''
release:
  description: The release in place at the moment (C((before any release)) when none was yet).
  returned: always
  type: str
  sample: pos-agent-1.4.2
at:
  description: The moment answered for (the last record's time when O(at) is empty).
  returned: always
  type: str
files:
  description: Every path the releases manage that held a file at the moment, with V(sha256), V(mode), V(uid), V(gid).
  returned: always
  type: dict
  sample: {"/usr/local/bin/pos-agent": {sha256: 9f2e..., mode: "0755", uid: 0, gid: 0}}
drift:
  description: With O(verify), the paths whose file on the machine differs from the state in place, with both states.
  returned: always
  type: list
  elements: dict
history:
  description: A line per record (or the whole records with O(full_history)), oldest first.
  returned: always
  type: list
  elements: dict
pending:
  description: The change a dead run left half done (the next change of releases puts it back first), or null.
  returned: always
  type: dict
'''

import os

from ansible_collections.poscloud.fleet.plugins.module_utils import release as rel
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module


def main():
    module = fleet_module(dict(
        at=dict(type='str', default=''),
        verify=dict(type='bool', default=False),
        full_history=dict(type='bool', default=False),
        **rel.store_argument_spec()
    ))
    p = module.params
    if not p['store'].startswith('/'):
        module.fail_json(msg='store: %r is not an absolute path on the machine' % p['store'])
    if not os.path.isdir(p['root']):
        module.fail_json(msg='root: %s is not a folder; give the machine root (/) or the mount point of its image' % p['root'])
    store = rel.Store(p['root'], p['store'])
    try:
        records = store.history()
        if p['at']:
            at = rel.parse_time(p['at'], 'at')
            index = -1
            for i, r in enumerate(records):
                if rel.parse_time(r['time'], 'history') <= at:
                    index = i
            moment = rel.now_text(lambda: at)
        else:
            index = len(records) - 1
            moment = records[-1]['time'] if records else ''
        states = rel.states_at(records, index)
        drift = []
        if p['verify'] and not p['at']:
            for path, state in sorted(states.items()):
                actual = rel.read_state(rel.resolve(store.root, path))
                if not rel.same_state(actual, state):
                    drift.append({'path': path, 'recorded': state, 'actual': actual})
        module.exit_json(
            changed=False, release=rel.release_at(records, index), at=moment,
            files=dict((path, state) for path, state in states.items() if state is not None),
            drift=drift, pending=store.pending(),
            history=records if p['full_history'] else [rel.summary(r) for r in records])
    except (rel.ReleaseError, ValueError) as e:
        module.fail_json(msg=str(e))


if __name__ == '__main__':
    main()
