# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every part of the collection shares: the prefix of its image labels, one canonical JSON
form, and SHA-256 of bytes, of a stream (also while copying it), of a file and of a JSON value."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

LABEL_PREFIX = 'poscloud.fleet.'
# Bytes read at a time when a stream or a file is hashed.
CHUNK = 1024 * 1024


def canonical_json(value):
    """Serialise ``value`` the same way every time (sorted keys, no spaces, ASCII)."""
    return json.dumps(value, sort_keys=True, separators=(',', ':'), ensure_ascii=True)


def sha256_bytes(data):
    """Hex SHA-256 of ``data``; text is hashed as UTF-8."""
    if not isinstance(data, bytes):
        data = data.encode('utf-8')
    return hashlib.sha256(data).hexdigest()


def copy_hashed(src, dst=None):
    """Copy what is left to read in the binary file object ``src`` to the one ``dst`` (None: nowhere), in
    chunks; return the hex SHA-256 and the number of bytes."""
    h = hashlib.sha256()
    size = 0
    while True:
        block = src.read(CHUNK)
        if not block:
            return h.hexdigest(), size
        h.update(block)
        if dst is not None:
            dst.write(block)
        size += len(block)


def sha256_stream(f):
    """Hex SHA-256 of what is left to read in the binary file object ``f``, read in chunks."""
    return copy_hashed(f)[0]


def sha256_file(path):
    """Hex SHA-256 of the content of the file at ``path``."""
    with open(path, 'rb') as f:
        return sha256_stream(f)


def sha256_json(value):
    """Hex SHA-256 of the canonical JSON form of ``value``."""
    return sha256_bytes(canonical_json(value))
