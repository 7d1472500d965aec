import os

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import media
from ansible_collections.poscloud.fleet.plugins.module_utils.common import sha256_bytes

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


# -- apt sources --------------------------------------------------------------------------------

def test_deb822_sources_skip_disabled_and_keep_types():
    entries = media.parse_apt_sources(fixture('debian.sources'))
    uris = [e['uri'] for e in entries]
    assert uris == ['http://mirror.example.test/debian', 'http://security.example.test/debian-security',
                    'http://src.example.test/debian']
    assert entries[0]['suites'] == ['bookworm', 'bookworm-updates']
    assert entries[1]['components'] == ['main', 'contrib']
    assert entries[2]['types'] == ['deb-src']


def test_one_line_sources_with_options_and_comments():
    entries = media.parse_apt_sources(fixture('sources.list'))
    assert [(e['types'][0], e['uri'], e['suites'][0]) for e in entries] == [
        ('deb', 'http://mirror.example.test/debian', 'bookworm'),
        ('deb', 'http://mirror.example.test/debian', 'bookworm-updates'),
        ('deb', 'http://security.example.test/debian-security', 'bookworm-security'),
        ('deb-src', 'http://src.example.test/debian', 'bookworm'),
        ('deb', 'http://other.example.test/debian/', 'trixie'),
    ]
    assert entries[0]['components'] == ['main', 'contrib']


def test_format_is_detected_from_content():
    assert media.parse_apt_sources(fixture('debian.sources'), None)[0]['uri'].endswith('/debian')
    assert len(media.parse_apt_sources(fixture('sources.list'))) == 5
    with pytest.raises(ValueError):
        media.parse_apt_sources('', 'yaml')


@pytest.mark.parametrize('name', ['debian.sources', 'sources.list'])
def test_mirror_for_suite_prefers_the_suite_itself(name):
    entries = media.parse_apt_sources(fixture(name))
    assert media.mirror_for_suite(entries, 'bookworm') == 'http://mirror.example.test/debian'


def test_mirror_for_an_unlisted_suite_falls_back_to_a_non_security_binary_entry():
    entries = media.parse_apt_sources(fixture('sources.list'))
    assert media.mirror_for_suite(entries, 'trixie') == 'http://other.example.test/debian'
    assert media.mirror_for_suite(entries, 'sid') == 'http://mirror.example.test/debian'
    only_security = [e for e in entries if 'security' in e['uri']]
    assert media.mirror_for_suite(only_security, 'sid') is None
    assert media.mirror_for_suite([], 'bookworm') is None


def test_update_sources_add_the_family_suites_once():
    entries = media.parse_apt_sources(fixture('debian.sources'))
    sources = media.update_sources_for_suite(entries, 'bookworm', 'http://mirror.example.test/debian/')
    assert sources == [
        ('http://mirror.example.test/debian', 'bookworm', ('main',)),
        ('http://mirror.example.test/debian', 'bookworm-updates', ('main',)),
        ('http://security.example.test/debian-security', 'bookworm-security', ('main', 'contrib')),
    ]
    text = media.render_sources_list(sources, ['main'])
    assert text.splitlines() == [
        'deb http://mirror.example.test/debian bookworm main',
        'deb http://mirror.example.test/debian bookworm-updates main',
        'deb http://security.example.test/debian-security bookworm-security main',
    ]


def test_update_sources_ignore_other_families():
    entries = media.parse_apt_sources(fixture('sources.list'))
    sources = media.update_sources_for_suite(entries, 'trixie', 'http://m.example.test/debian')
    assert sources == [('http://m.example.test/debian', 'trixie', ('main',))]


# -- input hashing ------------------------------------------------------------------------------

def _inputs(**over):
    args = dict(suite='bookworm', variant='minbase', components=['main'], packages=['python3', 'rsync'],
                mirror='http://m.example.test/debian', files=[], arch='amd64', options={'x': 1})
    args.update(over)
    return media.build_inputs(**args)


def test_input_hash_ignores_order_duplicates_and_trailing_slash():
    a = media.input_hash(_inputs())
    b = media.input_hash(_inputs(packages=['rsync', 'python3', 'rsync'], mirror='http://m.example.test/debian/'))
    assert a == b
    assert len(a) == 64


