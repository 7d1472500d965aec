# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic file writes and file mode checks shared by the modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile

_OCTAL = re.compile(r'0?[0-7]{1,4}\Z')


def parse_mode(value, field):
    """Return the permission bits given as an octal string ('0644', '640') or an int in 0..0o7777.

    Raise ValueError with a message naming ``field`` for anything else: negative or too large
    numbers, symbolic modes ('rw-r-----'), digits 8 or 9, booleans and other types."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError('%s: %r is not a file mode; give an octal string such as 0644' % (field, value))
    if isinstance(value, int):
        if 0 <= value <= 0o7777:
            return value
        raise ValueError('%s: %r is outside 0..0o7777; give an octal string such as 0644' % (field, value))
    if not _OCTAL.match(value):
        raise ValueError('%s: %r is not an octal mode of up to four digits 0-7 such as 0644' % (field, value))
    return int(value, 8)


def atomic_write(module, path, data, mode=0o644):
    """Write ``data`` (text or bytes) to ``path`` through a temporary file in the same folder and
    ``module.atomic_move``, creating the folder when needed."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    if not isinstance(data, bytes):
        data = data.encode('utf-8')
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, mode)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
