# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Software releases on a machine: a content-addressed store of file contents, an append-only
history of what each release changed, and the plans that install a release or put an earlier
state back exactly.

The store (``/var/lib/poscloud/releases`` by default, under the machine's root) holds:

- ``objects/<sha256>``: every content a release installed or replaced, written atomically and
  checked against its name before it is used;
- ``history.jsonl``: one record per change, appended and synced: its sequence number, the release,
  the action (``install``, ``rollback``, ``interrupted``), the time, and for every path of the
  release its state before and after (SHA-256, mode, uid and gid, or null for no file);
- ``pending.json``: while files are being replaced, the record that will be appended. A run that
  finds it knows the one before died in the middle, and puts every path of it back as it was
  before (the contents are in the store before the first file is touched).

A path's state at any record follows from the history alone: the ``after`` of the last record up
to it that touched the path, or, when none did, the ``before`` of the first record that did. So
any earlier state can be put back, and "which files were in place at time T" has one answer.

Pure functions over plain data, except where a function's name says it reads or writes the disk.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import errno
import fcntl
import grp
import json
import os
import posixpath
import pwd
import re
import shutil
import stat
import tarfile
import time

from contextlib import contextmanager

from ansible_collections.poscloud.fleet.plugins.module_utils.common import CHUNK, canonical_json, copy_hashed, sha256_file
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import (
    atomic_file, atomic_write, fsync_folder, parse_mode, remove_file)

STORE = '/var/lib/poscloud/releases'
ID_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._+-]{0,127}\Z')
SHA_RE = re.compile(r'[0-9a-f]{64}\Z')
NAME_RE = re.compile(r'[a-z_][a-z0-9_.-]{0,31}\$?\Z')
TIME_RE = re.compile(r'(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\Z')
MANIFEST = 'release.json'
ORIGINAL = '(before any release)'
# Paths a release may never write: the machine's virtual file systems, and the store itself.
FORBIDDEN = ('/proc', '/sys', '/dev', '/run')


def store_argument_spec():
    """The options of the poscloud.fleet.release_store documentation fragment: the machine's root
    folder and the store's folder on it."""
    return dict(root=dict(type='path', default='/'), store=dict(type='path', default=STORE))


class ReleaseError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Hashes and times

def now_text(clock=None):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime((clock or time.time)()))


def parse_time(value, field='to'):
    """Seconds since the epoch of an ISO 8601 time (``2026-12-04T10:15:00Z``, with an offset, or
    without one for UTC). A date alone means the end of that day (UTC). ValueError naming
    ``field`` otherwise."""
    m = TIME_RE.match(str(value).strip())
    if not m:
        raise ValueError('%s: %r is not a time; give an ISO 8601 time such as 2026-12-04T10:15:00Z or a date' % (field, value))
    y, mo, d, h, mi, s, zone = m.groups()
    date_only = h is None
    try:
        fields = (int(y), int(mo), int(d), int(h or 23), int(mi or 59), int(s or 59 if date_only else s or 0))
        if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= 31 and fields[3] < 24 and fields[4] < 60 and fields[5] < 61):
            raise ValueError
        seconds = calendar.timegm(fields + (0, 0, 0))
    except (ValueError, OverflowError):
        raise ValueError('%s: %r is not a valid time; give an ISO 8601 time such as 2026-12-04T10:15:00Z' % (field, value))
    if zone and zone != 'Z':
        sign = -1 if zone[0] == '-' else 1
        digits = zone[1:].replace(':', '')
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds


# ---------------------------------------------------------------------------------------------
# File states

def state_text(state):
    """A path's state in one line, for diffs and messages."""
    if state is None:
        return '(no file)'
    return '%s %s %d:%d' % (state['sha256'], state['mode'], state['uid'], state['gid'])


def same_state(a, b):
    if a is None or b is None:
        return a is b
    return all(a[k] == b[k] for k in ('sha256', 'mode', 'uid', 'gid'))


