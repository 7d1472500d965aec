# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data manifests: one entry per file, folder and link under a store's data paths (relative path,
type, size, permission bits, SHA-256 of the content or the link target), in path order, and a
digest over them. Equal digests mean equal data; the entries say what differs.

The same manifest is made from a folder tree (the physical server, the cloud volumes) and from a
tar archive (a backup set), so a backup can be checked before anything is restored from it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import json
import os
import stat
import tarfile
import time

from ansible_collections.poscloud.fleet.plugins.module_utils.common import canonical_json, sha256_bytes, sha256_stream
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_write


class ManifestError(Exception):
    pass


def _excluded(relpath, patterns):
    name = relpath.rsplit('/', 1)[-1]
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(relpath, p) for p in patterns)


def _entry(path, kind, size=0, mode=0, sha256=''):
    return {'path': path, 'type': kind, 'size': size, 'mode': '%04o' % (mode & 0o7777), 'sha256': sha256}


def _link_entry(path, target):
    """A symbolic link: its target, hashed (links are never followed)."""
    return _entry(path, 'link', sha256=sha256_bytes(target.encode('utf-8', 'surrogateescape')))


def _file_hash(full, st, cache, fresh):
    """SHA-256 of a file, reused from ``cache`` when the file is provably unchanged since then:
    same inode, size, modification and change time (the change time cannot be set back by any
    program), and not modified within a second before the cache was made (a write in that second
    could share the recorded times). ``fresh`` collects the entries of the next cache."""
    key = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    old = cache.get('files', {}).get(full) if cache else None
    if old and old[:5] == key and st.st_mtime_ns < cache.get('made_ns', 0) - 1000000000 \
            and st.st_ctime_ns < cache.get('made_ns', 0) - 1000000000:
        digest = old[5]
    else:
        with open(full, 'rb') as f:
            digest = sha256_stream(f)
    fresh[full] = key + [digest]
    return digest


def _listed(folder, rel_folder, names, exclude):
    """(name, path relative to the tree, full path, lstat) of the ``names`` in ``folder`` (at
    ``rel_folder`` in the tree) that ``exclude`` does not exclude, in name order."""
    for name in sorted(names):
        rel = rel_folder + name
        if not _excluded(rel, exclude):
            full = os.path.join(folder, name)
            yield name, rel, full, os.lstat(full)


def tree_entries(root, prefix, exclude=(), cache=None, fresh=None):
    """Entries of the tree at ``root``, their paths starting with ``prefix`` (the data path).
    With ``cache`` (see ``_file_hash``), unchanged files are not read again; the entries for the
    next cache go to ``fresh``."""
    fresh = {} if fresh is None else fresh
    if not os.path.isdir(root):
        raise ManifestError('%s is not a folder' % root)
    out = [_entry(prefix, 'dir', mode=os.lstat(root).st_mode)]
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        rel_folder = '' if rel_folder == '.' else rel_folder + '/'
        keep = []
        for d, rel, full, st in _listed(folder, rel_folder, dirs, exclude):
            if stat.S_ISLNK(st.st_mode):
                out.append(_link_entry(prefix + '/' + rel, os.readlink(full)))
                continue
            out.append(_entry(prefix + '/' + rel, 'dir', mode=st.st_mode))
            keep.append(d)
        dirs[:] = keep
        for dummy, rel, full, st in _listed(folder, rel_folder, files, exclude):
            if stat.S_ISLNK(st.st_mode):
                out.append(_link_entry(prefix + '/' + rel, os.readlink(full)))
            elif stat.S_ISREG(st.st_mode):
                digest = _file_hash(full, st, cache, fresh)
                out.append(_entry(prefix + '/' + rel, 'file', st.st_size, st.st_mode, digest))
    return out


def tar_entries(archive, data_paths, exclude=()):
    """Entries of a tar archive whose member names are the data paths without the leading '/'
    (``tar -C / -cf set.tar usr2/pos``); members outside ``data_paths`` are an error."""
    out = []
    try:
        with tarfile.open(archive, 'r:*') as tar:
            for m in tar:
                name = '/' + m.name.strip('/')
                if name.startswith('/./'):
                    name = name[2:]
                base = [d for d in data_paths if name == d or name.startswith(d + '/')]
                if not base:
                    raise ManifestError('%s holds %s, which is outside the data paths (%s)'
                                        % (archive, name, ', '.join(data_paths)))
                rel = name[len(base[0]) + 1:]
                if rel and _excluded(rel, exclude):
                    continue
                if m.isdir():
                    out.append(_entry(name, 'dir', mode=m.mode))
                elif m.issym():
                    out.append(_link_entry(name, m.linkname))
                elif m.isfile():
                    f = tar.extractfile(m)
                    out.append(_entry(name, 'file', m.size, m.mode, sha256_stream(f)))
                else:
                    raise ManifestError('%s holds %s, which is neither a file, a folder nor a link'
                                        % (archive, name))
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ManifestError('%s is not a readable tar archive: %s' % (archive, e))
    return out


def manifest_text(entries):
    """The canonical text of a manifest: one JSON object per line, in path order."""
    return ''.join(canonical_json(e) + '\n' for e in sorted(entries, key=lambda e: e['path']))


def manifest_digest(entries):
    return sha256_bytes(manifest_text(entries))


def parse_manifest(text):
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
        except ValueError:
            raise ManifestError('line %d is not JSON' % n)
        if not isinstance(e, dict) or not all(k in e for k in ('path', 'type', 'size', 'mode', 'sha256')):
            raise ManifestError('line %d is not a manifest entry (path, type, size, mode, sha256)' % n)
        entries.append(e)
    return entries


def compare(expected, actual, limit=20):
    """Differences between two lists of entries, as short readable lines (at most ``limit``)."""
    a = dict((e['path'], e) for e in expected)
    b = dict((e['path'], e) for e in actual)
    out = []
    for path in sorted(set(a) | set(b)):
        if path not in b:
            out.append('missing: %s' % path)
        elif path not in a:
            out.append('unexpected: %s' % path)
        elif a[path] != b[path]:
            what = [k for k in ('type', 'size', 'mode', 'sha256') if a[path].get(k) != b[path].get(k)]
            out.append('differs (%s): %s' % (', '.join(what), path))
        if len(out) >= limit:
            out.append('...')
            break
    return out


def summarize(entries):
    files = [e for e in entries if e['type'] == 'file']
    return {'digest': manifest_digest(entries), 'entries': len(entries), 'files': len(files),
            'bytes': sum(e['size'] for e in files)}


def load_cache(path):
    """The hash cache a run over the same folders left in ``path`` (None when there is none)."""
    if not path:
        return None
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else None
    except (IOError, OSError, ValueError):
        return None


def cached_tree_entries(trees, exclude=(), cache_path=None, module=None):
    """Entries of several trees, ``trees`` being (folder, data path) pairs, with the hash cache in
    ``cache_path`` (see ``_file_hash``): read first, rewritten atomically afterwards (mode 0600)."""
    cache = load_cache(cache_path)
    fresh = {}
    made_ns = time.time_ns() if hasattr(time, 'time_ns') else int(time.time() * 1e9)
    entries = []
    for where, path in trees:
        entries.extend(tree_entries(where, path, exclude, cache, fresh))
    if cache_path:
        atomic_write(module, cache_path, json.dumps({'made_ns': made_ns, 'files': fresh}), 0o600)
    return entries
