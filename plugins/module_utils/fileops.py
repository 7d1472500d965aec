# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic file writes, file mode and path checks shared by the modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import os
import pwd
import re
import stat
import tempfile

from contextlib import contextmanager

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


def _account_id(field, value):
    """The numeric id a user (``field`` owner) or group (``field`` group) given as a name, a number or a
    numeric string stands for; ValueError naming the field otherwise."""
    kind, number = ('user', 'uid') if field == 'owner' else ('group', 'gid')
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError('%s: %r is not a %s; give a %s name or a numeric %s' % (field, value, kind, kind, number))
    if isinstance(value, str) and not value.isdigit():
        try:
            return pwd.getpwnam(value).pw_uid if field == 'owner' else grp.getgrnam(value).gr_gid
        except KeyError:
            raise ValueError('%s: there is no %s %r on this host; give an existing %s name or a numeric %s'
                             % (field, kind, value, kind, number))
    if not 0 <= int(value) < 2 ** 32 - 1:
        raise ValueError('%s: %r is outside 0..4294967294; give a %s name or a numeric %s' % (field, value, kind, number))
    return int(value)


def write_target(path):
    """The file a write to ``path`` replaces: the end of its chain of symlinks (the links stay links, as
    with a grubenv linked into the EFI partition), or ``path`` itself. ValueError for a symlink loop."""
    target = os.path.realpath(os.path.abspath(path))
    if os.path.islink(target):
        raise ValueError('%s: its symlinks form a loop; point the link at a file' % path)
    return target


def remove_file(path):
    """Remove the file (or link) ``path``; return False when there was none. Other errors raise."""
    try:
        os.remove(path)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
        return False
    return True


def fsync_folder(folder):
    """Flush the folder's entries (a rename in it) to the disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as e:
        # a file system that cannot sync folders (EINVAL) has made the rename as durable as it can
        if e.errno != errno.EINVAL:
            raise
    finally:
        os.close(fd)


@contextmanager
def atomic_file(path, mode=0o644, owner=None, group=None, module=None, prefix='.tmp-'):
    """Replace the file ``path`` names, atomically: yields the name of a temporary file (mode 0600, in the
    folder of the target) for the caller to fill; when the block ends normally the temporary file is
    synced, given ``owner``, ``group`` and exactly ``mode`` and renamed over the target, and the folder
    is synced. When the block raises, the temporary file is removed and the target is left as it was.

    ``path`` may be a symlink: its final target is written and the link stays a link. ``mode`` None
    keeps the mode of the file replaced (0644 for a new file); ``owner`` or ``group`` None keep those of
    the file replaced (the writer's for a new file). With ``module``, the SELinux context of the file
    replaced (or the folder's default) is kept, as ``AnsibleModule.atomic_move`` does. The folder is
    made when missing. Raises ValueError for an unknown owner or group before anything is written."""
    uid = None if owner is None else _account_id('owner', owner)
    gid = None if group is None else _account_id('group', group)
    target = write_target(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    try:
        old = os.stat(target)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
        old = None
    if mode is None:
        mode = stat.S_IMODE(old.st_mode) if old is not None else 0o644
    asked = (uid, gid)
    if old is not None:
        uid = old.st_uid if uid is None else uid
        gid = old.st_gid if gid is None else gid
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix)
    try:
        os.close(fd)
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
            st = os.fstat(fd)
            if (uid is not None and uid != st.st_uid) or (gid is not None and gid != st.st_gid):
                try:
                    os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
                except OSError as e:
                    # keeping the owner of the file replaced is a courtesy a user that is not root
                    # cannot always give; an owner or group asked for is not
                    if e.errno != errno.EPERM or asked != (None, None):
                        raise
            # after the chown, which clears set-id bits
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        if module is not None and module.selinux_enabled():
            context = module.selinux_context(target) if old is not None else module.selinux_default_context(target)
            module.set_context_if_different(tmp, context, False)
        os.rename(tmp, target)
        fsync_folder(folder)
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


def atomic_write(module, path, data, mode=0o644, owner=None, group=None):
    """Write ``data`` (text, as UTF-8, or bytes) to the file ``path`` names through ``atomic_file``: the
    file has exactly ``mode`` (None: the mode of the file replaced) and the owner and group asked for
    from its first moment, data and folder reach the disk, a symlink is written through to its
    target, and a failed write leaves the old file as it was. ``module`` (an AnsibleModule, or None)
    is only used for SELinux contexts. Returns the path of the file written."""
    if not isinstance(data, bytes):
        data = data.encode('utf-8')
    target = write_target(path)
    with atomic_file(target, mode, owner, group, module) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)
    return target
