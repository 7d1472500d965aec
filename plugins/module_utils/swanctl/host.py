# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the tunnel modules read, write and run: the host the module runs on (``LocalHost``), or a
container on it reached with ``docker exec`` (``ContainerHost``). Both offer the same few
operations, so the modules' logic is one for both:

* ``read_many(paths)``: ``{path: (text or None, mode, or 'dir', or None)}`` in one go (one ``docker exec`` for a
  container), and ``read(path)``, ``isdir(path)``, ``glob(pattern)``;
* ``write(path, text, mode)``: atomic (a temporary file in the same folder, given its mode before it
  has any content, then renamed over the target), ``remove(path)``, ``makedirs(path)``;
* ``size(path)`` and ``tail(path, offset)`` for a log file;
* ``run(argv)``: a command, ``(rc, out, err)``; ``prefix``: the argv prefix for swanctl;
* ``lock(folders, seconds, read)`` / ``unlock()``: an exclusive lock on the first of ``folders`` that
  exists, as flock(1) takes it, and the files of ``read`` read under it (one ``docker exec`` for both).

Errors of the I/O raise ``HostError`` with the path and the reason."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import errno
import fcntl
import glob
import os
import re
import select
import subprocess
import time

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerCLI, DockerError, check_timeout
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_write, remove_file
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.runner import Swanctl


class HostError(Exception):
    pass


class LockTimeout(HostError):
    pass


def _tail_text(data):
    return data.decode('utf-8', 'replace') if isinstance(data, bytes) else (data or '')


class LocalHost(object):
    """The host the module runs on."""

    prefix = ()
    where = 'this host'

    def __init__(self, module):
        self.module = module
        self._lock_fd = None

    def run(self, argv, data=None):
        return self.module.run_command(list(argv), data=data, binary_data=data is not None,
                                       environ_update={'LC_ALL': 'C'})

    def read_many(self, paths):
        found = {}
        for path in paths:
            if os.path.isdir(path):
                found[path] = (None, 'dir')
                continue
            try:
                with open(path, errors='replace') as f:
                    text = f.read()
                found[path] = (text, os.stat(path).st_mode & 0o7777)
            except (IOError, OSError) as e:
                if e.errno not in (errno.ENOENT, errno.ENOTDIR):
                    raise HostError('cannot read %s: %s' % (path, e))
                found[path] = (None, None)
        return found

    def read(self, path):
        return self.read_many([path])[path][0]

    @staticmethod
    def isdir(path):
        return os.path.isdir(path)

    def glob(self, pattern):
        return sorted(glob.glob(pattern))

    def write(self, path, text, mode):
        try:
            atomic_write(self.module, path, text, mode)
        except (IOError, OSError, ValueError) as e:
            raise HostError('cannot write %s: %s' % (path, e))

    def remove(self, path):
        try:
            remove_file(path)
        except OSError as e:
            raise HostError('cannot remove %s: %s' % (path, e))

    def makedirs(self, path):
        try:
            os.makedirs(path, 0o755)
        except OSError as e:
            raise HostError('cannot create %s: %s' % (path, e))

    def size(self, path):
        try:
            return os.path.getsize(path)
        except OSError:
            return None

    def tail(self, path, offset):
        try:
            with open(path, errors='replace') as f:
                f.seek(offset)
                return f.read()
        except (IOError, OSError):
            return ''

    def lock(self, folders, seconds, read=()):
        """Lock the first of ``folders`` that is a folder (none: nothing is locked), then read ``read``."""
        path = next((f for f in folders if os.path.isdir(f)), None)
        if path is not None:
            self._flock(path, seconds)
        return self.read_many(read)

    def _flock(self, path, seconds):
        deadline = time.time() + seconds
        try:
            self._lock_fd = os.open(path, os.O_RDONLY)
            while True:
                try:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except (IOError, OSError) as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES) or time.time() >= deadline:
                        raise
                time.sleep(0.2)
        except (IOError, OSError) as e:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            self._lock_fd = None
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise LockTimeout(path)
            raise HostError('cannot lock %s: %s' % (path, e))

    def unlock(self):
        if self._lock_fd is not None:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            except OSError:
                pass
            self._lock_fd = None


