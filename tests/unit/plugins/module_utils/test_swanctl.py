"""Tests of the swanctl helpers: validation, rendering, redaction and parsing of real daemon output.

The fixtures under fixtures/swanctl/ were captured from two charon 5.9.8 instances in network
namespaces (docs/ipsec-proposals.md); none of them contains a pre-shared key.
"""
import os
import posixpath
import re

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.constants import SwanctlError
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.log import filter_log_events, filter_log_lines
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.parse import (
    parse_list_conns, parse_list_sas, parse_loaded_conn_names, parse_vici_pretty)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.render import (
    conf_path, quote, redact_secrets, render_conf, render_secrets, secret_of, secrets_path)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.status import (
    child_installed, loaded_conn_drift, other_tunnels, tunnel_status)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.syntax import load_problems, settings_syntax_errors
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.validate import classify_token, validate_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.vici import (
    VICI_EVENT, VICI_EVENT_CONFIRM, VICI_EVENT_REGISTER, vici_message, vici_packet, vici_socket_path, vici_split)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'swanctl')
PSK = 'Lab-only "quoted" \\ key #1 0123456789'
NOW = 1795000000  # a fixed "now" for the *_since fields


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def base(**kw):
    spec = dict(
        name='store-0042',
        local_addrs=['198.51.100.10'],
        remote_addrs=['203.0.113.42'],
        local_id='pos-cloud.example.com',
        remote_id='store-0042.example.com',
        local_ts=['10.201.0.0/24'],
        remote_ts=['10.42.0.0/24'],
        psk=PSK,
        start_action='start',
        dpd_action='restart',
    )
    spec.update(kw)
    return spec


# ---------------------------------------------------------------------------------------------
# validation


def test_valid_spec_is_normalised_with_secure_defaults():
    spec, warnings = validate_spec(base())
    assert warnings == []
    assert spec['ike_version'] == 2
    assert spec['ike_proposals'] == ['aes256gcm16-prfsha384-ecp384', 'aes256gcm16-prfsha256-modp3072']
    assert spec['esp_proposals'] == ['aes256gcm16-ecp384', 'aes256gcm16-modp3072']
    assert spec['dpd_delay'] == 30
    assert spec['psk'] == PSK


def test_identities_default_to_the_single_ip_address():
    spec, _unused = validate_spec(base(local_id=None, remote_id=None))
    assert spec['local_id'] == '198.51.100.10'
    assert spec['remote_id'] == '203.0.113.42'


def test_addresses_and_subnets_are_normalised():
    spec, _unused = validate_spec(base(local_addrs=['%ANY'], remote_addrs=['Router-42.Example.COM.'],
                                       local_ts=['10.201.0.0/24', '10.201.0.0/24', '2001:db8:0:0::/64'],
                                       remote_ts='10.42.0.0/24, 10.142.0.7'))
    assert spec['local_addrs'] == ['%any']
    assert spec['remote_addrs'] == ['router-42.example.com']
    assert spec['local_ts'] == ['10.201.0.0/24', '2001:db8::/64']
    assert spec['remote_ts'] == ['10.42.0.0/24', '10.142.0.7/32']


def test_strong_tokens_that_look_like_weak_ones_pass():
    # 'sha1' is weak, but the check compares whole tokens: sha256, sha2_256, prfsha384 are fine
    spec, warnings = validate_spec(base(
        ike_proposals=['AES256-SHA256-ECP384', 'aes128-sha2_256-prfsha384-modp2048', 'chacha20poly1305-prfsha512-x25519'],
        esp_proposals=['aes256-sha384-ecp521', 'aes128gcm16-curve25519-esn']))
    assert warnings == []
    assert spec['ike_proposals'][0] == 'aes256-sha256-ecp384'


def test_aes_gmac_is_an_esp_integrity_algorithm():
    assert classify_token('aes128gmac') == 'integ'
    assert classify_token('null_aes128gmac') == 'aead'
    spec, warnings = validate_spec(base(esp_proposals=['aes256-aes256gmac-ecp384']))
    assert warnings == []
    assert spec['esp_proposals'] == ['aes256-aes256gmac-ecp384']


def test_null_gmac_is_allowed_only_as_weak_crypto():
    spec, warnings = validate_spec(base(esp_proposals=['null_aes128gmac-ecp384'], allow_weak_crypto=True))
    assert spec['esp_proposals'] == ['null_aes128gmac-ecp384']
    assert any("'null_aes128gmac'" in w and 'does not encrypt' in w for w in warnings)


def test_weak_crypto_is_allowed_with_warnings():
    spec, warnings = validate_spec(base(ike_version=1, ike_proposals=['3des-sha1-modp1024'],
                                        esp_proposals=['aes128-md5'], allow_weak_crypto=True))
    assert spec['ike_version'] == 1
    text = ' '.join(warnings)
    for token in ('IKEv1', "'3des'", "'sha1'", "'modp1024'", "'md5'", 'no DH group'):
        assert token in text
    assert all(w.startswith('weak crypto allowed by allow_weak_crypto') for w in warnings)


