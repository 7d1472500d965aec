# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of POS application profiles and store ids (pure functions)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import posixpath
import re

from ansible_collections.poscloud.fleet.plugins.module_utils.common import sha256_json
from ansible_collections.poscloud.fleet.plugins.module_utils.media import PACKAGE_NAME_RE

# Name patterns end in \Z, not $: '$' also matches before a final newline ('demo\n').
NAME_RE = re.compile(r'^[a-z][a-z0-9_-]{0,31}\Z')
USER_RE = re.compile(r'^[a-z_][a-z0-9_-]{0,31}\Z')
SHA256_RE = re.compile(r'^[0-9a-f]{64}\Z')
VERSION_RE = re.compile(r'^[0-9A-Za-z][0-9A-Za-z.+~_-]{0,127}\Z')
# Paths a data path may never be (or contain): migrating or deleting them would break the system.
SYSTEM_PATHS = ('/', '/bin', '/boot', '/dev', '/etc', '/lib', '/lib64', '/opt', '/proc', '/root', '/run',
                '/sbin', '/sys', '/tmp', '/usr', '/var', '/home', '/srv', '/mnt', '/media')
DEFAULT_STORE_ID_PATTERN = r'^[0-9]{8}$'


class ProfileError(Exception):
    """A profile or store id is wrong; the message names the field and the fix."""


def validate_store_id(store_id, pattern=DEFAULT_STORE_ID_PATTERN):
    text = '' if store_id is None else str(store_id)
    try:
        ok = re.fullmatch(pattern, text) is not None
    except re.error as e:
        raise ProfileError('store_id_pattern: %r is not a valid regular expression (%s)' % (pattern, e))
    if not ok:
        raise ProfileError('store_id: %r does not match the store id pattern %s (store_id_pattern); store ids are shop codes '
                           '(by default 8 digits, for example 12345678)' % (text, pattern))
    return text


def _fail(field, msg):
    raise ProfileError('%s: %s' % (field, msg))


def _list(profile, key, field):
    value = profile.get(key) or []
    if not isinstance(value, list):
        _fail(field, 'must be a list')
    return value


def _abs_path(value, field):
    if not isinstance(value, str) or not value.startswith('/') or '..' in value.split('/'):
        _fail(field, '%r must be an absolute path without ".."' % (value,))
    return posixpath.normpath(value)


MAX_SECONDS = 86400 * 365


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _seconds(value, field, minimum=0):
    """A number of seconds (int or float, not a boolean) of at least ``minimum``, returned as an int."""
    if not _is_number(value) or math.isnan(value) or value < minimum:
        _fail(field, 'must be a number of seconds >= %d, got %r' % (minimum, value))
    if value > MAX_SECONDS:
        _fail(field, 'must be at most %d seconds (a year), got %r' % (MAX_SECONDS, value))
    return int(value)


def _port(value, field):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        _fail(field, 'must be a port number from 1 to 65535, got %r' % (value,))
    return value


def _scalar_map(value, field):
    """A mapping of names to scalar values (text, numbers, booleans), such as an environment."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(field, 'must be a mapping of names to values, such as {LANG: C.UTF-8}, got %r' % (value,))
    for k, v in value.items():
        if not isinstance(k, str) or not k:
            _fail(field, 'key %r must be a non-empty string' % (k,))
        if v is not None and not isinstance(v, (str, int, float, bool)):
            _fail('%s.%s' % (field, k), 'must be a single value (text, number or boolean), got %r' % (v,))
    return value


def data_volume_suffix(path):
    """The part of a data volume's name that comes from its data path: every run of characters other
    than letters and digits becomes '_', without a leading or trailing '_' (as the instance role names
    its volumes)."""
    return re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_')


VOLUME_PREFIX = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*\Z')


def data_volumes(data_paths, prefix):
    """Data path -> the name of the Docker volume that keeps it: PREFIX_<data_volume_suffix(path)>.
    The profile's validation already refuses two data paths whose names would be the same."""
    if not isinstance(prefix, str) or not VOLUME_PREFIX.match(prefix):
        raise ProfileError('volume_prefix: %r is not the start of a Docker volume name (a letter or digit, '
                           'then letters, digits, _ . or -); set pos_instance_volume_prefix to one' % (prefix,))
    return dict((path, '%s_%s' % (prefix, data_volume_suffix(path))) for path in data_paths)


def _has_control(text):
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _command(value, field):
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    _fail(field, 'must be a command line (a string, or a list of arguments)')


