# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind OS media builds: apt sources, input hashing, manifests, labels.

Nothing here talks to Ansible, Docker or the network, so all of it is unit-tested directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from datetime import timezone
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from ansible_collections.poscloud.fleet.plugins.module_utils.common import LABEL_PREFIX, sha256_json

# Bumped when the build procedure changes in a way that makes old images differ from new ones.
BUILDER_VERSION = '1'

# Variants debootstrap knows; "-" is debootstrap's name for its default (required + important).
VARIANTS = ('minbase', 'buildd', 'fakechroot', '-')
# Tools that bootstrap the root, the first the default. mmdebstrap resolves the packages with apt
# against every source at once (suite, updates, security), so the root needs no upgrade afterwards;
# it has no fakechroot variant (fakechroot is one of its modes). debootstrap stays the default: its
# package sets differ where a dependency is met by a package that provides it (docs/media.md).
BUILDERS = ('debootstrap', 'mmdebstrap')
MMDEBSTRAP_VARIANTS = ('minbase', 'buildd', '-')
# mmdebstrap's own hooks that merge /usr as debootstrap does (directory symlinks and the
# usr-is-merged package); without them apt would take usrmerge, which pulls in perl.
MMDEBSTRAP_MERGED_USR_HOOKS = '/usr/share/mmdebstrap/hooks/merged-usr'
PACKAGE_NAME_RE = re.compile(r'^[a-z0-9][a-z0-9+.\-]+\Z')
SUITE_RE = re.compile(r'^[a-z0-9][a-z0-9.\-]*\Z')
COMPONENT_RE = re.compile(r'^[a-z0-9][a-z0-9\-/]*\Z')

# Docker reference grammar (distribution/reference), without digests.
_ALNUM = r'[a-z0-9]+'
_SEPARATOR = r'(?:[._]|__|[-]+)'
_PATH_COMPONENT = _ALNUM + r'(?:' + _SEPARATOR + _ALNUM + r')*'
_DOMAIN_COMPONENT = r'(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
_DOMAIN = _DOMAIN_COMPONENT + r'(?:\.' + _DOMAIN_COMPONENT + r')*(?::[0-9]+)?'
REPOSITORY_RE = re.compile(r'^(?:' + _DOMAIN + r'/)?' + _PATH_COMPONENT + r'(?:/' + _PATH_COMPONENT + r')*\Z')
TAG_RE = re.compile(r'^[\w][\w.-]{0,127}\Z')


class MediaError(Exception):
    """An input is wrong; the message names the input and says how to fix it."""


def validate_repository(name):
    """Raise MediaError when ``name`` is not a valid image repository name."""
    if not isinstance(name, str) or not name:
        raise MediaError("name: an image repository name is required, for example 'poscloud/media'")
    if len(name) > 255 or not REPOSITORY_RE.match(name):
        raise MediaError(
            "name: %r is not a valid image repository name; use lower-case letters, digits, "
            "'.', '_', '-' and '/' separators, for example 'poscloud/media-bookworm'" % (name,))


def validate_tag(tag):
    if not isinstance(tag, str) or not TAG_RE.match(tag):
        raise MediaError(
            "tag: %r is not a valid image tag; use up to 128 letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-'" % (tag,))


def split_reference(ref):
    """Split ``repo[:tag]`` into (repo, tag or None), minding a registry port."""
    slash = ref.rfind('/')
    colon = ref.rfind(':')
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, None