@pytest.mark.parametrize('change', [
    {'suite': 'trixie'}, {'variant': 'buildd'}, {'components': ['main', 'contrib']},
    {'packages': ['python3']}, {'mirror': 'http://other.example.test/debian'}, {'arch': 'arm64'},
    {'options': {'x': 2}},
    {'files': [{'dest': '/etc/motd', 'mode': '0644', 'content_sha256': sha256_bytes('hi')}]},
])
def test_input_hash_changes_with_every_input(change):
    assert media.input_hash(_inputs()) != media.input_hash(_inputs(**change))


def test_file_digest_depends_on_content_and_mode():
    base = {'dest': '/etc/motd', 'mode': '0644', 'content_sha256': sha256_bytes('a')}
    assert media.file_digest(base) != media.file_digest(dict(base, content_sha256=sha256_bytes('b')))
    assert media.file_digest(base) != media.file_digest(dict(base, mode='0600'))


# -- manifests, release dates, labels ---------------------------------------------------------------

def test_dpkg_status_lists_only_installed_packages_sorted():
    manifest = media.parse_dpkg_status(fixture('status'))
    assert manifest == [
        {'name': 'base-files', 'version': '12.4+deb12u8', 'architecture': 'amd64'},
        {'name': 'python3', 'version': '3.11.2-1+b1', 'architecture': 'amd64'},
        {'name': 'tzdata', 'version': '2025b-0+deb12u1', 'architecture': 'all'},
    ]


def test_manifest_digest_is_stable_and_content_sensitive():
    manifest = media.parse_dpkg_status(fixture('status'))
    assert media.manifest_digest(manifest) == media.manifest_digest(list(manifest))
    changed = [dict(manifest[0], version='12.4+deb12u9')] + manifest[1:]
    assert media.manifest_digest(manifest) != media.manifest_digest(changed)


def test_patch_level_is_the_newest_release_date():
    assert media.patch_level([fixture('InRelease'), fixture('security_Release')]) == '2025-11-21T17:02:33Z'
    assert media.patch_level([fixture('InRelease')]) == '2025-09-06T10:23:12Z'
    assert media.patch_level(['Origin: Debian\n']) is None
    assert media.patch_level([]) is None


def test_release_date_with_offset_is_converted_to_utc():
    d = media.parse_release_date('Date: Sat, 06 Sep 2025 12:23:12 +0200\n')
    assert d.strftime('%Y-%m-%dT%H:%M:%SZ') == '2025-09-06T10:23:12Z'
    assert media.parse_release_date('Date: not a date\n') is None


def test_render_labels():
    manifest = media.parse_dpkg_status(fixture('status'))
    labels = media.render_labels('media', 'h' * 64, '2026-01-01T00:00:00Z', 'debian', 'bookworm',
                                 'http://m.example.test/debian', None, manifest, extra={'team': 'pos'})
    assert labels['poscloud.fleet.kind'] == 'media'
    assert labels['poscloud.fleet.input-hash'] == 'h' * 64
    assert labels['poscloud.fleet.patch-level'] == 'unknown'
    assert labels['poscloud.fleet.package-count'] == '3'
    assert labels['poscloud.fleet.manifest-digest'] == media.manifest_digest(manifest)
    assert labels['poscloud.fleet.mirror'] == 'http://m.example.test/debian'
    assert labels['team'] == 'pos'
    assert all(isinstance(v, str) for v in labels.values())


def test_missing_packages_are_read_from_debootstrap_output():
    log = "I: Retrieving Packages\nE: Couldn't find these debs: nosuchpkg other-missing\n"
    assert media.missing_packages_from_log(log) == ['nosuchpkg', 'other-missing']
    assert media.missing_packages_from_log('E: Unable to locate package zzz\nE: Unable to locate package zzz') == ['zzz']
    assert media.missing_packages_from_log('all fine') == []


# -- validation -------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['poscloud/media', 'media', 'registry.example.test:5000/pos/media-x',
                                  'a/b_c/d__e', 'pos.media/x-y'])
def test_valid_repositories(name):
    media.validate_repository(name)


@pytest.mark.parametrize('name', ['', 'Poscloud/Media', 'pos cloud', 'media:', '-media', 'media/', 'a//b',
                                  'a/b:c:d', 'x' * 256])
def test_invalid_repositories_name_the_field(name):
    with pytest.raises(media.MediaError, match='^name: '):
        media.validate_repository(name)