def _media(profile):
    media = profile.get('media')
    if not isinstance(media, dict):
        _fail('media', 'is required: a mapping with path (or url) and sha256 of the install media')
    has_path, has_url = bool(media.get('path')), bool(media.get('url'))
    if has_path == has_url:
        _fail('media', 'give exactly one of media.path or media.url')
    for key in ('path', 'url'):
        if media.get(key) and not isinstance(media[key], str):
            _fail('media.' + key, 'must be a string, got %r' % (media[key],))
        if media.get(key):
            base = posixpath.basename(media[key].split('?', 1)[0].split('#', 1)[0] if key == 'url' else media[key])
            if base in ('', '.', '..') or '\0' in base or _has_control(base):
                _fail('media.' + key, '%r must end in the media file\'s name, such as demo-pos-1.0.1.tar.gz' % (media[key],))
    sha = str(media.get('sha256') or '').lower()
    if not SHA256_RE.match(sha):
        _fail('media.sha256', 'must be the 64 hex digits of the media file\'s SHA-256 (sha256sum prints it)')
    out = {'sha256': sha}
    if has_path:
        out['path'] = media['path']
    else:
        if not re.match(r'https?://[^\s/]', media['url']) or re.search(r'\s', media['url']):
            _fail('media.url', '%r must be an http:// or https:// URL' % media['url'])
        out['url'] = media['url']
    if media.get('build_from'):
        out['build_from'] = media['build_from']
    out['unpack'] = bool(media.get('unpack', True))
    return out


def _named(profile, key, name_re, unnamed, what):
    """(field, entry) of each entry of the profile's list ``key``: a mapping whose name matches
    ``name_re`` (else the failure says ``unnamed``) and is not used by an earlier entry (else it
    says which ``what`` is listed twice)."""
    seen = set()
    for i, entry in enumerate(_list(profile, key, key)):
        field = '%s[%d]' % (key, i)
        if not isinstance(entry, dict) or not name_re.match(str(entry.get('name', ''))):
            _fail(field + '.name', unnamed)
        if entry['name'] in seen:
            _fail(field + '.name', '%s %s is listed twice' % (what, entry['name']))
        seen.add(entry['name'])
        yield field, entry


def _users(profile, groups):
    users = []
    for field, u in _named(profile, 'users', USER_RE, 'a user needs a name of lower-case letters, digits, "_" or "-"',
                           'user'):
        if u.get('groups') is not None and not isinstance(u['groups'], list):
            _fail(field + '.groups', 'must be a list of group names, got %r' % (u['groups'],))
        for g in u.get('groups') or []:
            if g not in groups:
                _fail(field + '.groups', 'group %r is not in the profile\'s groups' % g)
        entry = {'name': u['name'], 'groups': list(u.get('groups') or []),
                 'shell': u.get('shell', '/bin/bash'), 'system': bool(u.get('system', False))}
        if u.get('uid') is not None:
            uid = u['uid']
            if isinstance(uid, str) and re.match(r'[0-9]{1,10}\Z', uid):
                uid = int(uid)
            if isinstance(uid, bool) or not isinstance(uid, int) or not 0 <= uid < 2 ** 32 - 1:
                _fail(field + '.uid', 'must be a user id from 0 to 4294967294, got %r' % (uid,))
            entry['uid'] = uid
        if u.get('home'):
            entry['home'] = _abs_path(u['home'], field + '.home')
        users.append(entry)
    return users


BACKUP_ONLINE = ('none', 'sqlite')


def _inside(path, data_paths):
    return any(path == d or path.startswith(d + '/') for d in data_paths)