# One docker exec reads every file asked for: a line per path, '+ <octal mode> <base64>' for a file,
# 'd' for a folder, '-' for nothing there.
_READ_SCRIPT = ('for f; do if [ -f "$f" ]; then printf "+ %s " "$(stat -c %a "$f")"; base64 -w0 < "$f"; echo; '
                'elif [ -d "$f" ]; then echo d; else echo -; fi; done')
# The content comes on stdin into a temporary file that has its mode before it has content; mv
# replaces the target in one step (the folder is made when missing, as atomic_write does).
# $1 folder, $2 mode, $3 target.
_WRITE_SCRIPT = ('set -e; mkdir -p "$1"; umask 077; t=$(mktemp "$1/.tmp-XXXXXX"); trap \'rm -f "$t"\' EXIT; chmod "$2" "$t"; '
                 'cat > "$t"; sync "$t" 2>/dev/null || true; mv -f "$t" "$3"; trap - EXIT')
# One docker exec locks and reads: flock(1) on the first of two folders that exists, then the read
# script's lines; the lock is held for as long as cat reads, so closing its stdin releases it.
# $1 seconds, $2 the read script, $3 $4 the folders, then the files to read.
_LOCK_SCRIPT = ('s=$1; r=$2; shift 2; for d in "$1" "$2"; do if [ -d "$d" ]; then shift 2; '
                'exec flock -x -w "$s" "$d" sh -c \'echo locked; sh -c "$0" sh "$@"; exec cat >/dev/null\' "$r" "$@"; '
                'fi; done; shift 2; echo unlocked; exec sh -c "$r" sh "$@"')


def _parse_read(paths, lines):
    """What _READ_SCRIPT printed, as read_many returns it."""
    found = {}
    for path, line in zip(paths, lines):
        if line.startswith('+ '):
            parts = line.split(' ', 2)
            raw = base64.b64decode(parts[2] if len(parts) > 2 else '')
            found[path] = (raw.decode('utf-8', 'replace'), int(parts[1], 8))
        else:
            found[path] = (None, 'dir' if line == 'd' else None)
    return found


