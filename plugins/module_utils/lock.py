# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A store's lock: one folder per store on its cloud host, made atomically with its owner inside.

The lock is a folder (``<state_dir>/<store>/lock``) holding ``owner.json``: the run that holds it
(``run_id``), the controller it runs on, that run's process id and start time, the operation, the
user and when it was taken. It is made by renaming a finished temporary folder into place, so a
reader never sees a lock without its owner, and two runs can never both make it.

Whether the owner still runs can be told only on the controller the owner runs on (its process and
that process's start time); the action plugin of the ``store_lock`` module does that.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import shutil
import tempfile
import time

from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_write

STORE_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,63}')
OWNER_FILE = 'owner.json'
OWNER_KEYS = ('run_id', 'controller', 'pid', 'pid_start', 'user', 'operation', 'started')


class LockError(Exception):
    pass


def lock_path(state_dir, store):
    if not isinstance(store, str) or not STORE_RE.fullmatch(store):
        raise LockError('store: %r is not a store id (letters, digits, ".", "_" and "-", at most 64)' % (store,))
    return os.path.join(state_dir, store, 'lock')


def read_owner(path):
    """The owner of the lock at ``path``, None when there is no lock. A lock folder whose owner
    file cannot be read counts as held by an unknown owner."""
    try:
        with open(os.path.join(path, OWNER_FILE)) as f:
            owner = json.load(f)
        if isinstance(owner, dict) and owner.get('run_id'):
            return owner
    except (IOError, OSError, ValueError):
        if not os.path.isdir(path):
            return None
    return {'run_id': '', 'controller': '?', 'pid': 0, 'pid_start': '', 'user': '?', 'operation': '?',
            'started': '?'}


def _write_json(folder, data):
    atomic_write(None, os.path.join(folder, OWNER_FILE), json.dumps(data, sort_keys=True), 0o600)


def acquire(path, owner, takeover_of=None, check_mode=False):
    """Take the lock at ``path`` for ``owner`` (a dict with at least run_id).

    Returns (outcome, holder): outcome is ``acquired`` (this call made it), ``ours`` (the same run
    holds it already), ``held`` (another run holds it; holder says who), ``taken_over`` (the lock
    of ``takeover_of``, a run id, now belongs to ``owner``) or, in check mode, ``would_acquire``."""
    holder = read_owner(path)
    if holder is not None:
        if holder.get('run_id') == owner['run_id']:
            return 'ours', holder
        if takeover_of is not None and holder.get('run_id', '') == takeover_of:
            if not check_mode:
                _write_json(path, owner)
            return 'taken_over', holder
        return 'held', holder
    if check_mode:
        return 'would_acquire', None
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o700, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix='.lock-')
    try:
        _write_json(tmp, owner)
        os.chmod(tmp, 0o700)
        try:
            os.rename(tmp, path)
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR):
                raise
            holder = read_owner(path)
            if holder is not None and holder.get('run_id') == owner['run_id']:
                return 'ours', holder
            return 'held', holder
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return 'acquired', None


def release(path, run_id, check_mode=False):
    """Give the lock up when ``run_id`` holds it. Returns (released, holder): a lock held by
    another run is left alone."""
    holder = read_owner(path)
    if holder is None:
        return False, None
    if holder.get('run_id') != run_id:
        return False, holder
    if not check_mode:
        shutil.rmtree(path)
    return True, holder


def process_start(pid, proc='/proc'):
    """The start time of process ``pid`` (clock ticks after boot, field 22 of /proc/PID/stat) as a
    string, or None when there is no such process."""
    try:
        with open(os.path.join(proc, str(int(pid)), 'stat')) as f:
            stat = f.read()
    except (IOError, OSError, ValueError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
    fields = stat[stat.rindex(')') + 2:].split()
    return fields[19] if len(fields) > 19 else None


def owner_alive(holder, controller, proc='/proc'):
    """True when the holder's run still runs, False when it is gone, None when it runs on another
    controller (or the owner is unknown) and cannot be told from here."""
    if not holder.get('run_id') or holder.get('controller') != controller:
        return None
    start = process_start(holder.get('pid', 0), proc)
    return start is not None and start == str(holder.get('pid_start'))


def describe(holder, now=None):
    """``cutover by root on ctl1 (pid 123), since 2026-12-03T09:00:00Z (42 s ago)``."""
    now = time.time() if now is None else now
    since = holder.get('started', '?')
    age = ''
    if isinstance(holder.get('started_epoch'), (int, float)):
        age = ' (%d s ago)' % max(0, int(now - holder['started_epoch']))
    return '%s by %s on %s (pid %s), since %s%s' % (
        holder.get('operation', '?'), holder.get('user', '?'), holder.get('controller', '?'),
        holder.get('pid', '?'), since, age)
