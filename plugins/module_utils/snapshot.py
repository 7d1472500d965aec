# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind container snapshots: tag names, retention, change detection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import stat
from datetime import datetime

from ansible_collections.poscloud.fleet.plugins.module_utils.common import sha256_json

TIMESTAMP_FORMAT = '%Y%m%dT%H%M%SZ'
TIMESTAMP_RE = re.compile(r'^\d{8}T\d{6}Z\Z')
# Dockerfile instructions that `docker commit --change` accepts.
CHANGE_INSTRUCTIONS = ('CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'USER', 'WORKDIR', 'VOLUME',
                       'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK')
ALLOWED_CHANGES = ('CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'USER', 'WORKDIR', 'VOLUME')


class SnapshotError(Exception):
    pass


def timestamp_tag(when):
    """The tag of a snapshot taken at ``when`` (a naive UTC datetime): 20260123T104501Z."""
    return when.strftime(TIMESTAMP_FORMAT)


def unique_timestamp_tag(when, existing_tags):
    """A timestamp tag not in ``existing_tags``; a second snapshot in the same second gets -1, -2..."""
    base = timestamp_tag(when)
    tag = base
    n = 0
    while tag in existing_tags:
        n += 1
        tag = '%s-%d' % (base, n)
    return tag


def parse_timestamp_tag(tag):
    """The datetime of a timestamp tag (suffix ignored), or None for other tags."""
    base = tag.split('-', 1)[0]
    if not TIMESTAMP_RE.match(base):
        return None
    return datetime.strptime(base, TIMESTAMP_FORMAT)


def validate_changes(changes):
    """Check ``docker commit --change`` instructions; returns them stripped."""
    out = []
    for i, change in enumerate(changes or []):
        text = (change or '').strip()
        word = text.split(None, 1)[0].upper() if text else ''
        if word not in ALLOWED_CHANGES:
            raise SnapshotError('changes[%d]: %r must start with one of %s' % (i, change, ', '.join(ALLOWED_CHANGES)))
        if len(text.split(None, 1)) < 2:
            raise SnapshotError('changes[%d]: %r has no value' % (i, change))
        out.append(text)
    return out


def retention_plan(snapshots, keep, in_use_ids):
    """Which snapshots to remove to keep ``keep`` of them.

    ``snapshots`` are dicts with ``id`` and ``created`` (sortable); the newest is never removed,
    nor any whose id is in ``in_use_ids``. Those two still count towards ``keep``.
    Returns the ids to remove, oldest first.
    """
    if keep is None or keep <= 0:
        return []
    ordered = sorted(snapshots, key=lambda s: s['created'], reverse=True)
    unique = []
    seen = set()
    for s in ordered:
        if s['id'] not in seen:
            seen.add(s['id'])
            unique.append(s)
    protected = set(i['id'] for i in unique if i['id'] in set(in_use_ids))
    if unique:
        protected.add(unique[0]['id'])
    room = max(keep - len(protected), 0)
    remove = []
    for s in unique:
        if s['id'] in protected:
            continue
        if room > 0:
            room -= 1
            continue
        remove.append(s['id'])
    return list(reversed(remove))


def tree_digest(root):
    """Digest of a folder's entries: path, type, mode, size, mtime (ns), link target.

    Used on a container's writable layer (its overlay2 upper dir): equal digests mean no file was
    added, removed or written since. File contents are not read; a write changes the mtime.
    """
    h = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        rel_folder = os.path.relpath(folder, root)
        for name in sorted(dirs + files):
            path = os.path.join(folder, name)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            entry = [os.path.join(rel_folder, name), kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid]
            if stat.S_ISREG(st.st_mode):
                entry += [st.st_size, st.st_mtime_ns]
            elif stat.S_ISLNK(st.st_mode):
                entry.append(os.readlink(path))
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                entry.append(st.st_rdev)
            h.update(repr(entry).encode('utf-8', 'surrogateescape'))
            h.update(b'\n')
    return h.hexdigest()


def source_digest(container_id, fs_digest, changes, labels):
    """What a snapshot was taken of: the container, its writable layer, and what was asked."""
    return sha256_json({'container': container_id, 'fs': fs_digest, 'changes': list(changes), 'labels': labels})


def parse_sha256_file(text, filename=None):
    """The checksum from a ``sha256sum`` style line (``<hex>  <name>``) or a bare digest."""
    for line in text.splitlines():
        parts = line.strip().split()
        if not parts:
            continue
        digest = parts[0].lower()
        if not re.match(r'^[0-9a-f]{64}\Z', digest):
            continue
        name = parts[1].lstrip('*') if len(parts) > 1 else None
        if filename is None or name is None or os.path.basename(name) == os.path.basename(filename):
            return digest
    raise SnapshotError('no SHA-256 checksum%s found in the checksum file' % (' for %s' % filename if filename else ''))