@pytest.mark.parametrize('tag,ok', [('latest', True), ('2026.11', True), ('v1_2-3', True), ('.x', False),
                                    ('-x', False), ('a' * 129, False), ('has space', False), ('', False)])
def test_tags(tag, ok):
    if ok:
        media.validate_tag(tag)
    else:
        with pytest.raises(media.MediaError, match='^tag: '):
            media.validate_tag(tag)


def test_split_reference_minds_registry_ports():
    assert media.split_reference('reg.example.test:5000/pos/media:1') == ('reg.example.test:5000/pos/media', '1')
    assert media.split_reference('reg.example.test:5000/pos/media') == ('reg.example.test:5000/pos/media', None)
    assert media.split_reference('media') == ('media', None)


@pytest.mark.parametrize('kwargs,field', [
    ({'suite': 'Bookworm!'}, 'suite'),
    ({'suite': ''}, 'suite'),
    ({'variant': 'tiny'}, 'variant'),
    ({'components': []}, 'components'),
    ({'components': ['main', 'bad comp']}, 'components'),
    ({'packages': ['python3', 'Bad_Name']}, 'packages'),
    ({'packages': ['x;rm -rf /']}, 'packages'),
])
def test_build_input_errors_name_the_field(kwargs, field):
    args = dict(suite='bookworm', variant='minbase', components=['main'], packages=['python3'])
    args.update(kwargs)
    with pytest.raises(media.MediaError, match='^%s: ' % field):
        media.validate_build_inputs(**args)


# A name that is valid up to a trailing line break is not valid: every pattern anchors at the true end.

@pytest.mark.parametrize('name', ['poscloud/media\n', 'media\n', 'registry.example.test:5000/pos/media\n'])
def test_repository_with_a_trailing_newline_is_refused(name):
    media.validate_repository(name.rstrip('\n'))
    with pytest.raises(media.MediaError, match='^name: '):
        media.validate_repository(name)


@pytest.mark.parametrize('tag', ['latest\n', '2026.11\n'])
def test_tag_with_a_trailing_newline_is_refused(tag):
    media.validate_tag(tag.rstrip('\n'))
    with pytest.raises(media.MediaError, match='^tag: '):
        media.validate_tag(tag)


@pytest.mark.parametrize('kwargs,field', [
    ({'suite': 'bookworm\n'}, 'suite'),
    ({'components': ['main\n']}, 'components'),
    ({'packages': ['python3\n']}, 'packages'),
    ({'packages': ['python3', 'ca-certificates\n']}, 'packages'),
])
def test_build_inputs_with_a_trailing_newline_are_refused(kwargs, field):
    args = dict(suite='bookworm', variant='minbase', components=['main'], packages=['python3'])
    media.validate_build_inputs(**args)
    args.update(kwargs)
    with pytest.raises(media.MediaError, match='^%s: ' % field):
        media.validate_build_inputs(**args)


def test_the_patterns_themselves_do_not_match_a_trailing_newline():
    for pattern, value in ((media.PACKAGE_NAME_RE, 'python3'), (media.SUITE_RE, 'bookworm'),
                           (media.COMPONENT_RE, 'main'), (media.REPOSITORY_RE, 'poscloud/media'),
                           (media.TAG_RE, 'latest')):
        assert pattern.match(value)
        assert not pattern.match(value + '\n'), pattern.pattern


def test_url_credentials_of_a_url_with_a_trailing_newline_are_not_read():
    assert media.url_credentials('http://u:p@m.example.test/debian') == ('http://m.example.test/debian', 'u', 'p')
    # Not a URL: nothing is split out of it, so no auth.conf.d line is made from it.
    assert media.url_credentials('http://u:p@m.example.test/debian\n')[1:] == (None, None)
    assert media.render_apt_auth(['http://u:p@m.example.test/debian\n']) == ''


@pytest.mark.parametrize('url', ['http://us%0Aer:p@m.example.test/d', 'http://user:p%0A@m.example.test/d',
                                 'http://user:p%0Amachine%20x@m.example.test/d'])
def test_apt_auth_refuses_a_login_or_password_with_a_line_break(url):
    with pytest.raises(media.MediaError, match='^mirror: '):
        media.render_apt_auth([url])


