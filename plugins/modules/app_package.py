#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: app_package
short_description: Pack a folder into reproducible, checksummed install media
version_added: 0.1.0
description:
  - Packs the files of a folder into a C(.tar.gz) whose bytes depend only on the files' names,
    contents and executable bits (entries sorted, owner root, fixed times, no gzip time stamp), and
    writes C(<dest>.sha256) beside it.
  - The same folder always gives the same checksum, so a profile can pin the checksum of install
    media the project builds itself, and staging can verify it.
  - With O(expected_sha256), a result with another checksum fails and nothing is written.
extends_documentation_fragment: [poscloud.fleet.attributes]
attributes:
  check_mode:
    support: full
    details: Computes the checksum and reports whether the file would be written.
  diff_mode:
    support: full
    details: Shows the checksum before and after.
options:
  src:
    description: Folder whose files are packed. Hidden files and C(__pycache__) folders are left out.
    type: path
    required: true
  dest:
    description: The C(.tar.gz) to write.
    type: path
    required: true
  prefix:
    description:
      - Folder name the files are placed under inside the archive, for example C(demo-pos-1.0.0).
      - Up to 100 letters, digits, C(.), C(_), C(+) or C(-), starting with a letter or digit.
    type: str
    required: true
  expected_sha256:
    description:
      - Fail, writing nothing, when the archive's SHA-256 differs from this (64 hex digits; anything
        else is refused before the archive is made).
    type: str
'''

EXAMPLES = r'''
- name: Build the demo POS install media and check it against the profile's pinned checksum
  poscloud.fleet.app_package:
    src: "{{ playbook_dir }}/../apps/demo_pos"
    dest: /var/lib/poscloud-fleet/media/demo-pos-1.0.0.tar.gz
    prefix: demo-pos-1.0.0
    expected_sha256: "{{ pos_profile.media.sha256 }}"
'''

RETURN = r'''
sha256:
  description: SHA-256 of the archive.
  returned: always
  type: str
size:
  description: Size of the archive in bytes.
  returned: always
  type: int
files:
  description: Number of files packed.
  returned: always
  type: int
'''

import gzip
import io
import os
import re
import tarfile


from ansible_collections.poscloud.fleet.plugins.module_utils.common import sha256_bytes, sha256_file
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_write
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module

MTIME = 946684800  # 2000-01-01T00:00:00Z


def collect(src):
    found = []
    for folder, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.') and d != '__pycache__')
        for name in sorted(files):
            if name.startswith('.') or name.endswith('.pyc'):
                continue
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                found.append(os.path.relpath(path, src))
    return sorted(found)


def pack(src, prefix):
    """The archive's bytes and the number of files in it."""
    raw = io.BytesIO()
    files = collect(src)
    with tarfile.open(fileobj=raw, mode='w', format=tarfile.USTAR_FORMAT) as tar:
        dirs = set()
        for rel in files:
            parts = rel.split(os.sep)[:-1]
            for i in range(len(parts) + 1):
                d = '/'.join([prefix] + parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
                    tar.addfile(info)
            path = os.path.join(src, rel)
            with open(path, 'rb') as f:
                data = f.read()
            info = tarfile.TarInfo('/'.join([prefix] + rel.split(os.sep)))
            info.size, info.mtime = len(data), MTIME
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = 'root'
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode='wb', compresslevel=9, mtime=0, filename='') as gz:
        gz.write(raw.getvalue())
    return out.getvalue(), len(files)


def main():
    module = fleet_module(dict(
        src=dict(type='path', required=True),
        dest=dict(type='path', required=True),
        prefix=dict(type='str', required=True),
        expected_sha256=dict(type='str'),
    ))
    p = module.params
    if p['expected_sha256'] is not None and not re.match(r'[0-9a-fA-F]{64}\Z', p['expected_sha256']):
        module.fail_json(msg='expected_sha256: %r is not a SHA-256 (64 hex digits, as sha256sum prints it)'
                             % (p['expected_sha256'][:80],))
    prefix = p['prefix']
    if not re.match(r'[A-Za-z0-9][A-Za-z0-9._+-]{0,99}\Z', prefix):
        module.fail_json(msg='prefix: %r must be a folder name of up to 100 letters, digits, ".", "_", "+" or "-", '
                             'such as demo-pos-1.0.1' % (prefix[:80],))
    if not os.path.isdir(p['src']):
        module.fail_json(msg='src: %s is not a folder' % p['src'])
    try:
        data, count = pack(p['src'], prefix)
    except (ValueError, IOError, OSError) as e:
        module.fail_json(msg='src: cannot pack %s under %s: %s' % (p['src'], prefix, e))
    digest = sha256_bytes(data)
    result = dict(changed=False, sha256=digest, size=len(data), files=count, dest=p['dest'])
    if p['expected_sha256'] and p['expected_sha256'].lower() != digest:
        module.fail_json(msg='expected_sha256: the media packed from %s has SHA-256 %s, not %s: the application files '
                             'changed; give the new checksum (and a new version) in the profile' % (
                                 p['src'], digest, p['expected_sha256']), **result)
    before = None
    if os.path.isfile(p['dest']):
        before = sha256_file(p['dest'])
    sum_text = '%s  %s\n' % (digest, os.path.basename(p['dest']))
    sum_path = p['dest'] + '.sha256'
    current_sum = None
    if os.path.isfile(sum_path):
        with open(sum_path) as f:
            current_sum = f.read()
    if before == digest and current_sum == sum_text:
        module.exit_json(**result)
    result.update(changed=True, diff={'before': {'sha256': before}, 'after': {'sha256': digest}})
    if not module.check_mode:
        atomic_write(module, p['dest'], data)
        atomic_write(module, sum_path, sum_text)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