def test_responder_may_accept_any_remote_address():
    spec, _unused = validate_spec(base(remote_addrs=['%any'], start_action='none', dpd_action='clear'))
    assert spec['remote_addrs'] == ['%any']
    assert spec['remote_id'] == 'store-0042.example.com'


def test_other_tunnels_with_distinct_subnets_and_identities_pass():
    others = [{'name': 'store-0043', 'local_ts': ['10.201.0.0/24'], 'remote_ts': ['10.43.0.0/24'],
               'local_ids': ['pos-cloud.example.com'], 'remote_ids': ['store-0043.example.com']},
              {'name': 'store-0042', 'local_ts': ['10.42.0.0/24'], 'remote_ts': ['10.42.0.0/24']}]
    validate_spec(base(), others=others)  # the tunnel itself (same name) is skipped


OTHER = {'name': 'store-0043', 'local_ts': ['10.201.0.0/24'], 'remote_ts': ['10.43.0.0/16'],
         'local_ids': ['pos-cloud.example.com'], 'remote_ids': ['store-0043.example.com']}

BAD = [
    # (id, changes, others, field named in the message, a word of the fix)
    ('name-space', dict(name='store 42'), None, 'name:', 'letters'),
    ('name-path', dict(name='../etc/passwd'), None, 'name:', 'letters'),
    ('name-digit-first', dict(name='42store'), None, 'name:', 'starting with a letter'),
    ('name-too-long', dict(name='s' * 64), None, 'name:', '63'),
    ('name-dot', dict(name='store.42'), None, 'name:', 'file name'),
    ('local-dns', dict(local_addrs=['pos-cloud.example.com']), None, 'local_addrs:', 'only accepted for remote_addrs'),
    ('local-defaultroute', dict(local_addrs=['%defaultroute']), None, 'local_addrs:', "'%any'"),
    ('local-unknown-percent', dict(local_addrs=['%eth0']), None, 'local_addrs:', '%any'),
    ('remote-garbage', dict(remote_addrs=['not a host!']), None, 'remote_addrs:', 'DNS name'),
    ('remote-bad-ip', dict(remote_addrs=['203.0.113.300']), None, 'remote_addrs:', 'DNS name'),
    ('remote-missing', dict(remote_addrs=[]), None, 'remote_addrs:', "'%any'"),
    ('remote-any-mixed', dict(remote_addrs=['%any', '203.0.113.42']), None, 'remote_addrs:', 'either'),
    ('family-mismatch', dict(remote_addrs=['2001:db8::42'], remote_id='r.example.com'), None,
     'local_addrs/remote_addrs:', 'address family'),
    ('cidr-host-bits-addr', dict(remote_addrs=['203.0.113.1/24']), None, 'remote_addrs:', 'host bits'),
    ('local-ts-missing', dict(local_ts=[]), None, 'local_ts:', 'CIDR'),
    ('local-ts-host-bits', dict(local_ts=['10.201.0.1/24']), None, 'local_ts:', "did you mean '10.201.0.0/24'"),
    ('remote-ts-garbage', dict(remote_ts=['10.42.0.0/33']), None, 'remote_ts:', 'CIDR'),
    ('remote-ts-dynamic', dict(remote_ts=['dynamic']), None, 'remote_ts:', 'plain CIDR'),
    ('remote-ts-port', dict(remote_ts=['10.42.0.0/24[tcp/443]']), None, 'remote_ts:', 'protocol/port'),
    ('ts-overlap', dict(remote_ts=['10.201.0.128/25']), None, 'local_ts/remote_ts:', 'distinct subnets'),
    ('other-remote-overlap', dict(remote_ts=['10.43.7.0/24']), [OTHER], 'remote_ts:', "tunnel 'store-0043'"),
    ('other-local-vs-remote', dict(local_ts=['10.43.0.0/24'], remote_ts=['10.42.0.0/24']), [OTHER], 'local_ts:',
     "tunnel 'store-0043'"),
    ('other-remote-vs-local', dict(remote_ts=['10.201.0.0/25'], local_ts=['10.200.0.0/24']), [OTHER], 'remote_ts:',
     'local subnet'),
    ('other-same-identities', dict(remote_id='store-0043.example.com'), [OTHER], 'remote_id:', 'own local_id or remote_id'),
    ('psk-missing', dict(psk=None), None, 'psk:', 'at least 20'),
    ('psk-short', dict(psk='short-key-19-chars!'), None, 'psk:', 'at least 20'),
    ('psk-newline', dict(psk='a-long-enough-key-with\na-newline'), None, 'psk:', 'printable'),
    ('psk-bad-hex', dict(psk='0xnot-hex-at-all-but-long-enough'), None, 'psk:', 'hex'),
    ('psk-bad-base64', dict(psk='0s***not-base64-but-long-enough***'), None, 'psk:', 'base64'),
    ('psk-remote-any-id', dict(remote_id='%any'), None, 'remote_id:', 'explicitly'),
    ('local-id-needed', dict(local_addrs=['%any'], local_id=None), None, 'local_id:', 'required'),
    ('id-control-char', dict(local_id='pos\x00cloud'), None, 'local_id:', 'printable'),
    ('ike-3des', dict(ike_proposals=['3des-sha256-modp2048']), None, 'ike_proposals:', 'allow_weak_crypto'),
    ('ike-des', dict(ike_proposals=['des-sha256-modp2048']), None, 'ike_proposals:', '56-bit'),
    ('ike-sha1', dict(ike_proposals=['aes256-sha1-ecp384']), None, 'ike_proposals:', 'SHA-1'),
    ('ike-md5', dict(ike_proposals=['aes256-md5-ecp384']), None, 'ike_proposals:', 'MD5'),
    ('ike-prfsha1', dict(ike_proposals=['aes256gcm16-prfsha1-ecp384']), None, 'ike_proposals:', 'SHA-1'),
    ('ike-modp768', dict(ike_proposals=['aes256-sha256-modp768']), None, 'ike_proposals:', '768'),
    ('ike-modp1024', dict(ike_proposals=['aes256-sha256-modp1024']), None, 'ike_proposals:', '1024'),
    ('ike-modp1536', dict(ike_proposals=['aes256-sha256-modp1536']), None, 'ike_proposals:', '1536'),
    ('ike-ecp192', dict(ike_proposals=['aes256-sha256-ecp192']), None, 'ike_proposals:', '192'),
    ('ike-v1', dict(ike_version=1), None, 'ike_version:', 'IKEv2'),
    ('ike-version-3', dict(ike_version=3), None, 'ike_version:', 'use 2'),
    ('ike-default-keyword', dict(ike_proposals=['default']), None, 'ike_proposals:', 'spell the algorithms out'),
    ('ike-unknown-token', dict(ike_proposals=['aes256-sha256-ecp999']), None, 'ike_proposals:', "'ecp999'"),
    ('ike-not-a-proposal', dict(ike_proposals=['aes256 sha256']), None, 'ike_proposals:', "joined by '-'"),
    ('ike-aead-without-prf', dict(ike_proposals=['aes256gcm16-ecp384']), None, 'ike_proposals:', 'PRF'),
    ('ike-without-dh', dict(ike_proposals=['aes256gcm16-prfsha384']), None, 'ike_proposals:', 'key exchange'),
    ('ike-esn', dict(ike_proposals=['aes256gcm16-prfsha384-ecp384-esn']), None, 'ike_proposals:', 'only applies to ESP'),
    ('ike-empty', dict(ike_proposals=[]), None, 'ike_proposals:', 'at least one'),
    ('esp-mixed-aead', dict(esp_proposals=['aes256gcm16-sha256-ecp384']), None, 'esp_proposals:', 'AEAD'),
    ('esp-no-integrity', dict(esp_proposals=['aes256-ecp384']), None, 'esp_proposals:', 'integrity'),
    ('esp-no-cipher', dict(esp_proposals=['sha256-ecp384']), None, 'esp_proposals:', 'encryption'),
    ('esp-no-pfs', dict(esp_proposals=['aes256gcm16']), None, 'esp_proposals:', 'forward'),
    ('esp-prf', dict(esp_proposals=['aes256gcm16-prfsha256-ecp384']), None, 'esp_proposals:', 'only applies to IKE'),
    ('esp-null', dict(esp_proposals=['null-sha256-ecp384']), None, 'esp_proposals:', 'does not encrypt'),
    ('esp-null-gmac', dict(esp_proposals=['null_aes128gmac-ecp384']), None, 'esp_proposals:', 'does not encrypt'),
    ('esp-null-gmac-256', dict(esp_proposals=['null_aes256gmac-modp3072']), None, 'esp_proposals:', 'weak'),
    ('esp-gmac-alone', dict(esp_proposals=['aes128gmac-ecp384']), None, 'esp_proposals:', 'no encryption'),
    ('ike-gmac-integrity', dict(ike_proposals=['aes256-aes256gmac-prfsha256-ecp384']), None, 'ike_proposals:',
     'only applies to ESP'),
    ('name-trailing-newline', dict(name='store-0042\n'), None, 'name:', ''),
    ('esp-proposal-trailing-newline', dict(esp_proposals=['aes256gcm16-ecp384\n-']), None, 'esp_proposals:', ''),
    ('dpd-delay-short', dict(dpd_delay=2), None, 'dpd_delay:', '5..3600'),
    ('dpd-delay-long', dict(dpd_delay=7200), None, 'dpd_delay:', '5..3600'),
    ('dpd-delay-negative', dict(dpd_delay=-1), None, 'dpd_delay:', '0'),
    ('dpd-delay-text', dict(dpd_delay='soon'), None, 'dpd_delay:', 'seconds'),
    ('dpd-action-bad', dict(dpd_action='hold'), None, 'dpd_action:', 'clear, trap, restart'),
    ('start-action-bad', dict(start_action='always'), None, 'start_action:', 'none, trap, start'),
    ('start-needs-remote', dict(remote_addrs=['%any'], dpd_action='clear'), None, 'start_action:', 'responder'),
    ('restart-needs-remote', dict(remote_addrs=['10.0.0.0/8'], start_action='none'), None, 'dpd_action:', 'responder'),
    ('auth-unknown', dict(auth='eap'), None, 'auth:', 'psk, certificate'),
    ('cert-without-file', dict(auth='certificate', psk=None), None, 'local_cert:', 'x509'),
    ('cert-with-psk', dict(auth='certificate', local_cert='pos-cloud.pem'), None, 'psk:', 'only used with'),
    ('psk-with-cert-option', dict(local_cert='pos-cloud.pem'), None, 'local_cert:', "auth 'certificate'"),
]