def test_the_disk_image_roles_mirror_script_runs_where_the_collection_is_not_importable(tmp_path):
    """roles/disk_image/files/apt_mirror.py runs with the host's python3 and loads media.py (and what
    media.py imports) from their files: -I keeps the checkout and the venv's paths out of sys.path."""
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    sources = tmp_path / 'sources.list'
    sources.write_text('deb http://mirror.example.test/debian bookworm main\n')
    role = os.path.join(root, 'roles', 'disk_image')
    argv = [sys.executable, '-I', os.path.join(role, 'files', 'apt_mirror.py'),
            os.path.join(role, '..', '..', 'plugins', 'module_utils', 'media.py'), 'bookworm', str(sources)]
    proc = subprocess.run(argv, cwd=str(tmp_path), capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, 'http://mirror.example.test/debian'), proc.stderr
    sources.write_text('# nothing\n')
    proc = subprocess.run(argv, cwd=str(tmp_path), capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and 'no Debian mirror for bookworm' in proc.stderr, proc.stderr


SOURCES = [('http://u:p@m.example.test/debian', 'bookworm', ('main',)),
           ('http://m.example.test/debian', 'bookworm-updates', ('main',)),
           ('http://s.example.test/debian-security', 'bookworm-security', ('main', 'contrib'))]


def test_mmdebstrap_verifies_signatures_with_the_keyring_and_takes_every_source_at_once():
    cmd = media.mmdebstrap_command('bookworm', '/w/root', SOURCES, ['main'], 'minbase', 'amd64', '/k.gpg',
                                   ['rsync', 'python3', 'rsync'])
    assert cmd[0] == 'mmdebstrap' and '--mode=root' in cmd and '--variant=minbase' in cmd
    assert '--keyring=/k.gpg' in cmd
    # Nothing marks a source trusted or lets apt accept an unsigned or unverified Release.
    assert not [a for a in cmd if 'trusted=yes' in a or 'AllowInsecure' in a or 'AllowUnauthenticated' in a]
    assert '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr' in cmd
    assert '--include=python3,rsync' in cmd
    assert '--aptopt=Acquire::http::Timeout "60"' in cmd and '--aptopt=Acquire::Retries "2"' in cmd
    # Each source trusts the keyring alone, not the build host's trusted keys.
    assert cmd[-5:] == ['bookworm', '/w/root', 'deb [signed-by=/k.gpg] http://u:p@m.example.test/debian bookworm main',
                        'deb [signed-by=/k.gpg] http://m.example.test/debian bookworm-updates main',
                        'deb [signed-by=/k.gpg] http://s.example.test/debian-security bookworm-security main']
    assert not [a for a in cmd if 'hook=' in a]


def test_mmdebstrap_download_bounds_and_package_cache():
    cmd = media.mmdebstrap_command('bookworm', '/r', SOURCES[:1], ['main'], '-', 'arm64', '/k', [],
                                   package_cache="/var/cache/it's", timeout=5, tries=1)
    assert '--aptopt=Acquire::https::Timeout "5"' in cmd and '--aptopt=Acquire::Retries "0"' in cmd
    assert not [a for a in cmd if a.startswith('--include')]
    assert '--skip=essential/unlink' in cmd and '--skip=download/empty' in cmd
    setup = [a for a in cmd if a.startswith('--setup-hook=')][0]
    assert "mount --bind '/var/cache/it'\\''s' \"$1/var/cache/apt/archives\"" in setup
    assert '--customize-hook=umount "$1/var/cache/apt/archives"' in cmd
    with pytest.raises(media.MediaError, match='download_timeout'):
        media.mmdebstrap_command('bookworm', '/r', SOURCES, ['main'], 'minbase', 'amd64', '/k', [], timeout=0)


def test_mmdebstrap_has_no_fakechroot_variant():
    with pytest.raises(media.MediaError, match="variant: 'fakechroot' is not a variant of the mmdebstrap builder"):
        media.mmdebstrap_command('bookworm', '/r', SOURCES, ['main'], 'fakechroot', 'amd64', '/k', [])
    media.validate_builder_variant('debootstrap', 'fakechroot')
    with pytest.raises(media.MediaError, match='keyring: '):
        media.mmdebstrap_command('bookworm', '/r', SOURCES, ['main'], 'minbase', 'amd64', '/my keys/k.gpg', [])