def resolve(root, path):
    """The file on this host that ``path`` names on the machine whose root is ``root``: each folder
    of the path is followed as the machine would follow it (a symlink to ``/usr/lib`` stays inside
    ``root``). ReleaseError when the path's last part is a symlink (a release replaces files, not
    links), a folder on the way is not one, or its symlinks loop."""
    root = os.path.abspath(root)
    todo = [p for p in path.split('/') if p]
    done = []
    hops = 0
    while len(todo) > 1:
        part = todo.pop(0)
        if part == '.':
            continue
        if part == '..':
            if done:
                done.pop()
            continue
        full = os.path.join(root, *(done + [part]))
        if os.path.islink(full):
            hops += 1
            if hops > 40:
                raise ReleaseError('%s: its folders hold a loop of symlinks' % path)
            target = os.readlink(full)
            if target.startswith('/'):
                done = []
            todo = [p for p in target.split('/') if p] + todo
            continue
        if os.path.lexists(full) and not os.path.isdir(full):
            raise ReleaseError('%s: /%s on the machine is not a folder' % (path, '/'.join(done + [part])))
        done.append(part)
    full = os.path.join(root, *(done + todo))
    if os.path.islink(full):
        raise ReleaseError('%s is a symlink on the machine; a release installs regular files, not links' % path)
    if os.path.lexists(full) and not os.path.isfile(full):
        raise ReleaseError('%s is not a regular file on the machine; a release installs regular files' % path)
    return full