def validate_backup(backup, data_paths):
    """The profile's backup section, normalised: include, exclude, online (none or sqlite) and sqlite
    (the SQLite databases copied with SQLite's backup API while the application runs)."""
    if backup is None:
        backup = {}
    if not isinstance(backup, dict):
        _fail('backup', 'must be a mapping (include, exclude, online, sqlite)')
    unknown = sorted(str(k) for k in backup if k not in ('include', 'exclude', 'online', 'sqlite'))
    if unknown:
        _fail('backup', 'unknown key(s) %s; the keys are include, exclude, online and sqlite' % ', '.join(unknown))
    for key in ('include', 'exclude', 'sqlite'):
        if backup.get(key) is not None and not isinstance(backup[key], list):
            _fail('backup.' + key, 'must be a list')
    include = [_abs_path(p, 'backup.include[%d]' % i) for i, p in enumerate(backup.get('include') or data_paths)]
    for i, p in enumerate(include):
        if not _inside(p, data_paths):
            _fail('backup.include[%d]' % i, '%s is not inside any of the data_paths' % p)
    exclude = []
    for i, x in enumerate(backup.get('exclude') or []):
        if not isinstance(x, str) or not x.strip():
            _fail('backup.exclude[%d]' % i, 'must be a glob pattern (a non-empty string), such as "*.tmp"')
        exclude.append(x)
    online = backup.get('online')
    online = 'none' if online in (None, False) else online
    if online not in BACKUP_ONLINE:
        _fail('backup.online', '%r is not supported: give sqlite (the SQLite files in backup.sqlite are copied with '
                               'SQLite\'s backup API while the application runs) or none (the application is '
                               'stopped for the copy)' % (online,))
    sqlite = []
    for i, p in enumerate(backup.get('sqlite') or []):
        field = 'backup.sqlite[%d]' % i
        path = _abs_path(p, field)
        if not _inside(path, data_paths) or path in data_paths:
            _fail(field, '%s must be a database file inside one of the data_paths' % path)
        if path in sqlite:
            _fail(field, '%s is listed twice' % path)
        sqlite.append(path)
    if online == 'sqlite' and not sqlite:
        _fail('backup.sqlite', 'online: sqlite needs the SQLite database files to copy, such as [/usr2/pos/db/pos.db]')
    if online == 'none' and sqlite:
        _fail('backup.online', 'backup.sqlite lists databases but online is not sqlite; set online: sqlite '
                               '(or remove backup.sqlite)')
    return {'include': include, 'exclude': exclude, 'online': online, 'sqlite': sqlite}