def validate_build_inputs(suite, variant, components, packages):
    """Check the shape of the debootstrap inputs; raise MediaError naming the bad one."""
    if not suite or not SUITE_RE.match(suite):
        raise MediaError("suite: %r is not a valid suite name; use a code name such as 'bookworm'" % (suite,))
    if variant not in VARIANTS:
        raise MediaError("variant: %r is not one of %s" % (variant, ', '.join(VARIANTS)))
    if not components:
        raise MediaError("components: give at least one archive component, for example ['main']")
    for comp in components:
        if not COMPONENT_RE.match(comp or ''):
            raise MediaError("components: %r is not a valid archive component name" % (comp,))
    bad = [p for p in packages if not PACKAGE_NAME_RE.match(p or '')]
    if bad:
        raise MediaError(
            "packages: %s %s not valid Debian package name%s (lower-case letters, digits, '+', '-', '.')"
            % (', '.join(repr(b) for b in bad), 'is' if len(bad) == 1 else 'are', '' if len(bad) == 1 else 's'))


# ---------------------------------------------------------------------------------------------
# mirror credentials and download timeouts

# user[:password]@ in a URL: credentials that must never reach a label, a sources list, a report
# or evidence. Builds hand them to apt through /etc/apt/auth.conf.d instead.
_URL_CREDENTIALS_RE = re.compile(r'(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@')
_URL_RE = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*)://(?:([^/@\s]*)@)?([^/\s]+)(/[^\s]*)?\Z')

# Seconds a download may stall (no byte received, or no connection) before it is given up, and
# how often it is tried. debootstrap downloads with wget, the image's apt with its own methods.
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_TRIES = 3
APT_AUTH_PATH = '/etc/apt/auth.conf.d/poscloud-build.conf'