def read_state(full):
    """The state of the file at ``full`` on this host: None when there is none."""
    try:
        st = os.lstat(full)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise
    if not stat.S_ISREG(st.st_mode):
        raise ReleaseError('%s is not a regular file' % full)
    return {'sha256': sha256_file(full), 'mode': '%04o' % stat.S_IMODE(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid}


# ---------------------------------------------------------------------------------------------
# Accounts of the machine (its own /etc/passwd and /etc/group when it is not this host)

def accounts(root):
    """(users, groups): name -> id maps of the machine whose root is ``root``. For ``/`` the host's
    name service answers (see ``account_id``); an image's files are read."""
    users, groups = {}, {}
    if os.path.abspath(root) == '/':
        return None, None
    for name, table in (('passwd', users), ('group', groups)):
        try:
            with open(os.path.join(root, 'etc', name)) as f:
                for line in f:
                    fields = line.rstrip('\n').split(':')
                    if len(fields) >= 3 and fields[2].isdigit():
                        table.setdefault(fields[0], int(fields[2]))
        except (IOError, OSError):
            pass
    return users, groups


def account_id(value, kind, table, field):
    """The numeric id of a user or group (``kind``) given as a name or a number."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value == '':
        raise ValueError('%s: %r is not a %s; give a %s name or a number' % (field, value, kind, kind))
    if isinstance(value, int) or value.isdigit():
        number = int(value)
        if not 0 <= number < 2 ** 32 - 1:
            raise ValueError('%s: %r is outside 0..4294967294' % (field, value))
        return number
    if table is None:
        try:
            return pwd.getpwnam(value).pw_uid if kind == 'user' else grp.getgrnam(value).gr_gid
        except KeyError:
            pass
    elif value in table:
        return table[value]
    raise ValueError('%s: there is no %s %r on the machine; create it first or give a number' % (field, kind, value))


# ---------------------------------------------------------------------------------------------
# The release manifest

def _path_problem(path, store):
    if not isinstance(path, str) or not path.startswith('/'):
        return 'is not an absolute path'
    if path != posixpath.normpath(path) or path.startswith('//'):
        return 'is not in normal form (no "//", "." or "..", no trailing "/")'
    if path == '/':
        return 'is the root folder'
    if '\0' in path or '\n' in path:
        return 'holds a NUL byte or a newline'
    for prefix in FORBIDDEN + (store,):
        if path == prefix or path.startswith(prefix.rstrip('/') + '/'):
            return 'is under %s, which a release may not write' % prefix
    return None


def validate_manifest(data, root='/', store=STORE):
    """The release described by ``data`` (the parsed ``release.json``), checked and normalized:
    ``{'id', 'files': [{path, sha256, mode, uid, gid}], 'remove': [paths], 'test', 'description'}``.

    Every problem is reported at once (ReleaseError, one line each, naming the field)."""
    problems = []
    if not isinstance(data, dict):
        raise ReleaseError('%s: is not a JSON object with id, files and remove' % MANIFEST)
    unknown = sorted(set(data) - set(['id', 'files', 'remove', 'test', 'description']))
    if unknown:
        problems.append('%s: unknown keys %s; the keys are id, files, remove, test, description' % (MANIFEST, ', '.join(unknown)))
    rid = data.get('id')
    if not isinstance(rid, str) or not ID_RE.match(rid):
        problems.append('id: %r is not a release id (letters, digits, ".", "_", "+", "-"; at most 128)' % (rid,))
    files = data.get('files', [])
    remove = data.get('remove', [])
    if not isinstance(files, list):
        problems.append('files: is not a list')
        files = []
    if not isinstance(remove, list):
        problems.append('remove: is not a list')
        remove = []
    if not files and not remove:
        problems.append('files: the release installs and removes nothing; list its files')
    users, groups = accounts(root)
    seen = {}
    out = []
    for n, entry in enumerate(files):
        field = 'files[%d]' % n
        if not isinstance(entry, dict):
            problems.append('%s: is not an object with path, sha256, mode, owner, group' % field)
            continue
        extra = sorted(set(entry) - set(['path', 'sha256', 'mode', 'owner', 'group']))
        if extra:
            problems.append('%s: unknown keys %s' % (field, ', '.join(extra)))
        path = entry.get('path')
        problem = _path_problem(path, store)
        if problem:
            problems.append('%s.path: %r %s' % (field, path, problem))
            continue
        if path in seen:
            problems.append('%s.path: %s is listed twice (also %s)' % (field, path, seen[path]))
            continue
        seen[path] = field
        digest = entry.get('sha256')
        if not isinstance(digest, str) or not SHA_RE.match(digest):
            problems.append('%s.sha256: %r is not a SHA-256 (64 lower-case hex digits)' % (field, digest))
        try:
            mode = parse_mode(entry.get('mode', '0644'), field + '.mode')
        except ValueError as e:
            problems.append(str(e))
            mode = None
        try:
            uid = account_id(entry.get('owner', 0), 'user', users, field + '.owner')
        except ValueError as e:
            problems.append(str(e))
            uid = None
        try:
            gid = account_id(entry.get('group', 0), 'group', groups, field + '.group')
        except ValueError as e:
            problems.append(str(e))
            gid = None
        out.append({'path': path, 'sha256': digest, 'mode': '%04o' % mode if mode is not None else None,
                    'uid': uid, 'gid': gid})
    removed = []
    for n, path in enumerate(remove):
        field = 'remove[%d]' % n
        problem = _path_problem(path, store)
        if problem:
            problems.append('%s: %r %s' % (field, path, problem))
        elif path in seen:
            problems.append('%s: %s is also listed by %s; a release installs or removes a path, not both' % (field, path, seen[path]))
        else:
            seen[path] = field
            removed.append(path)
    test = data.get('test', '')
    if not isinstance(test, str):
        problems.append('test: is not a command line (a string)')
    if problems:
        raise ReleaseError('; '.join(problems))
    return {'id': rid, 'files': out, 'remove': removed, 'test': test, 'description': str(data.get('description', ''))}


# ---------------------------------------------------------------------------------------------
# Bundles: a folder or a tarball holding release.json and files/<path>

class Bundle(object):
    """A release bundle on this host. ``open(path)`` gives a readable stream of a file's content."""

    def __init__(self, src):
        self.src = src
        self.tar = None
        if os.path.isdir(src):
            return
        try:
            self.tar = tarfile.open(src, 'r:*')
        except (tarfile.TarError, IOError, OSError) as e:
            raise ReleaseError('src: %s is neither a folder nor a readable tarball (%s)' % (src, e))

    def close(self):
        if self.tar is not None:
            self.tar.close()

    def _member(self, name):
        for candidate in (name, './' + name):
            try:
                member = self.tar.getmember(candidate)
            except KeyError:
                continue
            if not member.isreg():
                raise ReleaseError('src: %s in the bundle is not a regular file' % name)
            return member
        return None

    def open(self, name):
        """A binary stream of the bundle's file ``name`` (relative), or None when it has none."""
        if self.tar is None:
            full = os.path.join(self.src, name)
            if os.path.islink(full) or not os.path.isfile(full):
                return None
            return open(full, 'rb')
        member = self._member(name)
        return None if member is None else self.tar.extractfile(member)

    def manifest(self):
        f = self.open(MANIFEST)
        if f is None:
            raise ReleaseError('src: %s holds no %s; a bundle is release.json plus files/<path>' % (self.src, MANIFEST))
        with f:
            try:
                return json.loads(f.read().decode('utf-8'))
            except ValueError as e:
                raise ReleaseError('src: %s in %s is not JSON (%s)' % (MANIFEST, self.src, e))


def content_name(path):
    return 'files/' + path.lstrip('/')


# ---------------------------------------------------------------------------------------------
# The store

class Store(object):
    """The store of one machine (``root`` is ``/`` for the machine itself, or the root of its image)."""

    def __init__(self, root='/', path=STORE):
        self.root = os.path.abspath(root)
        self.path = path
        self.dir = os.path.join(self.root, path.lstrip('/'))
        self.objects = os.path.join(self.dir, 'objects')
        self.history_file = os.path.join(self.dir, 'history.jsonl')
        self.pending_file = os.path.join(self.dir, 'pending.json')

    def object_path(self, digest):
        return os.path.join(self.objects, digest)

    def has(self, digest):
        return os.path.isfile(self.object_path(digest))

    def object_problem(self, digest):
        """Why the object ``digest`` cannot be used (missing, or its content has another hash)."""
        full = self.object_path(digest)
        if not os.path.isfile(full):
            return 'object %s is missing from the store' % digest
        actual = sha256_file(full)
        if actual != digest:
            return 'object %s in the store has the content of %s (damaged)' % (digest, actual)
        return None

    def put_stream(self, digest, stream):
        """Store a content read from ``stream``; ReleaseError (nothing stored) when it does not hash
        to ``digest``. A good object already stored is kept."""
        if self.has(digest) and self.object_problem(digest) is None:
            return False
        if not os.path.isdir(self.objects):
            os.makedirs(self.objects, 0o700)
        with atomic_file(self.object_path(digest), 0o400, prefix='.partial-') as tmp:
            with open(tmp, 'wb') as out:
                actual = copy_hashed(stream, out)[0]
            if actual != digest:
                raise ReleaseError('content of %s hashes to %s' % (digest, actual))
        return True

    def put_file(self, digest, full):
        with open(full, 'rb') as f:
            return self.put_stream(digest, f)

    def remove_object(self, digest):
        remove_file(self.object_path(digest))

    def object_names(self):
        try:
            return sorted(n for n in os.listdir(self.objects) if SHA_RE.match(n))
        except OSError as e:
            if e.errno == errno.ENOENT:
                return []
            raise

    def history(self):
        """The records, oldest first. A last line cut short by a crash is ignored (its change was
        made under ``pending.json``, which the next run settles)."""
        try:
            with open(self.history_file) as f:
                lines = f.read().split('\n')
        except (IOError, OSError) as e:
            if e.errno == errno.ENOENT:
                return []
            raise
        records = []
        for n, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                if n == len(lines) - 1 or all(not rest.strip() for rest in lines[n + 1:]):
                    break
                raise ReleaseError('%s: line %d is not JSON; the history is damaged' % (self.history_file, n + 1))
        return records

    def append(self, record):
        if not os.path.isdir(self.dir):
            os.makedirs(self.dir, 0o700)
        line = canonical_json(record) + '\n'
        fd = os.open(self.history_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # a line cut short by an earlier crash is closed first, so this record starts a line
            if os.fstat(fd).st_size:
                with open(self.history_file, 'rb') as f:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b'\n':
                        line = '\n' + line
            os.write(fd, line.encode('utf-8'))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_folder(self.dir)

    def pending(self):
        try:
            with open(self.pending_file) as f:
                return json.load(f)
        except (IOError, OSError) as e:
            if e.errno == errno.ENOENT:
                return None
            raise
        except ValueError:
            # written atomically: a pending file that is not JSON was never complete
            return None

    def set_pending(self, record):
        if not os.path.isdir(self.dir):
            os.makedirs(self.dir, 0o700)
        atomic_write(None, self.pending_file, json.dumps(record, sort_keys=True), 0o600)

    def clear_pending(self):
        remove_file(self.pending_file)
        fsync_folder(self.dir)

    @contextmanager
    def locked(self):
        """Hold the store's lock (one change at a time on a machine)."""
        if not os.path.isdir(self.dir):
            os.makedirs(self.dir, 0o700)
        fd = os.open(os.path.join(self.dir, 'lock'), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (IOError, OSError):
                raise ReleaseError('another change of releases runs on this machine (%s is locked); wait for it'
                                   % os.path.join(self.path, 'lock'))
            yield
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------------------------
# History: states at a record, targets of a rollback

def paths_of(records):
    out = []
    seen = set()
    for r in records:
        for path in sorted(r.get('paths', {})):
            if path not in seen:
                seen.add(path)
                out.append(path)
    return out


def states_at(records, index):
    """Every recorded path's state after record ``index`` (-1: before the first record)."""
    out = {}
    for path in paths_of(records):
        state, found = None, False
        for r in records[:index + 1]:
            if path in r.get('paths', {}):
                state, found = r['paths'][path]['after'], True
        if not found:
            for r in records[index + 1:]:
                if path in r.get('paths', {}):
                    # an 'interrupted' record undoes a half-done change: the state before that change
                    # is what it put back, not the half-done state it found
                    state = r['paths'][path]['after' if r.get('action') == 'interrupted' else 'before']
                    break
        out[path] = state
    return out


def current_release(records):
    for r in reversed(records):
        if r.get('action') in ('install', 'rollback'):
            return r.get('release')
    return None


def rollback_index(records, to):
    """The index of the record whose state ``to`` names (-1 for the state before any release):
    ``previous`` (the state before the last record), a release id (the last record that put that
    release in place), or a time (the last record made at or before it)."""
    if not records:
        raise ReleaseError('to: there is no release on this machine to roll back')
    if to == 'previous':
        return len(records) - 2
    if to == ORIGINAL:
        return -1
    for i in range(len(records) - 1, -1, -1):
        if records[i].get('release') == to and records[i].get('action') in ('install', 'rollback'):
            return i
    if TIME_RE.match(str(to).strip()):
        at = parse_time(to)
        index = -1
        for i, r in enumerate(records):
            if parse_time(r['time'], 'history') <= at:
                index = i
        return index
    known = sorted(set(r.get('release') for r in records if r.get('action') == 'install'))
    raise ReleaseError('to: %r is neither previous, a release of this machine (%s) nor a time' % (to, ', '.join(known)))


def release_at(records, index):
    if index < 0:
        return ORIGINAL
    return current_release(records[:index + 1]) or ORIGINAL


def summary(record):
    changed = sum(1 for p in record.get('paths', {}).values() if not same_state(p['before'], p['after']))
    out = dict((k, record.get(k)) for k in ('seq', 'release', 'action', 'time', 'bundle_sha256', 'from_release'))
    out['paths'] = len(record.get('paths', {}))
    out['changed_paths'] = changed
    return dict((k, v) for k, v in out.items() if v is not None)


def referenced(records, keep, pending=None):
    """The objects that retention keeps: those of every path's present state, of the last ``keep``
    records (before and after), and of a pending change."""
    keep_records = records[-keep:] if keep > 0 else []
    out = set()
    for state in states_at(records, len(records) - 1).values():
        if state:
            out.add(state['sha256'])
    for r in keep_records + ([pending] if pending else []):
        for p in r.get('paths', {}).values():
            for state in (p['before'], p['after']):
                if state:
                    out.add(state['sha256'])
    return out


# ---------------------------------------------------------------------------------------------
# Changing files

def plan(store, desired):
    """``{path: {'before': actual, 'after': desired}}`` for every path in ``desired`` (path -> state),
    reading the machine's files."""
    out = {}
    for path in sorted(desired):
        out[path] = {'before': read_state(resolve(store.root, path)), 'after': desired[path]}
    return out


def changed_paths(paths):
    return sorted(p for p, c in paths.items() if not same_state(c['before'], c['after']))


def put_state(store, path, state):
    """Make the machine's ``path`` have ``state`` (None: no file) from the store's object."""
    full = resolve(store.root, path)
    if state is None:
        if remove_file(full):
            fsync_folder(os.path.dirname(full))
        return
    source = store.object_path(state['sha256'])
    with atomic_file(full, int(state['mode'], 8), state['uid'], state['gid'], prefix='.release-') as tmp:
        with open(source, 'rb') as src:
            with open(tmp, 'wb') as out:
                shutil.copyfileobj(src, out, CHUNK)
        if sha256_file(tmp) != state['sha256']:
            raise ReleaseError('%s: the copy from the store does not hash to %s' % (path, state['sha256']))


def apply(store, record):
    """Make every path of ``record`` its ``after`` state, under ``pending.json``, then append the
    record. Every ``after`` object must be in the store; every ``before`` content is stored first."""
    for path, change in sorted(record['paths'].items()):
        before = change['before']
        if before is not None and not store.has(before['sha256']):
            store.put_file(before['sha256'], resolve(store.root, path))
    store.set_pending(record)
    for path in changed_paths(record['paths']):
        put_state(store, path, record['paths'][path]['after'])
    store.append(record)
    store.clear_pending()
    return record


def new_record(records, release, action, paths, clock=None, **extra):
    record = {'seq': (records[-1]['seq'] + 1) if records else 1, 'release': release, 'action': action,
              'time': now_text(clock), 'paths': paths}
    record.update(dict((k, v) for k, v in extra.items() if v not in (None, '')))
    return record


def settle_pending(store, check_mode=False, clock=None):
    """Put back the paths of a change that a dead run left half done, as they were before it.
    Returns the record of that (``interrupted``), or None when nothing was pending."""
    pending = store.pending()
    if not pending:
        return None
    records = store.history()
    if records and records[-1].get('seq') == pending.get('seq'):
        # the run died after appending its record and before removing pending.json: it finished
        if not check_mode:
            store.clear_pending()
        return None
    desired = dict((p, c['before']) for p, c in pending['paths'].items())
    paths = plan(store, desired)
    record = new_record(records, release_at(records, len(records) - 1), 'interrupted', paths, clock,
                        from_release=pending.get('release'))
    if not check_mode:
        for path, change in sorted(paths.items()):
            if change['after'] is not None and store.object_problem(change['after']['sha256']):
                raise ReleaseError('an interrupted change of %s cannot be undone: %s'
                                   % (pending.get('release'), store.object_problem(change['after']['sha256'])))
        for path in changed_paths(paths):
            put_state(store, path, paths[path]['after'])
        store.append(record)
        store.clear_pending()
    return record


def diff(paths):
    before, after = [], []
    for path in changed_paths(paths):
        before.append('%s %s\n' % (path, state_text(paths[path]['before'])))
        after.append('%s %s\n' % (path, state_text(paths[path]['after'])))
    return {'before': ''.join(before), 'after': ''.join(after), 'before_header': 'files', 'after_header': 'files'}


def changes(paths):
    out = []
    for path in sorted(paths):
        old, new = paths[path]['before'], paths[path]['after']
        if same_state(old, new):
            action = 'unchanged'
        elif old is None:
            action = 'added'
        elif new is None:
            action = 'removed'
        else:
            action = 'replaced' if old['sha256'] != new['sha256'] else 'attributes'
        out.append({'path': path, 'action': action, 'before': old, 'after': new})
    return out


def prune(store, keep, check_mode=False):
    """Remove the objects that retention does not keep; returns their names. Never one that is
    referenced (see ``referenced``)."""
    keep_set = referenced(store.history(), keep, store.pending())
    drop = [n for n in store.object_names() if n not in keep_set]
    if not check_mode:
        for name in drop:
            store.remove_object(name)
    return drop
