#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: data_manifest
short_description: Make, keep and check the manifest of a store's data
version_added: 0.1.0
description:
  - Makes the manifest of a store's data paths, one entry per file, folder and link with its path,
    type, size, permission bits and SHA-256, and a digest over all of them. Two copies of the data
    are equal when their digests are equal; the entries name what differs when they are not.
  - Reads a folder tree (the live data on a physical server, the data volumes of a cloud instance)
    or a tar archive of the data paths (a backup set), so a backup can be checked without
    extracting it.
  - Optionally writes the manifest to a file, and checks the data against a digest or a manifest
    file, failing with the differences when they do not match.
extends_documentation_fragment: [poscloud.fleet.attributes, poscloud.fleet.docker_engine]
attributes:
  check_mode:
    support: full
    details: In check mode the manifest is made and checked but not written.
  diff_mode:
    support: none
options:
  paths:
    description:
      - The data paths, absolute, as the application profile lists them (C(data_paths)).
    type: list
    elements: path
    required: true
  root:
    description:
      - Folder the data paths are found under, for data copied somewhere else than its own path.
    type: path
    default: /
  volumes:
    description:
      - Read each data path from a Docker volume of the engine on this host instead of from the
        folders, as data path -> volume name (the C(volumes) result of M(poscloud.fleet.pos_profile)).
        That is a POS instance's data, read on its cloud host without entering the instance.
      - Every path of O(paths) needs a volume. O(root) is not used. Only the C(docker) client is
        run (C(docker volume inspect), for the folders), so the O(docker_host), O(docker_cli) and
        O(docker_timeout) options apply; the folders must be readable where the module runs (root,
        on the engine's host).
    type: dict
  archive:
    description:
      - Make the manifest from this tar archive instead of the folders. Its members must be the
        data paths without the leading C(/), as C(tar -C / -cf set.tar usr2/pos) writes them.
    type: path
  exclude:
    description:
      - Glob patterns of names (or paths relative to their data path) left out, such as C(*.tmp);
        use the same list as the copy that is checked.
    type: list
    elements: str
    default: []
  dest:
    description:
      - Write the manifest (one JSON object per line, in path order) to this file, atomically. When
        it is a symlink, its target is written and the link stays.
    type: path
  mode:
    description:
      - Permissions of O(dest), as an octal string (V('0640')) or a number in 0..0o7777.
      - Checked in check mode too; anything else (V(rw-r-----), V('0999'), V(-1)) is refused.
      - An up-to-date O(dest) with other permissions is given these (a change).
    type: raw
    default: '0640'
  expect_digest:
    description:
      - Fail unless the manifest's digest equals this one.
    type: str
  expect_file:
    description:
      - Fail unless the manifest equals the one in this file, naming the entries that differ.
    type: path
  cache:
    description:
      - File of the SHA-256 sums of the last run over these folders. A file whose inode, size,
        modification and change times are unchanged since then (and that was not modified within
        a second before that run) is not read again; every other file is. The file is rewritten
        after each run (also in check mode, as it describes the data, not a change to it).
      - Make one outside a cutover window (after the pre-sync) and the manifest inside the window
        reads only what changed since. The change time cannot be set back by a program, so a file
        changed in any way is read again.
    type: path
  return_entries:
    description:
      - Return every entry (large for big data sets).
    type: bool
    default: false
seealso:
  - module: poscloud.fleet.pos_profile
notes:
  - Folders contribute their permission bits, not their times; files are compared by content.
'''

EXAMPLES = r'''
- name: Manifest of the data on the store's physical server
  poscloud.fleet.data_manifest:
    paths: [/usr2/pos]
    exclude: ["*.tmp", "*.db-shm"]
  register: source

- name: The cloud copy must be identical
  poscloud.fleet.data_manifest:
    paths: [/usr2/pos]
    exclude: ["*.tmp", "*.db-shm"]
    expect_digest: "{{ source.digest }}"

- name: Keep the manifest of a backup set beside it
  poscloud.fleet.data_manifest:
    paths: [/usr2/pos]
    archive: /var/lib/poscloud-fleet/backups/12345678/20261123T101500Z/data.tar
    dest: /var/lib/poscloud-fleet/backups/12345678/20261123T101500Z/manifest.jsonl

- name: Check a backup set before restoring it
  poscloud.fleet.data_manifest:
    paths: [/usr2/pos]
    archive: /var/lib/poscloud-fleet/backups/12345678/20261123T101500Z/data.tar
    expect_file: /var/lib/poscloud-fleet/backups/12345678/20261123T101500Z/manifest.jsonl

- name: Compare a POS instance's data, read from its volumes on its cloud host, with the server's manifest
  poscloud.fleet.data_manifest:
    paths: [/usr2/pos]
    volumes:
      /usr2/pos: pos_12345678_usr2_pos
    expect_file: /var/lib/poscloud-fleet/stores/12345678/source-manifest.jsonl
'''

RETURN = r'''
digest:
  description: SHA-256 of the manifest's canonical text.
  returned: always
  type: str
  sample: 3f1c0c5e0b1c3b0e54c1a1f7f1c52b1f1f7c0a4d8e3b2a1c9d8e7f6a5b4c3d2e
entries:
  description: Number of entries (files, folders and links).
  returned: always
  type: int
  sample: 2051
files:
  description: Number of files.
  returned: always
  type: int
  sample: 2003
bytes:
  description: Total size of the files.
  returned: always
  type: int
  sample: 209715200
differences:
  description: What differs from O(expect_file), at most 20 lines (empty when it matches or was not given).
  returned: always
  type: list
  elements: str
  sample: ["differs (sha256): /usr2/pos/db/pos.db"]
manifest:
  description: Every entry, when O(return_entries) is true.
  returned: when return_entries is true
  type: list
  elements: dict
'''

import os
import re
import stat

from ansible_collections.poscloud.fleet.plugins.module_utils import manifest as mf
from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError, cli_for, docker_argument_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_write, parse_mode
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module


def volume_trees(module, paths, volumes):
    """(folder, data path) for each data path, the folder being its volume's on this host."""
    volumes = dict((os.path.normpath(k), v) for k, v in volumes.items())
    missing = [x for x in paths if not volumes.get(x)]
    if missing:
        module.fail_json(msg='volumes: no volume is given for the data path %s; give one for each of paths '
                             '(the volumes result of poscloud.fleet.pos_profile)' % ', '.join(missing))
    try:
        where = cli_for(module).volume_mountpoints(sorted(set(volumes[x] for x in paths)))
    except DockerError as e:
        module.fail_json(msg='volumes: %s' % e)
    trees = []
    for path in paths:
        folder = where.get(volumes[path])
        if not folder or not os.path.isdir(folder):
            module.fail_json(msg='volumes: the folder of volume %s (%s) cannot be read on this host; run the module '
                                 'as root on the engine\'s host' % (volumes[path], folder))
        trees.append((folder, path))
    return trees


def main():
    module = fleet_module(dict(
        paths=dict(type='list', elements='path', required=True),
        root=dict(type='path', default='/'),
        archive=dict(type='path'),
        volumes=dict(type='dict'),
        exclude=dict(type='list', elements='str', default=[]),
        dest=dict(type='path'),
        mode=dict(type='raw', default='0640'),
        expect_digest=dict(type='str'),
        expect_file=dict(type='path'),
        cache=dict(type='path'),
        return_entries=dict(type='bool', default=False),
        **docker_argument_spec()
    ), mutually_exclusive=[('archive', 'volumes')])
    p = module.params
    try:
        dest_mode = parse_mode(p['mode'], 'mode')
    except ValueError as e:
        module.fail_json(msg=str(e))
    if p['expect_digest'] is not None and not re.match(r'[0-9a-f]{64}\Z', p['expect_digest']):
        module.fail_json(msg='expect_digest: %r is not a manifest digest (64 lower-case hex digits, the digest '
                             'result of an earlier run)' % (p['expect_digest'][:80],))
    paths = [os.path.normpath(x) for x in p['paths']]
    bad = [x for x in paths if not x.startswith('/') or x == '/']
    if bad:
        module.fail_json(msg='paths: %s must be absolute data folders such as /usr2/pos' % ', '.join(bad))
    try:
        if p['archive']:
            if not os.path.isfile(p['archive']):
                module.fail_json(msg='archive: %s does not exist' % p['archive'])
            entries = mf.tar_entries(p['archive'], paths, p['exclude'])
        elif p['volumes'] is not None:
            entries = mf.cached_tree_entries(volume_trees(module, paths, p['volumes']), p['exclude'], p['cache'], module)
        else:
            trees = []
            for path in paths:
                where = os.path.join(p['root'], path.lstrip('/'))
                if not os.path.isdir(where):
                    module.fail_json(msg='paths: %s does not exist under root %s' % (path, p['root']))
                trees.append((where, path))
            entries = mf.cached_tree_entries(trees, p['exclude'], p['cache'], module)
        expected = None
        if p['expect_file']:
            if not os.path.isfile(p['expect_file']):
                module.fail_json(msg='expect_file: %s does not exist' % p['expect_file'])
            try:
                with open(p['expect_file'], 'rb') as f:
                    raw = f.read()
            except (IOError, OSError) as e:
                module.fail_json(msg='expect_file: cannot read %s: %s' % (p['expect_file'], e))
            try:
                expected_text = raw.decode('utf-8')
            except UnicodeDecodeError as e:
                module.fail_json(msg='expect_file: %s is not UTF-8 text (byte %d); give a manifest written by this module'
                                 % (p['expect_file'], e.start))
            try:
                expected = mf.parse_manifest(expected_text)
            except mf.ManifestError as e:
                module.fail_json(msg='expect_file: %s: %s' % (p['expect_file'], e))
    except mf.ManifestError as e:
        module.fail_json(msg=str(e))

    result = mf.summarize(entries)
    result['differences'] = []
    result['changed'] = False
    if expected is not None:
        result['differences'] = mf.compare(expected, entries)
    text = mf.manifest_text(entries)
    if p['dest']:
        try:
            with open(p['dest'], 'rb') as f:
                current = f.read()
            current_mode = stat.S_IMODE(os.stat(p['dest']).st_mode)
        except (IOError, OSError):
            current, current_mode = None, None
        if current != text.encode('utf-8') or current_mode != dest_mode:
            result['changed'] = True
            if not module.check_mode:
                atomic_write(module, p['dest'], text, dest_mode)
    if p['return_entries']:
        result['manifest'] = sorted(entries, key=lambda e: e['path'])
    if result['differences']:
        module.fail_json(msg='The data does not match the manifest %s: %s'
                         % (p['expect_file'], '; '.join(result['differences'])), **result)
    if p['expect_digest'] and p['expect_digest'] != result['digest']:
        module.fail_json(msg='The data does not match: manifest digest %s, expect_digest %s'
                         % (result['digest'], p['expect_digest']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