def strip_credentials(value):
    """``value`` with every ``user:password@`` removed from the URLs in it; strings, lists and
    dictionaries (keys too) are walked, anything else is returned as it is."""
    if isinstance(value, str):
        return _URL_CREDENTIALS_RE.sub(r'\1', value)
    if isinstance(value, dict):
        return dict((strip_credentials(k), strip_credentials(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(strip_credentials(v) for v in value)
    return value


def url_credentials(url):
    """(url without credentials, login, password) for a mirror URL; login and password are None
    when the URL carries none. The login and password are percent-decoded, as apt expects them."""
    match = _URL_RE.match(url or '')
    if not match or match.group(2) is None:
        return url, None, None
    scheme, userinfo, host, path = match.groups()
    login, sep, password = userinfo.partition(':')
    clean = '%s://%s%s' % (scheme, host, path or '')
    return clean, unquote(login), unquote(password) if sep else ''


def render_apt_auth(urls):
    """apt_auth.conf(5) text for the URLs among ``urls`` that carry credentials ('' when none).

    The file belongs in APT_AUTH_PATH (mode 0600) while a build runs, and is removed from the
    image before it is saved. Entries for plain http name the scheme (apt applies an entry without
    one to https only).
    """
    lines = []
    for url in urls:
        clean, login, password = url_credentials(url)
        if login is None:
            continue
        if not re.fullmatch(r'[^\s]+', login) or (password and not re.fullmatch(r'[^\s]+', password)):
            raise MediaError('mirror: the login and password in a mirror URL cannot hold spaces; '
                             'percent-encode them (%20)')
        machine = clean.split('://', 1)[1].rstrip('/') if clean.startswith('https://') else clean.rstrip('/')
        line = 'machine %s login %s password %s' % (machine, login, password)
        if line not in lines:
            lines.append(line)
    return ''.join(line + '\n' for line in lines)


def apt_download_options(timeout=DOWNLOAD_TIMEOUT, tries=DOWNLOAD_TRIES):
    """apt-get options that bound every download: no connection or no data for ``timeout``
    seconds fails the attempt, and ``tries`` attempts are made in all."""
    timeout, tries = _download_bounds(timeout, tries)
    return ['-o', 'Acquire::http::Timeout=%d' % timeout, '-o', 'Acquire::https::Timeout=%d' % timeout,
            '-o', 'Acquire::ftp::Timeout=%d' % timeout, '-o', 'Acquire::Retries=%d' % (tries - 1)]


def render_wgetrc(timeout=DOWNLOAD_TIMEOUT, tries=DOWNLOAD_TRIES):
    """A wgetrc (WGETRC=...) that bounds debootstrap's downloads the same way."""
    timeout, tries = _download_bounds(timeout, tries)
    return 'timeout = %d\ntries = %d\nwaitretry = 5\n' % (timeout, tries)


def _download_bounds(timeout, tries):
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= 3600:
        raise MediaError('download_timeout: %r is not a number of seconds from 1 to 3600' % (timeout,))
    if isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= 10:
        raise MediaError('download_tries: %r is not a number of attempts from 1 to 10' % (tries,))
    return timeout, tries


# ---------------------------------------------------------------------------------------------
# apt sources


def _parse_deb822(text):
    entries = []
    for stanza in re.split(r'\n\s*\n', text):
        fields = {}
        key = None
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            if line[0] in ' \t' and key:
                fields[key] += ' ' + line.strip()
                continue
            if ':' not in line:
                continue
            key, value = line.split(':', 1)
            key = key.strip().lower()
            fields[key] = value.strip()
        if not fields:
            continue
        if fields.get('enabled', 'yes').lower() in ('no', 'false', '0'):
            continue
        types = fields.get('types', '').split()
        for uri in fields.get('uris', '').split():
            entries.append({
                'types': types,
                'uri': uri,
                'suites': fields.get('suites', '').split(),
                'components': fields.get('components', '').split(),
            })
    return entries


def _parse_one_line(text):
    entries = []
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        # Options in brackets may hold spaces: deb [ arch=amd64 signed-by=/x ] uri suite comps
        line = re.sub(r'\[[^\]]*\]', ' ', line)
        parts = line.split()
        if len(parts) < 3 or parts[0] not in ('deb', 'deb-src'):
            continue
        entries.append({
            'types': [parts[0]],
            'uri': parts[1],
            'suites': [parts[2]],
            'components': parts[3:],
        })
    return entries


def parse_apt_sources(text, fmt=None):
    """Parse apt sources text; ``fmt`` is 'deb822', 'one-line' or None to tell by content.

    Returns a list of ``{'types', 'uri', 'suites', 'components'}`` with one entry per URI.
    Disabled deb822 stanzas (``Enabled: no``) and comments are skipped.
    """
    if fmt is None:
        fmt = 'deb822' if re.search(r'(?im)^\s*(types|uris)\s*:', text) else 'one-line'
    if fmt == 'deb822':
        return _parse_deb822(text)
    if fmt == 'one-line':
        return _parse_one_line(text)
    raise ValueError('unknown apt sources format %r' % (fmt,))


def suite_family(suite):
    """'bookworm-updates' -> 'bookworm'; 'bookworm/updates' -> 'bookworm'."""
    return re.split(r'[-/]', suite, 1)[0]


def mirror_for_suite(entries, suite):
    """The URI of the first binary entry that carries ``suite`` itself, else its family, else any.

    Returns None when no binary entry exists.
    """
    binary = [e for e in entries if 'deb' in e['types']]
    for e in binary:
        if suite in e['suites']:
            return e['uri'].rstrip('/')
    for e in binary:
        if any(suite_family(s) == suite_family(suite) and s == suite_family(s) for s in e['suites']):
            return e['uri'].rstrip('/')
    for e in binary:
        if not any('security' in s for s in e['suites']):
            return e['uri'].rstrip('/')
    return None


def update_sources_for_suite(entries, suite, mirror):
    """The apt sources an image of ``suite`` should use: its own suite on ``mirror`` plus the
    host's update and security suites of the same family.

    Returns a list of ``(uri, suite, components)`` in a stable order, without duplicates.
    """
    family = suite_family(suite)
    result = [(mirror.rstrip('/'), suite, ('main',))]
    seen = set([(mirror.rstrip('/'), suite)])
    for e in entries:
        if 'deb' not in e['types']:
            continue
        for s in e['suites']:
            if s == suite or suite_family(s) != family:
                continue
            key = (e['uri'].rstrip('/'), s)
            if key in seen:
                continue
            seen.add(key)
            result.append((key[0], s, tuple(e['components'] or ['main'])))
    return result


def source_lines(sources, components, signed_by=None):
    """One-line apt sources (``deb URI SUITE COMPONENTS``) for ``sources`` from
    update_sources_for_suite(), credentials as given: for the downloads of a build only. With
    ``signed_by``, each source trusts that keyring and no other."""
    lines = []
    option = '[signed-by=%s] ' % signed_by if signed_by else ''
    for uri, suite, comps in sources:
        use = list(components) if suite_family(suite) == suite else [c for c in comps if c in components] or list(components)
        lines.append('deb %s%s %s %s' % (option, uri, suite, ' '.join(use)))
    return lines


def render_sources_list(sources, components):
    """One-line sources.list text for ``sources`` from update_sources_for_suite(), without any
    credentials (see render_apt_auth())."""
    return '\n'.join(strip_credentials(source_lines(sources, components))) + '\n'


def validate_builder_variant(builder, variant):
    """Raise MediaError when ``builder`` has no ``variant``."""
    if builder == 'mmdebstrap' and variant not in MMDEBSTRAP_VARIANTS:
        raise MediaError("variant: %r is not a variant of the mmdebstrap builder (%s); set builder to "
                         "debootstrap for it" % (variant, ', '.join(MMDEBSTRAP_VARIANTS)))


def mmdebstrap_command(suite, root, sources, components, variant, arch, keyring, packages,
                       package_cache=None, timeout=DOWNLOAD_TIMEOUT, tries=DOWNLOAD_TRIES):
    """The mmdebstrap command line of a build.

    apt fetches and verifies the signed Release files of every source with ``keyring`` alone (each
    source is ``signed-by`` it, so the build host's own trusted keys play no part, as with
    ``debootstrap --keyring``; nothing marks a source trusted), bounds each download by ``timeout`` and ``tries``, and
    resolves ``packages`` against all ``sources`` at once, so they come at their newest versions.
    /usr is merged as debootstrap merges it. The package lists are kept for the patch level. With ``package_cache``, that folder is mounted
    as apt's archive cache for the build: packages found there are not downloaded again (apt still
    checks them against the signed indices), and new ones stay there.
    """
    validate_builder_variant('mmdebstrap', variant)
    if not re.fullmatch(r'[^\s\]\[]+', keyring or ''):
        raise MediaError('keyring: %r cannot be a signed-by option of an apt source (no spaces or brackets)'
                         % (keyring,))
    timeout, tries = _download_bounds(timeout, tries)
    cmd = ['mmdebstrap', '--mode=root', '--format=directory', '--variant=%s' % variant, '--arch=%s' % arch,
           '--components=%s' % ','.join(components), '--keyring=%s' % keyring,
           '--hook-dir=%s' % MMDEBSTRAP_MERGED_USR_HOOKS, '--skip=cleanup/apt/lists', '--skip=check/signed-by']
    cmd += ['--aptopt=Acquire::%s::Timeout "%d"' % (scheme, timeout) for scheme in ('http', 'https', 'ftp')]
    cmd.append('--aptopt=Acquire::Retries "%d"' % (tries - 1))
    if packages:
        cmd.append('--include=%s' % ','.join(sorted(set(packages))))
    if package_cache:
        cache = "'%s'" % package_cache.replace("'", "'\\''")
        cmd += ['--skip=essential/unlink', '--skip=download/empty',
                '--setup-hook=mkdir -p "$1/var/cache/apt/archives" && mount --bind %s "$1/var/cache/apt/archives"' % cache,
                '--customize-hook=umount "$1/var/cache/apt/archives"']
    return cmd + [suite, root] + source_lines(sources, components, signed_by=keyring)


# ---------------------------------------------------------------------------------------------
# hashing and labels


def file_digest(entry):
    """Digest of one ``files`` entry: its destination, mode and content digest."""
    return sha256_json({
        'dest': entry['dest'],
        'mode': entry.get('mode'),
        'content_sha256': entry['content_sha256'],
    })


def build_inputs(suite, variant, components, packages, mirror, files, arch, options=None):
    """The canonical dictionary whose hash identifies a media build. Credentials in the mirror and
    source URLs are left out: the inputs are recorded as evidence, and a new password for the same
    mirror builds the same image."""
    return {
        'builder': BUILDER_VERSION,
        'suite': suite,
        'variant': variant,
        'components': sorted(set(components)),
        'packages': sorted(set(packages)),
        'mirror': strip_credentials(mirror.rstrip('/')),
        'files': sorted(file_digest(f) for f in files),
        'arch': arch,
        'options': strip_credentials(dict(sorted((options or {}).items()))),
    }


def input_hash(inputs):
    return sha256_json(inputs)


def parse_dpkg_status(text):
    """Installed packages from a dpkg status file: list of {name, version, architecture}, sorted."""
    packages = []
    for stanza in re.split(r'\n\s*\n', text):
        fields = {}
        for line in stanza.splitlines():
            if not line or line[0] in ' \t' or ':' not in line:
                continue
            key, value = line.split(':', 1)
            fields[key.strip().lower()] = value.strip()
        if not fields.get('package'):
            continue
        status = fields.get('status', '').split()
        if len(status) != 3 or status[2] != 'installed':
            continue
        packages.append({
            'name': fields['package'],
            'version': fields.get('version', ''),
            'architecture': fields.get('architecture', ''),
        })
    packages.sort(key=lambda p: (p['name'], p['architecture']))
    return packages


def manifest_digest(manifest):
    return sha256_json(manifest)


def parse_release_date(text):
    """The ``Date:`` of a Release or InRelease file as an aware UTC datetime, or None."""
    for line in text.splitlines():
        if line.startswith('Date:'):
            try:
                value = parsedate_to_datetime(line[5:].strip())
            except (TypeError, ValueError, IndexError):
                return None
            if value is None:
                return None
            if value.tzinfo is None:
                return value.replace(tzinfo=timezone.utc)
            return value.astimezone(timezone.utc)
    return None


def patch_level(release_texts):
    """The newest Release date among ``release_texts``, as ISO 8601 UTC, or None."""
    dates = [d for d in (parse_release_date(t) for t in release_texts) if d is not None]
    if not dates:
        return None
    return max(dates).strftime('%Y-%m-%dT%H:%M:%SZ')


def render_labels(kind, input_hash_value, build_time, distribution, suite, mirror, patch, manifest,
                  extra=None):
    """Labels recorded on a media image. All values are strings, without URL credentials."""
    labels = {
        LABEL_PREFIX + 'kind': kind,
        LABEL_PREFIX + 'input-hash': input_hash_value,
        LABEL_PREFIX + 'build-time': build_time,
        LABEL_PREFIX + 'distribution': distribution,
        LABEL_PREFIX + 'suite': suite,
        LABEL_PREFIX + 'mirror': strip_credentials(mirror),
        LABEL_PREFIX + 'patch-level': patch or 'unknown',
        LABEL_PREFIX + 'manifest-digest': manifest_digest(manifest),
        LABEL_PREFIX + 'package-count': str(len(manifest)),
        'org.opencontainers.image.created': build_time,
    }
    for key, value in sorted((extra or {}).items()):
        labels[key] = strip_credentials(str(value))
    return labels


def missing_packages_from_log(text):
    """Package names debootstrap could not find, from its output."""
    found = []
    for m in re.finditer(r"Couldn't find these debs: (.*)", text):
        found.extend(m.group(1).split())
    for m in re.finditer(r'E: Unable to locate package (\S+)', text):
        found.append(m.group(1))
    seen = []
    for name in found:
        if name not in seen:
            seen.append(name)
    return seen
