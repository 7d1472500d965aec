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


PATH_MAX = 4096
NAME_MAX = 255


def path_problem(value):
    """Why ``value`` cannot be a path on Linux (a NUL byte, too long), or None."""
    if '\0' in value:
        return 'contains a NUL byte'
    if len(value.encode('utf-8', 'surrogateescape')) >= PATH_MAX:
        return 'is longer than %d bytes' % PATH_MAX
    if any(len(part.encode('utf-8', 'surrogateescape')) > NAME_MAX for part in value.split('/')):
        return 'has a name longer than %d bytes' % NAME_MAX
    return None


def check_path_options(module):
    """fail_json naming the option when a path option (or an element of a list of paths) cannot be a
    path at all, before anything is read or written."""
    for name, spec in module.argument_spec.items():
        value = module.params.get(name)
        if value is None:
            continue
        if spec.get('type') == 'path':
            values = [value]
        elif spec.get('type') == 'list' and spec.get('elements') == 'path':
            values = value
        else:
            continue
        for v in values:
            problem = path_problem(v)
            if problem:
                module.fail_json(msg='%s: %r %s; give a path' % (name, v[:80], problem))


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
    """Write ``data`` (text or bytes) to ``path`` through a temporary file in the same folder, renamed
    over ``path``, creating the folder when needed. The file has exactly ``mode`` from its first
    moment (``module.atomic_move`` would give a new file the umask's mode instead)."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    if not isinstance(data, bytes):
        data = data.encode('utf-8')
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