class ContainerHost(object):
    """A container on the host the module runs on, reached with ``docker exec`` (``docker`` is a
    module_utils.docker_cli.DockerCLI)."""

    def __init__(self, module, docker, container):
        self.module = module
        self.docker = docker
        self.container = container
        self.prefix = tuple(docker.command('exec', '-e', 'LC_ALL=C', container))
        # with stdin: what the command reads comes from the module
        self.prefix_stdin = tuple(docker.command('exec', '-i', '-e', 'LC_ALL=C', container))
        self.where = 'container %s' % container
        self._lock = None

    def run(self, argv, data=None):
        prefix = self.prefix if data is None else self.prefix_stdin
        rc, out, err = self.module.run_command(list(prefix) + list(argv), data=data, binary_data=data is not None)
        if rc in (125, 126, 127) and ('No such container' in err or 'is not running' in err):
            raise HostError('cannot reach container %s: %s' % (self.container, err.strip().splitlines()[-1]))
        return rc, out, err

    def _sh(self, script, args, data=None):
        return self.run(['sh', '-c', script, 'sh'] + list(args), data=data)

    def read_many(self, paths):
        paths = list(paths)
        if not paths:
            return {}
        rc, out, err = self._sh(_READ_SCRIPT, paths)
        lines = out.splitlines()
        if rc != 0 or len(lines) != len(paths):
            detail = _tail_text(err).strip() or 'no output'
            raise HostError('cannot read %s in %s (rc=%d): %s' % (', '.join(paths), self.where, rc, detail))
        return _parse_read(paths, lines)

    def read(self, path):
        return self.read_many([path])[path][0]

    def isdir(self, path):
        return self.read_many([path])[path][1] == 'dir'

    def glob(self, pattern):
        rc, out, err = self._sh('for f in $1; do [ -e "$f" ] && printf "%s\\n" "$f"; done; true', [pattern])
        return sorted(line for line in out.splitlines() if line)

    def write(self, path, text, mode):
        data = text.encode('utf-8') if not isinstance(text, bytes) else text
        rc, out, err = self._sh(_WRITE_SCRIPT, [os.path.dirname(path) or '/', '%o' % mode, path], data=data)
        if rc != 0:
            raise HostError('cannot write %s in %s: %s' % (path, self.where, _tail_text(err).strip()))

    def remove(self, path):
        rc, out, err = self.run(['rm', '-f', path])
        if rc != 0:
            raise HostError('cannot remove %s in %s: %s' % (path, self.where, _tail_text(err).strip()))

    def makedirs(self, path):
        rc, out, err = self.run(['mkdir', '-p', '-m', '755', path])
        if rc != 0:
            raise HostError('cannot create %s in %s: %s' % (path, self.where, _tail_text(err).strip()))

    def size(self, path):
        rc, out, err = self.run(['stat', '-c', '%s', path])
        return int(out.strip()) if rc == 0 and out.strip().isdigit() else None

    def tail(self, path, offset):
        rc, out, err = self.run(['tail', '-c', '+%d' % (offset + 1), path])
        return out if rc == 0 else ''

    def lock(self, folders, seconds, read=()):
        """Lock the first of (at most two) ``folders`` that is a folder, and read ``read``: one docker exec."""
        folders = (list(folders) + [folders[-1]])[:2]
        read = list(read)
        cmd = list(self.prefix_stdin) + ['sh', '-c', _LOCK_SCRIPT, 'sh', str(int(seconds)), _READ_SCRIPT] + folders + read
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            raise HostError('cannot lock %s in %s: %s' % (folders[0], self.where, e))
        ready, dummy, dummy = select.select([proc.stdout], [], [], seconds + 30)
        line = proc.stdout.readline().strip() if ready else b''
        if line in (b'locked', b'unlocked'):
            lines = [proc.stdout.readline().decode('utf-8', 'replace').rstrip('\n') for dummy in read]
            self._lock = proc
            if line == b'unlocked':
                self.unlock()
            if any(not text for text in lines):
                self.unlock()
                raise HostError('cannot read %s in %s' % (', '.join(read), self.where))
            return _parse_read(read, lines)
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err = _tail_text(proc.stderr.read()).strip()
        if proc.returncode == 1 and not err:
            raise LockTimeout(folders[0])
        raise HostError('cannot lock %s in %s (rc=%s): %s' % (folders[0], self.where, proc.returncode, err or 'no output'))

    def unlock(self):
        proc, self._lock = self._lock, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


# What Docker accepts as a container name (or id).
CONTAINER_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,253}\Z')


def make_host(module):
    """Where the module reads, writes and runs: the container of the option container, or this host."""
    p = module.params
    if not p.get('container'):
        return LocalHost(module)
    if not CONTAINER_RE.match(p['container']):
        module.fail_json(msg='container: %r is not a Docker container name or id; give the name of the POS '
                             'instance, for example pos_12345678' % (p['container'][:80],))
    try:
        docker = DockerCLI(module.run_command, binary=p['docker_cli'], host=p['docker_host'],
                           timeout=check_timeout(p['docker_timeout']))
    except DockerError as e:
        module.fail_json(msg=to_native(e))
    return ContainerHost(module, docker, p['container'])


def make_swanctl(module, host, swanctl_dir, on_timeout):
    p = module.params
    if p.get('container'):
        binary = p['swanctl_path'] or 'swanctl'
    else:
        binary = p['swanctl_path'] or module.get_bin_path('swanctl', opt_dirs=['/usr/sbin', '/sbin'])
        if not binary:
            module.fail_json(msg='swanctl was not found on %s (PATH, /usr/sbin, /sbin): install strongSwan '
                                 '(strongswan-swanctl and charon-systemd) or give swanctl_path' % host.where,
                             swanctl_missing=True)
    return Swanctl(module.run_command, binary, p['vici_uri'], swanctl_dir, prefix=host.prefix, on_timeout=on_timeout)
