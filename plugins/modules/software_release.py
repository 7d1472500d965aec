#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: software_release
short_description: Install a software release on a machine with content-addressed backups, or put an earlier one back exactly
version_added: 0.3.0
description:
  - Installs a release, a set of files described by a manifest, onto a machine. Before any file is
    replaced or removed, its content is kept in a content-addressed store on the machine
    (C(<store>/objects/<sha256>), written atomically and checked against its name), and every change
    is recorded in an append-only history (C(<store>/history.jsonl)) with the previous and new SHA-256,
    mode, owner and group of every path of the release.
  - O(state=rolled_back) puts back exactly the files of an earlier state, named by O(to) (the
    previous state, a release id, or a time), from the store. It refuses, with nothing changed, when
    any object it needs is missing or does not hash to its name.
  - "A release bundle is a folder or a tarball holding C(release.json) and the release's files under
    C(files/) at their paths on the machine (C(files/usr/local/bin/tool) for C(/usr/local/bin/tool)).
    C(release.json) is a JSON object with V(id), V(files) (a list of V(path), V(sha256), V(mode),
    V(owner), V(group)), V(remove) (paths the release deletes), V(test) (a command line the playbook
    runs after the install) and V(description)."
  - Every file of the bundle is hashed against the manifest before anything is changed; a tarball's
    own SHA-256 (O(sha256)) is checked first.
  - While files are replaced, the record about to be appended is kept in C(<store>/pending.json). A run
    that finds it (the run before died in the middle) first puts every path of that change back as
    it was before, and records that as V(interrupted).
  - The same release installed twice changes nothing and reports C(changed=false).
  - Objects referenced by the present files, by the last O(keep) records of the history or by a
    pending change are kept; others are removed after each change. An object still referenced is
    never removed.
  - O(root) points the module at a machine's image mounted on this host (the build server's copy of
    the machine), so the copy gets the same release and the same history.
extends_documentation_fragment: [poscloud.fleet.attributes, poscloud.fleet.release_store]
attributes:
  check_mode:
    support: full
    details: Reads the bundle and the files and reports what would change; writes nothing.
  diff_mode:
    support: full
    details: One line per changed path, before and after, with its SHA-256, mode and owner.
options:
  state:
    description:
      - V(present) installs the release in O(src). V(rolled_back) puts back the state O(to) names.
    type: str
    choices: [present, rolled_back]
    default: present
  src:
    description:
      - The release bundle on the machine, a folder or a tarball (C(.tar), C(.tar.gz), C(.tar.xz)).
      - Required with O(state=present).
    type: path
  sha256:
    description:
      - The SHA-256 of the bundle tarball, checked before it is read. Required when O(src) is a file.
    type: str
  to:
    description:
      - With O(state=rolled_back), the state to put back. V(previous) is the state before the last
        change (rolling back twice returns to where you were). A release id is the last state in which
        that release was put in place. A time (ISO 8601, V(2026-12-04T10:15:00Z); a date alone means the
        end of that day, UTC) is the state at that moment.
    type: str
    default: previous
  keep:
    description:
      - How many of the most recent history records keep their objects (the contents a rollback to
        them needs). At least 1.
    type: int
    default: 10
seealso:
  - module: poscloud.fleet.software_release_info
notes:
  - When O(root) is the mount point of an image, owners and groups are looked up in the image's own
    C(/etc/passwd) and C(/etc/group).
  - Only regular files are installed. A path whose last part is a symlink or a folder on the machine
    is refused; folders a release needs are made (mode 0755) and are not removed by a rollback.
  - Services are not touched; C(playbooks/software_update.yml) stops and masks them around the change,
    runs the release's test and rolls back by itself when it fails.
  - The collection's C(docs/software-update.md) says what happens when the controller or the machine
    dies at each step, and shows how to answer which files ran on a machine on a given day.
'''

EXAMPLES = r'''
- name: Install a release from a bundle copied to the machine
  poscloud.fleet.software_release:
    src: /var/tmp/pos-agent-1.4.2.tar.gz
    sha256: "{{ bundle_sha256 }}"
  register: release

- name: What would the release change? (no change is made)
  poscloud.fleet.software_release:
    src: /var/tmp/pos-agent-1.4.2.tar.gz
    sha256: "{{ bundle_sha256 }}"
  check_mode: true
  diff: true
  register: plan

- name: Put back the state before the last change
  poscloud.fleet.software_release:
    state: rolled_back
    to: previous

- name: Put back a named release
  poscloud.fleet.software_release:
    state: rolled_back
    to: pos-agent-1.4.1