@pytest.mark.parametrize('changes, others, field, fix', [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_refused_with_field_and_fix(changes, others, field, fix):
    spec = base(**changes)
    with pytest.raises(SwanctlError) as e:
        validate_spec(spec, others=others)
    matching = [m for m in e.value.errors if m.startswith(field)]
    assert matching, e.value.errors
    assert any(fix in m for m in matching), matching
    psk = spec.get('psk')
    if psk:
        assert psk not in str(e.value)


def test_at_least_twenty_distinct_bad_inputs():
    assert len(BAD) >= 20
    assert len(set(b[0] for b in BAD)) == len(BAD)


def test_all_problems_are_reported_at_once():
    with pytest.raises(SwanctlError) as e:
        validate_spec(base(name='bad name', psk='short', local_ts=['x'], ike_proposals=['3des-md5-modp768']))
    fields = set(m.split(':', 1)[0] for m in e.value.errors)
    assert {'name', 'psk', 'local_ts', 'ike_proposals'} <= fields
    assert 'short' not in str(e.value).replace('5 characters', '')


def test_psk_never_appears_in_any_message():
    secret = 'NEVER-SHOW-THIS-KEY-abcdefgh\t'
    with pytest.raises(SwanctlError) as e:
        validate_spec(base(psk=secret))
    assert secret.strip() not in str(e.value)
    assert 'NEVER' not in str(e.value)


# ---------------------------------------------------------------------------------------------
# rendering

GOLDEN_CONF = '''\
# Managed by poscloud.fleet.ipsec_tunnel; changes made here are overwritten.
connections {
    store-0042 {
        version = 2
        proposals = aes256gcm16-prfsha384-ecp384,aes256gcm16-prfsha256-modp3072
        local_addrs = 198.51.100.10
        remote_addrs = 203.0.113.42
        dpd_delay = 30s
        local {
            auth = psk
            id = "pos-cloud.example.com"
        }
        remote {
            auth = psk
            id = "store-0042.example.com"
        }
        children {
            store-0042 {
                mode = tunnel
                local_ts = 10.201.0.0/24
                remote_ts = 10.42.0.0/24
                esp_proposals = aes256gcm16-ecp384,aes256gcm16-modp3072
                dpd_action = restart
                start_action = start
            }
        }
    }
}
'''

GOLDEN_SECRETS = '''\
# Managed by poscloud.fleet.ipsec_tunnel; keep this file mode 0600.
secrets {
    ike-store-0042 {
        id-1 = "pos-cloud.example.com"
        id-2 = "store-0042.example.com"
        secret = "Lab-only \\"quoted\\" \\\\ key #1 0123456789"
    }
}
'''


def test_render_conf_golden():
    spec, _unused = validate_spec(base())
    assert render_conf(spec) == GOLDEN_CONF


def test_render_secrets_golden_with_escaping():
    spec, _unused = validate_spec(base())
    assert render_secrets(spec) == GOLDEN_SECRETS


def test_conf_has_no_secret_and_rendering_is_deterministic():
    spec, _unused = validate_spec(base())
    again, _unused = validate_spec(base())
    assert render_conf(spec) == render_conf(again)
    assert render_secrets(spec) == render_secrets(again)
    assert PSK not in render_conf(spec)


def test_render_lists_and_options():
    spec, _unused = validate_spec(base(remote_ts=['10.42.0.0/24', '10.142.0.0/24'], dpd_delay=0, dpd_action='clear',
                                       local_addrs=['%any4'], local_id='@pos-cloud', start_action='none'))
    text = render_conf(spec)
    assert '                remote_ts = 10.42.0.0/24,10.142.0.0/24\n' in text
    assert '        dpd_delay = 0s\n' in text
    assert '        local_addrs = %any4\n' in text
    assert '            id = "@pos-cloud"\n' in text
    assert '                start_action = none\n' in text


def test_hex_and_base64_keys_are_written_as_swanctl_reads_them():
    spec, _unused = validate_spec(base(psk='0x' + '6c' * 24))
    assert '        secret = 0x' + '6c' * 24 + '\n' in render_secrets(spec)
    spec, _unused = validate_spec(base(psk='0sbGFiLW9ubHktYmFzZTY0LWtleS0wMDAx'))
    assert '        secret = 0sbGFiLW9ubHktYmFzZTY0LWtleS0wMDAx\n' in render_secrets(spec)


def test_rendered_files_pass_the_syntax_check():
    spec, _unused = validate_spec(base())
    files = {'/s/swanctl.conf': 'include conf.d/*.conf\n',
             '/s/conf.d/store-0042.conf': render_conf(spec),
             '/s/conf.d/store-0042.secrets.conf': render_secrets(spec)}
    assert settings_syntax_errors('/s/swanctl.conf', files.get, fake_glob(files)) == []


def test_certificate_rendering():
    spec, _unused = validate_spec(base(auth='certificate', psk=None, local_cert='pos-cloud.pem',
                                       remote_cacert='stores-ca.pem'))
    text = render_conf(spec)
    assert 'auth = pubkey' in text
    assert 'certs = pos-cloud.pem' in text
    assert 'cacerts = stores-ca.pem' in text
    assert render_secrets(spec) is None


def test_redaction_hides_the_secret_only():
    spec, _unused = validate_spec(base())
    redacted = redact_secrets(render_secrets(spec))
    assert PSK not in redacted
    assert 'quoted' not in redacted
    assert '        secret = <redacted>\n' in redacted
    assert 'id-1 = "pos-cloud.example.com"' in redacted
    assert redact_secrets(None) is None
    assert redact_secrets(render_secrets(spec), '<redacted, changed>').count('<redacted, changed>') == 1


def test_secret_of_reads_the_raw_value():
    spec, _unused = validate_spec(base())
    assert secret_of(render_secrets(spec)) == quote(PSK)
    assert secret_of('') is None


def test_paths():
    assert conf_path('/etc/swanctl/', 'store-0042') == '/etc/swanctl/conf.d/store-0042.conf'
    assert secrets_path('/etc/swanctl', 'store-0042') == '/etc/swanctl/conf.d/store-0042.secrets.conf'


# ---------------------------------------------------------------------------------------------
# syntax check of the configuration tree


def fake_glob(files):
    def glob(pattern):
        regex = re.compile('^' + re.escape(pattern).replace('\\*', '[^/]*') + '$')
        return [p for p in files if regex.match(posixpath.normpath(p))]
    return glob


@pytest.mark.parametrize('text, problem', [
    ('connections {\n  broken {\n    version = 2\n', "section 'connections' is not closed"),
    ('a {\n}\n}\n', "'}' without a section"),
    ('a {\n  b\n}\n', "'b' is followed by neither"),
    ('a {\n  b = "unterminated\n}\n', 'unterminated string'),
    ('a {\n  "b" = 1\n}\n', 'unexpected string'),
    ('a {\n  = 1\n}\n', 'unexpected'),
])
def test_syntax_errors_in_included_files_are_found(text, problem):
    files = {'/s/swanctl.conf': '# main\ninclude conf.d/*.conf\n', '/s/conf.d/ok.conf': GOLDEN_CONF,
             '/s/conf.d/zz-broken.conf': text}
    errors = settings_syntax_errors('/s/swanctl.conf', files.get, fake_glob(files))
    assert errors and problem in errors[0]
    assert errors[0].startswith('/s/conf.d/zz-broken.conf:')


def test_valid_settings_pass():
    text = ('# comment\nconnections {\n  a { # trailing comment\n    x = "quoted \\" } # not the end"\n'
            '    y = multi word value\n    z =\n    w = "line one\nline two"\n  }\n}\nsecrets { }\n'
            'include "missing/*.conf"\n')
    files = {'/s/swanctl.conf': text}
    assert settings_syntax_errors('/s/swanctl.conf', files.get, fake_glob(files)) == []


def test_missing_main_file_is_no_error():
    assert settings_syntax_errors('/nowhere/swanctl.conf', {}.get, fake_glob({})) == []


# ---------------------------------------------------------------------------------------------
# parsing the daemon's answers (real output)


def test_parse_list_sas_initiator():
    sas = parse_list_sas(fixture('list-sas-initiator.pretty'), now=NOW)
    assert len(sas) == 1
    sa = sas[0]
    assert sa['name'] == 'pcf-store'
    assert sa['uniqueid'] == 7
    assert sa['state'] == 'ESTABLISHED'
    assert sa['version'] == 2
    assert sa['initiator'] is True
    assert (sa['local_host'], sa['local_port'], sa['local_id']) == ('203.0.113.1', 4500, 'cloud-a.example.net')
    assert (sa['remote_host'], sa['remote_port'], sa['remote_id']) == ('203.0.113.2', 4500, 'store-b.example.net')
    assert sa['proposal'] == 'AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384'
    assert sa['established'] == 33
    assert sa['established_since'] == '2026-11-18T11:06:07Z'
    assert sa['nat_remote'] is True
    assert len(sa['child_sas']) == 1
    child = sa['child_sas'][0]
    assert child['name'] == 'pcf-store'
    assert child['state'] == 'INSTALLED'
    assert (child['mode'], child['protocol'], child['encap']) == ('TUNNEL', 'ESP', True)
    assert (child['spi_in'], child['spi_out']) == ('adf31d5e', '7a79c6c8')
    # the CHILD_SA was rekeyed, so its proposal shows the PFS group
    assert child['proposal'] == 'AES_GCM_16_256/ECP_384'
    assert child['local_ts'] == ['10.201.0.0/24']
    assert child['remote_ts'] == ['10.202.0.0/24']
    assert (child['bytes_in'], child['packets_in'], child['bytes_out'], child['packets_out']) == (504, 6, 504, 6)
    assert child['install_time'] == 11
    assert child['installed_since'] == '2026-11-18T11:06:29Z'
    assert child_installed(sas, 'pcf-store')
    assert not child_installed(sas, 'pcf-store2')


def test_parse_list_sas_responder():
    sa = parse_list_sas(fixture('list-sas-responder.pretty'))[0]
    assert sa['initiator'] is False
    assert sa['local_id'] == 'store-b.example.net'
    assert sa['established_since'] is None  # no 'now' given
    child = sa['child_sas'][0]
    assert child['local_ts'] == ['10.202.0.0/24']
    assert child['spi_in'] == '7a79c6c8'


def test_parse_list_sas_during_rekey_keeps_both_child_sas():
    sas = parse_list_sas(fixture('list-sas-rekeying.pretty'))
    states = [(c['uniqueid'], c['state'], c['proposal']) for c in sas[0]['child_sas']]
    assert states == [(7, 'DELETED', 'AES_GCM_16_256'), (8, 'INSTALLED', 'AES_GCM_16_256/ECP_384')]
    assert child_installed(sas, 'pcf-store')


def test_parse_list_sas_fallback_proposal():
    sa = parse_list_sas(fixture('list-sas-fallback.pretty'))[0]
    assert sa['proposal'] == 'AES_GCM_16_256/PRF_HMAC_SHA2_256/MODP_3072'
    installed = [c for c in sa['child_sas'] if c['state'] == 'INSTALLED']
    assert installed[0]['proposal'] == 'AES_GCM_16_256/MODP_3072'


def test_parse_list_sas_connecting():
    sas = parse_list_sas(fixture('list-sas-connecting.pretty'))
    connecting = [sa for sa in sas if sa['name'] == 'pcf-noreply'][0]
    assert connecting['state'] == 'CONNECTING'
    assert connecting['responder_spi'] == '0000000000000000'
    assert 'CHILD_CREATE' in connecting['tasks_active']
    assert connecting['child_sas'] == []
    assert not child_installed(sas, 'pcf-noreply')
    assert tunnel_status('pcf-noreply', sas)['state'] == 'CONNECTING'


def test_parse_list_sas_two_tunnels_and_status():
    sas = parse_list_sas(fixture('list-sas-two.pretty'))
    assert sorted(sa['name'] for sa in sas) == ['pcf-store', 'pcf-store2']
    conns = parse_list_conns(fixture('list-conns-two.pretty'))
    status = tunnel_status('pcf-store2', sas, conns.get('pcf-store2'))
    assert status['up'] and status['loaded'] and status['state'] == 'ESTABLISHED'
    assert [sa['name'] for sa in status['ike_sas']] == ['pcf-store2']
    down = tunnel_status('pcf-badkey', sas, conns.get('pcf-badkey'))
    assert (down['state'], down['up'], down['loaded']) == ('DOWN', False, True)
    assert tunnel_status('nothere', sas)['loaded'] is False


def test_parse_list_conns():
    conns = parse_list_conns(fixture('list-conns-two.pretty'))
    assert sorted(conns) == ['pcf-badkey', 'pcf-store', 'pcf-store2']
    c = conns['pcf-store']
    assert c['local_addrs'] == ['203.0.113.1']
    assert c['remote_addrs'] == ['203.0.113.2']
    assert c['version'] == 'IKEv2'
    assert c['dpd_delay'] == 30
    assert c['local_ids'] == ['cloud-a.example.net']
    assert c['remote_ids'] == ['store-b.example.net']
    assert c['local_auth'] == ['pre-shared key']
    assert c['children']['pcf-store']['local_ts'] == ['10.201.0.0/24']
    assert c['children']['pcf-store']['dpd_action'] == 'start'
    assert c['remote_ts'] == ['10.202.0.0/24']


def test_parse_loaded_conn_names_from_plain_output():
    assert parse_loaded_conn_names(fixture('list-conns-two.txt')) == ['pcf-store', 'pcf-badkey', 'pcf-store2']


def test_parse_vici_pretty_edge_cases():
    msgs = parse_vici_pretty("plugin 'x': failed to load\nlog {\n  msg = parsed [ SA ] = [\n  empty = []\n"
                             "  list = [\n    a b\n  ]\n  sub {\n    k = v = w\n  }\n}\nreply {\n}\n")
    assert msgs == [('log', {'msg': 'parsed [ SA ] = [', 'empty': [], 'list': ['a b'], 'sub': {'k': 'v = w'}}),
                    ('reply', {})]


def spec_for_fixture(**kw):
    spec = dict(name='pcf-store', local_addrs=['203.0.113.1'], remote_addrs=['203.0.113.2'],
                local_id='cloud-a.example.net', remote_id='store-b.example.net', local_ts=['10.201.0.0/24'],
                remote_ts=['10.202.0.0/24'], psk=PSK, dpd_action='restart', start_action='start')
    spec.update(kw)
    return validate_spec(spec)[0]


def test_loaded_connection_matching_the_spec_has_no_drift():
    conns = parse_list_conns(fixture('list-conns-two.pretty'))
    assert loaded_conn_drift(spec_for_fixture(), conns['pcf-store']) == []
    # identities given with a type prefix or '@' compare equal to the listed ones
    assert loaded_conn_drift(spec_for_fixture(local_id='fqdn:cloud-a.example.net', remote_id='@store-b.example.net'),
                             conns['pcf-store']) == []


def test_loaded_connection_drift_is_explained():
    conns = parse_list_conns(fixture('list-conns-two.pretty'))
    drift = loaded_conn_drift(spec_for_fixture(remote_ts=['10.202.0.0/23'], dpd_action='clear', dpd_delay=60),
                              conns['pcf-store'])
    assert any(d.startswith('remote_ts: loaded 10.202.0.0/24') for d in drift)
    assert any(d.startswith('dpd_action:') for d in drift)
    assert any(d.startswith('dpd_delay:') for d in drift)
    assert loaded_conn_drift(spec_for_fixture(), None) == ['connection pcf-store is not loaded']


def test_other_tunnels_from_loaded_connections_feed_validation():
    conns = parse_list_conns(fixture('list-conns-two.pretty'))
    others = other_tunnels(conns, 'pcf-new')
    assert {o['name'] for o in others} == {'pcf-store', 'pcf-store2', 'pcf-badkey'}
    with pytest.raises(SwanctlError) as e:
        validate_spec(base(name='pcf-new', local_ts=['10.211.0.0/24'], remote_ts=['10.212.0.0/25']), others=others)
    assert "tunnel 'pcf-store2'" in str(e.value)


def test_an_overlapping_remote_subnet_from_another_local_subnet_is_allowed():
    # A second tunnel of a store router that reaches one host of the cloud net from another inside net.
    conns = parse_list_conns(fixture('list-conns-two.pretty'))
    others = other_tunnels(conns, 'pcf-new')
    spec, warnings = validate_spec(base(name='pcf-new', local_id='cloud-new.example.net', local_ts=['10.221.0.0/24'],
                                        remote_ts=['10.212.0.7/32']), others=others)
    assert spec['remote_ts'] == ['10.212.0.7/32']


def test_the_same_remote_subnet_twice_is_refused_even_from_another_local_subnet():
    conns = parse_list_conns(fixture('list-conns-two.pretty'))
    others = other_tunnels(conns, 'pcf-new')
    with pytest.raises(SwanctlError) as e:
        validate_spec(base(name='pcf-new', local_id='cloud-new.example.net', local_ts=['10.221.0.0/24'],
                           remote_ts=['10.212.0.0/24']), others=others)
    assert "tunnel 'pcf-store2'" in str(e.value)


# ---------------------------------------------------------------------------------------------
# daemon log


def test_filter_log_events_of_the_responder():
    events = parse_vici_pretty(fixture('log-authfail-responder.pretty'))
    lines = filter_log_events(events, 'pcf-badkey', ['203.0.113.1'])
    text = '\n'.join(lines)
    assert 'MAC mismatched' in text
    assert "selected peer config 'pcf-badkey'" in text
    # messages of the IKE SA before it had a name are kept through its unique id
    assert '203.0.113.1 is initiating an IKE_SA' in text
    assert filter_log_events(events, 'pcf-other', []) == []


def test_filter_log_events_of_the_initiator():
    lines = filter_log_events(parse_vici_pretty(fixture('log-authfail-initiator.pretty')), 'pcf-badkey')
    assert lines[-1].endswith('received AUTHENTICATION_FAILED notify error')
    assert lines[-1].startswith('14[IKE] ')


def test_filter_log_lines_of_a_file_log():
    lines = fixture('charon-authfail.log').splitlines()
    kept = filter_log_lines(lines, 'pcf-badkey', ['203.0.113.2'])
    assert kept[0].endswith("vici initiate CHILD_SA 'pcf-badkey'")
    assert kept[-1].endswith('received AUTHENTICATION_FAILED notify error')
    assert filter_log_lines(lines, 'pcf-store', ['203.0.113.99']) == []
    # 'pcf-badkey' must not match a connection whose name merely starts with it
    assert filter_log_lines(['01[IKE] <pcf-badkey2|3> hello'], 'pcf-badkey') == []


# ---------------------------------------------------------------------------------------------
# judging swanctl --load-* output


def test_load_problems_success():
    assert load_problems('pcf-store', 'conns', 0, "loaded connection 'pcf-store'\n"
                         'successfully loaded 1 connections, 0 unloaded') == ([], [])
    assert load_problems('pcf-store', 'creds', 0, "loaded ike secret 'ike-pcf-store'") == ([], [])


def test_load_problems_other_connection_failing_is_a_warning():
    text = ("loading connection 'broken' failed: invalid value for: proposals, config discarded\n"
            "loaded 2 of 3 connections, 1 failed to load, 0 unloaded\nloaded connection 'pcf-store'")
    fatal, warnings = load_problems('pcf-store', 'conns', 22, text)
    assert fatal == []
    assert warnings and 'broken' in warnings[0]


def test_load_problems_own_connection_or_syntax_error_is_fatal():
    fatal, _unused = load_problems('broken', 'conns', 22,
                                   "loading connection 'broken' failed: invalid value for: proposals, config discarded")
    assert fatal
    fatal, _unused = load_problems('pcf-store', 'conns', 0, "syntax error, unexpected end of file\n"
                                   "invalid config file '/etc/swanctl/swanctl.conf'\nNo connections found, 2 unloaded")
    assert fatal
    fatal, _unused = load_problems('pcf-store', 'creds', 1, 'something odd')
    assert fatal


# ---------------------------------------------------------------------------------------------
# vici wire format


def _kv(name, value):
    raw = value.encode()
    return bytes([3, len(name)]) + name.encode() + len(raw).to_bytes(2, 'big') + raw


def _event(name, body):
    payload = bytes([VICI_EVENT, len(name)]) + name.encode() + body
    return len(payload).to_bytes(4, 'big') + payload


def test_vici_register_packet():
    assert vici_packet(VICI_EVENT_REGISTER, 'log') == b'\x00\x00\x00\x05\x03\x03log'
    assert vici_packet(VICI_EVENT_CONFIRM) == b'\x00\x00\x00\x01\x05'


def test_vici_split_and_decode_log_events():
    body = (_kv('group', 'IKE') + _kv('level', '1') + _kv('ikesa-name', 'pcf-badkey') +
            _kv('ikesa-uniqueid', '11') + _kv('msg', 'received AUTHENTICATION_FAILED notify error') +
            bytes([1, 3]) + b'sub' + _kv('k', 'v') + bytes([2]) +
            bytes([4, 4]) + b'list' + bytes([5]) + (1).to_bytes(2, 'big') + b'a' + bytes([6]))
    stream = b'\x00\x00\x00\x01\x05' + _event('log', body)
    packets, rest = vici_split(stream + b'\x00\x00\x00\x09partial')
    assert rest == b'\x00\x00\x00\x09partial'
    assert [(k, n) for k, n, _b in packets] == [(VICI_EVENT_CONFIRM, None), (VICI_EVENT, 'log')]
    message = vici_message(packets[1][2])
    assert message == {'group': 'IKE', 'level': '1', 'ikesa-name': 'pcf-badkey', 'ikesa-uniqueid': '11',
                       'msg': 'received AUTHENTICATION_FAILED notify error', 'sub': {'k': 'v'}, 'list': ['a']}
    assert filter_log_events([('log', message)], 'pcf-badkey') == ['00[IKE] received AUTHENTICATION_FAILED notify error']


def test_vici_socket_path():
    assert vici_socket_path(None) == '/var/run/charon.vici'
    assert vici_socket_path('unix:///run/lab/charon.vici') == '/run/lab/charon.vici'
    assert vici_socket_path('tcp://127.0.0.1:4502') is None