def validate_profile(profile):
    """Check a profile and return it normalised. Raises ProfileError naming the bad field."""
    if not isinstance(profile, dict):
        raise ProfileError('profile: must be a mapping (see docs/profiles.md)')
    name = profile.get('name')
    if not isinstance(name, str) or not NAME_RE.match(name):
        _fail('name', '%r must be a short lower-case name such as "demo"' % (name,))
    version = str(profile.get('version') or '')
    if not VERSION_RE.match(version):
        _fail('version', 'is required: the application version, for example 1.0.0')

    packages = [str(p) for p in _list(profile, 'packages', 'packages')]
    bad = [p for p in packages if not re.fullmatch(PACKAGE_NAME_RE, p)]
    if bad:
        _fail('packages', '%s not valid Debian package name(s)' % ', '.join(bad))

    groups = []
    for i, g in enumerate(_list(profile, 'groups', 'groups')):
        gname = g.get('name') if isinstance(g, dict) else g
        if not isinstance(gname, str) or not USER_RE.match(gname):
            _fail('groups[%d]' % i, 'a group needs a name of lower-case letters, digits, "_" or "-"')
        groups.append(gname)
    users = _users(profile, groups)
    user_names = set(u['name'] for u in users) | set(['root'])

    install = []
    for i, step in enumerate(_list(profile, 'install', 'install')):
        field = 'install[%d]' % i
        if isinstance(step, (str, list)):
            step = {'command': step}
        if not isinstance(step, dict):
            _fail(field, 'must be a command or a mapping with command')
        entry = {'command': _command(step.get('command'), field + '.command')}
        if step.get('creates'):
            entry['creates'] = _abs_path(step['creates'], field + '.creates')
        if step.get('chdir'):
            entry['chdir'] = _abs_path(step['chdir'], field + '.chdir')
        install.append(entry)
    if not install:
        _fail('install', 'give at least one install step (the commands that install the application from its media)')

    services = []
    for field, s in _named(profile, 'services', NAME_RE, 'a service needs a short lower-case name', 'service'):
        cmd = _command(s.get('command'), field + '.command')
        user = s.get('user', 'root')
        if not isinstance(user, str) or user not in user_names:
            _fail(field + '.user', 'user %r is neither root nor one of the profile\'s users' % user)
        services.append({'name': s['name'], 'command': cmd if isinstance(cmd, list) else ['/bin/sh', '-c', cmd],
                         'user': user, 'stop_timeout': _seconds(s.get('stop_timeout', 10), field + '.stop_timeout'),
                         'env': dict((str(k), str(v)) for k, v in _scalar_map(s.get('env'), field + '.env').items())})

    ports = []
    for i, p in enumerate(_list(profile, 'ports', 'ports')):
        if isinstance(p, int) and not isinstance(p, bool):
            p = {'port': p}
        field = 'ports[%d]' % i
        if not isinstance(p, dict) or isinstance(p.get('port'), bool) or not isinstance(p.get('port'), int) \
                or not 0 < p['port'] < 65536:
            _fail(field, 'must be a port number from 1 to 65535 (or a mapping with port and proto), got %r' % (p,))
        proto = p.get('proto', 'tcp')
        if proto not in ('tcp', 'udp'):
            _fail(field + '.proto', 'must be tcp or udp')
        ports.append({'port': p['port'], 'proto': proto})

    data_paths = []
    for i, d in enumerate(_list(profile, 'data_paths', 'data_paths')):
        path = _abs_path(d, 'data_paths[%d]' % i)
        if path in SYSTEM_PATHS:
            _fail('data_paths[%d]' % i, '%s is a system folder; give the folder that holds the store\'s data, '
                                        'such as /usr2/pos' % path)
        for other in data_paths:
            if path == other or path.startswith(other + '/') or other.startswith(path + '/'):
                _fail('data_paths[%d]' % i, '%s overlaps %s' % (path, other))
        for j, other in enumerate(data_paths):
            if data_volume_suffix(path) == data_volume_suffix(other):
                _fail('data_paths[%d]' % i, '%s and %s (data_paths[%d]) would share the data volume name *_%s; '
                                            'rename one folder' % (path, other, j, data_volume_suffix(path)))
        data_paths.append(path)
    if not data_paths:
        _fail('data_paths', 'give at least one folder that holds the store\'s data (it is kept and migrated)')

    health = profile.get('health')
    if not isinstance(health, dict) or not isinstance(health.get('url'), str) \
            or not re.match(r'https?://[^\s/]', health['url']) or re.search(r'\s', health['url']):
        _fail('health.url', 'is required: an http:// URL inside the instance that answers when the application is healthy')
    health = {'url': health['url'], 'timeout': _seconds(health.get('timeout', 60), 'health.timeout', minimum=1),
              'expect': dict(_scalar_map(health.get('expect'), 'health.expect'))}

    backup = validate_backup(profile.get('backup'), data_paths)

    printer = profile.get('printer') or {}
    if not isinstance(printer, dict):
        _fail('printer', 'must be a mapping with port (and name), got %r' % (printer,))
    printer = {'port': _port(printer.get('port', 9100), 'printer.port'), 'name': str(printer.get('name', 'receipt'))}

    config_files = []
    for i, c in enumerate(_list(profile, 'config_files', 'config_files')):
        if not isinstance(c, dict) or 'content' not in c:
            _fail('config_files[%d]' % i, 'needs dest and content')
        config_files.append({'dest': _abs_path(c.get('dest'), 'config_files[%d].dest' % i),
                             'content': str(c['content']), 'mode': str(c.get('mode', '0644')),
                             'owner': str(c.get('owner', 'root'))})

    app_services = [str(n) for n in _list(profile, 'app_services', 'app_services')] or [s['name'] for s in services]
    names = set(s['name'] for s in services)
    for i, n in enumerate(app_services):
        if n not in names:
            _fail('app_services[%d]' % i, '%r is not one of the profile\'s services (%s)' % (n, ', '.join(sorted(names))))

    summary = profile.get('data_summary')
    if summary is not None:
        if not isinstance(summary, dict):
            _fail('data_summary', 'must be a mapping with command (and optionally user and compare)')
        cmd = _command(summary.get('command'), 'data_summary.command')
        user = summary.get('user', 'root')
        if not isinstance(user, str) or user not in user_names:
            _fail('data_summary.user', 'user %r is neither root nor one of the profile\'s users' % user)
        if summary.get('compare') is not None and not isinstance(summary['compare'], list):
            _fail('data_summary.compare', 'must be a list of keys, got %r' % (summary['compare'],))
        compare = [str(k) for k in summary.get('compare') or []]
        if not compare:
            _fail('data_summary.compare', 'list the keys of the summary that must be equal on both sides, '
                                          'such as [transactions, digest]')
        summary = {'command': cmd if isinstance(cmd, list) else ['/bin/sh', '-c', cmd], 'user': user,
                   'compare': compare}

    return {
        'name': name, 'version': version, 'media': _media(profile), 'packages': packages,
        'groups': groups, 'users': users, 'install': install, 'services': services, 'ports': ports,
        'data_paths': data_paths, 'health': health, 'backup': backup,
        'printer': printer, 'config_files': config_files, 'app_services': app_services,
        'data_summary': summary,
    }


def profile_digest(profile):
    """SHA-256 of a normalised profile: the staging input that stands for the profile."""
    return sha256_json(profile)