- name: Put back what was in place on the morning of the 1st of December
  poscloud.fleet.software_release:
    state: rolled_back
    to: "2026-12-01T08:00:00Z"

- name: Install the same release into the build server's copy of the machine (its image mounted)
  poscloud.fleet.software_release:
    src: /srv/releases/pos-agent-1.4.2
    root: /mnt/machine01
'''

RETURN = r'''
release:
  description: The release in place after the task (C((before any release)) when a rollback went back that far).
  returned: always
  type: str
  sample: pos-agent-1.4.2
previous_release:
  description: The release in place before the task, or null when there was none.
  returned: always
  type: str
  sample: pos-agent-1.4.1
test:
  description: The release's test command line (from C(release.json)), empty when it has none.
  returned: when O(state=present)
  type: str
  sample: /usr/local/bin/pos-agent --self-test
changes:
  description:
    - Every path of the change with its action (V(added), V(replaced), V(attributes), V(removed),
      V(unchanged)) and its state before and after (V(sha256), V(mode), V(uid), V(gid); null for no file).
  returned: always
  type: list
  elements: dict
  sample:
    - path: /usr/local/bin/pos-agent
      action: replaced
      before: {sha256: 3b4c..., mode: "0755", uid: 0, gid: 0}
      after: {sha256: 9f2e..., mode: "0755", uid: 0, gid: 0}
record:
  description: The history record the task appended (null when nothing changed, or in check mode the record it would append).
  returned: always
  type: dict
interrupted:
  description: The record of an interrupted earlier change that this task put back first, or null.
  returned: always
  type: dict
history:
  description: A line per history record (V(seq), V(release), V(action), V(time), V(paths), V(changed_paths)), oldest first.
  returned: always
  type: list
  elements: dict
objects_removed:
  description: The objects retention removed (SHA-256 names).
  returned: always
  type: list
  elements: str
