"""Mirror credentials never reach a media image's labels, sources list, inputs or evidence; they
are handed to apt in auth.conf.d form. Downloads are bounded."""
import json

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import media
from ansible_collections.poscloud.fleet.plugins.module_utils.common import canonical_json

MIRROR = 'http://builder:S3cr3t-pass@mirror.example.test:8080/debian'
SECRET = 'S3cr3t-pass'


def test_credentials_are_stripped_from_urls_anywhere_in_a_value():
    value = {'mirror': MIRROR, 'sources': ['%s bookworm-updates' % MIRROR, 'https://u@sec.example.test/x s'],
             'note': 'from %s/ and file:///srv/a@b' % MIRROR}
    clean = media.strip_credentials(value)
    text = json.dumps(clean)
    assert SECRET not in text and 'builder' not in text and 'u@sec' not in text
    assert clean['mirror'] == 'http://mirror.example.test:8080/debian'
    assert clean['sources'][1] == 'https://sec.example.test/x s'
    assert 'file:///srv/a@b' in clean['note']  # an @ in a path is no credential
    # The check sees the secret when it is there.
    assert SECRET in json.dumps(value)


def test_url_credentials_are_split_and_decoded():
    assert media.url_credentials('https://us%40er:p%3Ass@m.example.test/debian/') == (
        'https://m.example.test/debian/', 'us@er', 'p:ss')
    assert media.url_credentials('http://m.example.test/debian') == ('http://m.example.test/debian', None, None)
    assert media.url_credentials('http://token@m.example.test/d') == ('http://m.example.test/d', 'token', '')


def test_apt_auth_names_the_scheme_for_http_only():
    text = media.render_apt_auth([MIRROR, MIRROR + '/', 'https://a:b@sec.example.test/debian-security/',
                                  'http://plain.example.test/debian'])
    assert text.splitlines() == [
        'machine http://mirror.example.test:8080/debian login builder password %s' % SECRET,
        'machine sec.example.test/debian-security login a password b',
    ]
    assert media.render_apt_auth(['http://plain.example.test/debian']) == ''
    with pytest.raises(media.MediaError, match='mirror'):
        media.render_apt_auth(['http://a%20b:c@m.example.test/d'])


def test_sources_list_labels_and_inputs_hold_no_credentials():
    entries = media.parse_apt_sources(
        'deb %s bookworm main\ndeb %s bookworm-updates main\n'
        'deb https://u:tok@sec.example.test/debian-security bookworm-security main\n' % (MIRROR, MIRROR))
    mirror = media.mirror_for_suite(entries, 'bookworm')
    assert mirror == MIRROR  # the build itself still reaches the mirror with them
    sources = media.update_sources_for_suite(entries, 'bookworm', mirror)
    listing = media.render_sources_list(sources, ['main'])
    assert SECRET not in listing and 'tok' not in listing
    assert 'deb http://mirror.example.test:8080/debian bookworm main' in listing
    auth = media.render_apt_auth([u for u, s, c in sources])
    assert SECRET in auth and 'password tok' in auth

    options = {'sources': ['%s %s' % (u, s) for u, s, c in sources]}
    inputs = media.build_inputs('bookworm', 'minbase', ['main'], ['python3'], mirror, [], 'amd64', options)
    assert SECRET not in canonical_json(inputs) and 'tok' not in canonical_json(inputs)
    # A new password for the same mirror is the same build.
    other = media.build_inputs('bookworm', 'minbase', ['main'], ['python3'], mirror.replace(SECRET, 'other'),
                               [], 'amd64', media.strip_credentials(options))
    assert media.input_hash(other) == media.input_hash(inputs)

    labels = media.render_labels('media', 'h', 't', 'debian', 'bookworm', mirror, None, [],
                                 extra={'origin': MIRROR})
    assert SECRET not in json.dumps(labels)
    assert labels['poscloud.fleet.mirror'] == 'http://mirror.example.test:8080/debian'


def test_downloads_are_bounded():
    options = media.apt_download_options()
    assert 'Acquire::http::Timeout=%d' % media.DOWNLOAD_TIMEOUT in options
    assert 'Acquire::https::Timeout=%d' % media.DOWNLOAD_TIMEOUT in options
    assert 'Acquire::Retries=%d' % (media.DOWNLOAD_TRIES - 1) in options
    assert media.render_wgetrc(30, 2).splitlines()[:2] == ['timeout = 30', 'tries = 2']
    for bad in (0, -1, 3601, '60', True, None):
        with pytest.raises(media.MediaError, match='download_timeout'):
            media.apt_download_options(bad)
    with pytest.raises(media.MediaError, match='download_tries'):
        media.render_wgetrc(60, 0)