'''

import os
import re

from ansible_collections.poscloud.fleet.plugins.module_utils import release as rel
from ansible_collections.poscloud.fleet.plugins.module_utils.common import sha256_file, sha256_stream
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import exit_with, fleet_module

SHA_RE = re.compile(r'[0-9a-fA-F]{64}\Z')


class ReleaseManager(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.check = module.check_mode
        self.store = rel.Store(self.p['root'], self.p['store'])
        self.stored = []

    def check_options(self):
        p = self.p
        if not os.path.isdir(p['root']):
            self.module.fail_json(msg='root: %s is not a folder; give the machine root (/) or the mount point of its image' % p['root'])
        if not p['store'].startswith('/'):
            self.module.fail_json(msg='store: %r is not an absolute path on the machine' % p['store'])
        if p['keep'] < 1:
            self.module.fail_json(msg='keep: %d keeps no history record; give 1 or more (a rollback needs the '
                                      'contents the last change replaced)' % p['keep'])
        if p['sha256'] is not None and not SHA_RE.match(p['sha256']):
            self.module.fail_json(msg='sha256: %r is not a SHA-256 (64 hex digits)' % p['sha256'])
        if p['state'] == 'present':
            if not os.path.exists(p['src']):
                self.module.fail_json(msg='src: %s does not exist on the machine; copy the bundle there first' % p['src'])
            if os.path.isfile(p['src']):
                if p['sha256'] is None:
                    self.module.fail_json(msg='sha256: required when src is a tarball (%s); give the bundle\'s SHA-256' % p['src'])
                actual = sha256_file(p['src'])
                if actual != p['sha256'].lower():
                    self.module.fail_json(msg='src: %s has SHA-256 %s, sha256 says %s; the bundle is not the one '
                                              'expected, nothing was changed' % (p['src'], actual, p['sha256'].lower()))

    def bundle_contents(self, bundle, manifest):
        """Check every file of the bundle against the manifest, storing each (outside check mode).
        On a mismatch, the objects stored by this task are removed and the task fails."""
        problems = []
        for n, entry in enumerate(manifest['files']):
            stream = bundle.open(rel.content_name(entry['path']))
            if stream is None:
                problems.append('files[%d]: the bundle has no %s for %s' % (n, rel.content_name(entry['path']), entry['path']))
                continue
            with stream:
                if self.check or self.store.has(entry['sha256']):
                    actual = sha256_stream(stream)
                    if actual != entry['sha256']:
                        problems.append('files[%d]: the bundle\'s %s has SHA-256 %s, release.json says %s'
                                        % (n, entry['path'], actual, entry['sha256']))
                    continue
                try:
                    if self.store.put_stream(entry['sha256'], stream):
                        self.stored.append(entry['sha256'])
                except rel.ReleaseError as e:
                    problems.append('files[%d]: the bundle\'s %s: %s, not what release.json says' % (n, entry['path'], e))
        if problems:
            self.drop_stored()
            self.module.fail_json(msg='the bundle does not match its release.json, nothing was changed: ' + '; '.join(problems))

    def drop_stored(self):
        for digest in self.stored:
            self.store.remove_object(digest)
        self.stored = []

    def present(self, records):
        bundle = rel.Bundle(self.p['src'])
        try:
            manifest = rel.validate_manifest(bundle.manifest(), self.store.root, self.p['store'])
            self.bundle_contents(bundle, manifest)
        finally:
            bundle.close()
        desired = dict((f['path'], {'sha256': f['sha256'], 'mode': f['mode'], 'uid': f['uid'], 'gid': f['gid']})
                       for f in manifest['files'])
        desired.update(dict((path, None) for path in manifest['remove']))
        paths = rel.plan(self.store, desired)
        record = None
        if rel.changed_paths(paths) or rel.current_release(records) != manifest['id']:
            record = rel.new_record(records, manifest['id'], 'install', paths,
                                    bundle_sha256=(self.p['sha256'] or '').lower() or None,
                                    from_release=rel.current_release(records))
        return manifest, paths, record

    def rolled_back(self, records):
        index = rel.rollback_index(records, self.p['to'])
        target = rel.release_at(records, index)
        paths = rel.plan(self.store, rel.states_at(records, index))
        problems = []
        for path in rel.changed_paths(paths):
            after = paths[path]['after']
            if after is not None:
                problem = self.store.object_problem(after['sha256'])
                if problem:
                    problems.append('%s: %s' % (path, problem))
        if problems:
            self.module.fail_json(msg='cannot put back %s, nothing was changed: %s' % (target, '; '.join(problems)),
                                  missing=problems)
        record = None
        if rel.changed_paths(paths) or rel.current_release(records) != target:
            record = rel.new_record(records, target, 'rollback', paths, from_release=rel.current_release(records),
                                    to=self.p['to'])
        return target, paths, record

    def run(self):
        self.check_options()
        result = dict(changed=False, interrupted=None, record=None, objects_removed=[], test='')
        exists = os.path.isdir(self.store.dir)
        if self.check and not exists:
            return self.work(result)
        with self.store.locked():
            return self.work(result)

    def work(self, result):
        interrupted = rel.settle_pending(self.store, self.check)
        if interrupted:
            result['changed'] = True
            result['interrupted'] = interrupted
        records = self.store.history()
        if interrupted and self.check:
            records = records + [interrupted]
        previous = rel.current_release(records)
        if self.p['state'] == 'present':
            manifest, paths, record = self.present(records)
            result['test'] = manifest['test']
            release = manifest['id']
            verb = 'install %s' % release
        else:
            release, paths, record = self.rolled_back(records)
            verb = 'put back %s' % release
        changed = rel.changed_paths(paths)
        if record is not None:
            result['changed'] = True
            if not self.check:
                try:
                    rel.apply(self.store, record)
                except Exception:
                    self.drop_stored()
                    raise
                self.stored = []
            records = records + [record]
        result['objects_removed'] = rel.prune(self.store, self.p['keep'], self.check) if os.path.isdir(self.store.dir) else []
        if result['objects_removed']:
            result['changed'] = True
        result.update(release=record['release'] if record else (rel.current_release(records) or release),
                      previous_release=previous, record=record, changes=rel.changes(paths),
                      history=[rel.summary(r) for r in records])
        if record is None:
            result['msg'] = '%s is in place; nothing to change' % release
        else:
            result['msg'] = '%s%s: %d of %d paths changed' % ('would ' if self.check else '', verb, len(changed), len(paths))
        if self.module._diff:
            result['diff'] = rel.diff(paths)
        return result


def main():
    module = fleet_module(dict(
        state=dict(type='str', choices=['present', 'rolled_back'], default='present'),
        src=dict(type='path'),
        sha256=dict(type='str'),
        to=dict(type='str', default='previous'),
        keep=dict(type='int', default=10),
        **rel.store_argument_spec()
    ), required_if=[('state', 'present', ['src'])])
    exit_with(module, lambda: ReleaseManager(module).run(), [((rel.ReleaseError, ValueError), '')])


if __name__ == '__main__':
    main()
