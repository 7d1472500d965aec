# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind the strongSwan (swanctl) tunnel modules.

Tunnel specs are validated and normalised, rendered into one ``swanctl.conf`` connection file and
one secrets file, and the daemon's answers (``swanctl --list-sas --pretty``, ``--list-conns
--pretty``, ``--log --pretty``, vici log events) are parsed into plain data. Nothing here runs a
command, opens a socket or touches a file, so all of it is unit-tested directly.

Addresses and subnets are checked with the standard library's ``ipaddress`` module, so targets need
no extra Python package.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from datetime import datetime, timezone

# Proven to negotiate between two charon 5.9.8 instances with kernel-libipsec and the openssl plugin
# (docs/ipsec-proposals.md): AEAD ciphers, ECP-384 first and MODP-3072 as the fallback group.
DEFAULT_IKE_PROPOSALS = ('aes256gcm16-prfsha384-ecp384', 'aes256gcm16-prfsha256-modp3072')
DEFAULT_ESP_PROPOSALS = ('aes256gcm16-ecp384', 'aes256gcm16-modp3072')

NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_-]{0,62}\Z')
FILE_NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z')
HOSTNAME_RE = re.compile(
    r'^(?=.{1,253}\Z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*'
    r'[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?\Z')
ANY_ADDRS = ('%any', '%any4', '%any6')
START_ACTIONS = ('none', 'trap', 'start')
DPD_ACTIONS = ('clear', 'trap', 'restart')
AUTH_METHODS = ('psk', 'certificate')
MIN_PSK_LENGTH = 20
DPD_DELAY_RANGE = (5, 3600)
MANAGED_MARKER = '# Managed by poscloud.fleet.ipsec_tunnel'
REDACTED = '<redacted>'

# Proposal keywords of strongSwan 5.9, by transform type. Key sizes may be given in bits.
# null_aesNNNgmac is an AEAD that authenticates without encrypting; aesNNNgmac (no null_) is an
# integrity algorithm (ESP only).
_AEAD_RE = re.compile(r'^(?:aes(?:128|192|256)?(?:gcm|ccm)(?:8|12|16|64|96|128)?|chacha20poly1305|'
                      r'camellia(?:128|192|256)?ccm(?:8|12|16|64|96|128)?|null_?aes(?:128|192|256)?gmac)\Z')
_GMAC_INTEG_RE = re.compile(r'^aes(?:128|192|256)gmac\Z')
NULL_AEAD_REASON = 'NULL encryption with GMAC authenticates but does not encrypt'
_ENCR_RE = re.compile(r'^(?:aes(?:128|192|256)?(?:ctr)?|camellia(?:128|192|256)?(?:ctr)?|3des|des|'
                      r'blowfish(?:128|192|256)?|cast128|null|serpent(?:128|192|256)?|twofish(?:128|192|256)?)\Z')
_INTEG_RE = re.compile(r'^(?:md5|md5_128|sha|sha1|sha1_160|sha256|sha2_256|sha256_96|sha2_256_96|'
                       r'sha384|sha2_384|sha512|sha2_512|aesxcbc|aescmac|aes(?:128|192|256)gmac|camelliaxcbc)\Z')
_PRF_RE = re.compile(r'^prf(?:md5|sha1|sha256|sha384|sha512|aesxcbc|aescmac|camelliaxcbc)\Z')
_DH_RE = re.compile(r'^(?:modp(?:768|1024|1024s160|1536|2048|2048s224|2048s256|3072|4096|6144|8192)|'
                    r'ecp(?:192|224|256|384|521)|ecp(?:224|256|384|512)bp|curve25519|x25519|curve448|x448|none)\Z')
_ESN_RE = re.compile(r'^(?:esn|noesn)\Z')

# Tokens refused unless allow_weak_crypto, with the reason shown to the user. Tokens are compared
# whole, so 'sha1' is weak while 'sha256' or 'prfsha384' are not.
WEAK_TOKENS = {
    'des': 'DES has a 56-bit key',
    '3des': '3DES has a 64-bit block (Sweet32) and is deprecated by RFC 8221',
    'blowfish': 'Blowfish has a 64-bit block',
    'blowfish128': 'Blowfish has a 64-bit block',
    'blowfish192': 'Blowfish has a 64-bit block',
    'blowfish256': 'Blowfish has a 64-bit block',
    'cast128': 'CAST-128 has a 64-bit block',
    'null': 'NULL encryption does not encrypt',
    'md5': 'MD5 is broken',
    'md5_128': 'MD5 is broken',
    'prfmd5': 'MD5 is broken',
    'sha': 'SHA-1 is deprecated for IKE and ESP (RFC 8221, RFC 8247)',
    'sha1': 'SHA-1 is deprecated for IKE and ESP (RFC 8221, RFC 8247)',
    'sha1_160': 'SHA-1 is deprecated for IKE and ESP (RFC 8221, RFC 8247)',
    'prfsha1': 'SHA-1 is deprecated for IKE and ESP (RFC 8221, RFC 8247)',
    'modp768': 'a 768-bit MODP group is breakable',
    'modp1024': 'a 1024-bit MODP group is too small (RFC 8247)',
    'modp1024s160': 'a 1024-bit MODP group is too small (RFC 8247)',
    'modp1536': 'a 1536-bit MODP group is too small (RFC 8247)',
    'modp2048s224': 'the MODP groups with small subgroups are not to be used (RFC 8247)',
    'modp2048s256': 'the MODP groups with small subgroups are not to be used (RFC 8247)',
    'ecp192': 'a 192-bit curve is too small',
    'default': "'default' stands for a build-dependent list; spell the algorithms out",
}


# Seconds a swanctl command may take on top of any --timeout it is given, and the exit codes of
# coreutils' timeout when it stopped (124) or had to kill (137) the command.
COMMAND_TIMEOUT = 60
TIMEOUT_CODES = (124, 137)


def timed_command(cmd, seconds, timeout_bin):
    """``cmd`` run under coreutils' timeout (the path ``timeout_bin``), stopped after ``seconds``.
    Without a timeout program the command is returned unchanged."""
    if not timeout_bin:
        return list(cmd)
    return [timeout_bin, '--kill-after=5', str(int(seconds))] + list(cmd)


def timed_out(rc, timeout_bin):
    return bool(timeout_bin) and rc in TIMEOUT_CODES


def command_timeout_message(args, seconds):
    return ('swanctl %s did not finish within %d s and was stopped; check that the strongSwan daemon '
            '(charon) runs and answers on its vici socket (vici_uri)' % (' '.join(args), seconds))


class SwanctlError(Exception):
    """An input is wrong. ``errors`` holds one message per problem, each naming the field and the fix."""

    def __init__(self, errors):
        if isinstance(errors, str):
            errors = [errors]
        self.errors = list(errors)
        super(SwanctlError, self).__init__('; '.join(self.errors))


# ---------------------------------------------------------------------------------------------
# validation


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value).split(',')
    return [str(v).strip() for v in items if str(v).strip()]


def _dedupe(items):
    seen = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _ip(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _has_control(text):
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def validate_name(name):
    """Raise SwanctlError unless ``name`` can serve as file name and swanctl section name."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SwanctlError(
            "name: %r is not usable as a tunnel name; it becomes a file name and a swanctl section "
            "name, so use 1 to 63 letters, digits, '-' and '_', starting with a letter, for example "
            "'store-0042'" % (name,))
    return name


def _check_addrs(field, values, errors, allow_names):
    """Normalise local_addrs/remote_addrs; returns (list, families, concrete)."""
    out = []
    families = set()
    concrete = []
    anys = []
    for value in values:
        low = value.lower()
        if low in ANY_ADDRS:
            out.append(low)
            anys.append(low)
            continue
        if low in ('%defaultroute', '%default', '%any4any6'):
            errors.append(
                "%s: %r is an ipsec.conf form swanctl does not know; use '%%any' (charon picks the "
                "source address from the routing table)" % (field, value))
            continue
        if value.startswith('%'):
            errors.append("%s: %r is not an address; use an IP address, a CIDR subnet or one of %s"
                          % (field, value, ', '.join(ANY_ADDRS)))
            continue
        addr = _ip(value)
        if addr is not None:
            out.append(str(addr))
            families.add(addr.version)
            concrete.append(str(addr))
            continue
        if '/' in value:
            try:
                net = ipaddress.ip_network(value, strict=True)
            except ValueError:
                errors.append("%s: %r is not a valid CIDR subnet (are host bits set?)" % (field, value))
                continue
            out.append(str(net))
            families.add(net.version)
            continue
        if allow_names and HOSTNAME_RE.match(value) and not re.match(r'^[0-9.]+\Z', value):
            out.append(value.lower().rstrip('.'))
            concrete.append(value.lower().rstrip('.'))
            continue
        if allow_names:
            errors.append("%s: %r is neither an IP address, a CIDR subnet, %s nor a DNS name"
                          % (field, value, ', '.join(ANY_ADDRS)))
        else:
            errors.append("%s: %r is not an IP address, a CIDR subnet or one of %s (DNS names are "
                          "only accepted for remote_addrs)" % (field, value, ', '.join(ANY_ADDRS)))
    if anys and len(out) > len(anys):
        errors.append("%s: %s mixes %s with specific addresses; give either the addresses or the "
                      "wildcard" % (field, ', '.join(values), '/'.join(anys)))
    if '%any4' in anys:
        families.add(4)
    if '%any6' in anys:
        families.add(6)
    return _dedupe(out), families, concrete


def _check_ts(field, values, errors):
    nets = []
    if not values:
        errors.append("%s: give at least one subnet in CIDR form, for example ['10.201.0.0/24']" % field)
        return nets
    for value in values:
        if value.lower() == 'dynamic' or '[' in value or '-' in value:
            errors.append("%s: %r is not supported here; give plain CIDR subnets such as "
                          "'10.201.0.0/24' (no 'dynamic', ranges or protocol/port selectors)" % (field, value))
            continue
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(value, strict=False)
            except ValueError:
                errors.append("%s: %r is not a CIDR subnet; write it like '10.201.0.0/24'" % (field, value))
            else:
                errors.append("%s: %r has host bits set; did you mean '%s'?" % (field, value, loose))
            continue
        nets.append(net)
    uniq = []
    for net in nets:
        if net not in uniq:
            uniq.append(net)
    return uniq


def _overlaps(a, b):
    return a.version == b.version and a.overlaps(b)


def _check_identity(field, value, errors, default, what):
    if value is None or value == '':
        if default is None:
            errors.append("%s: required because %s has no single IP address to use as identity; give "
                          "the peer's IKE identity, for example an IP address or 'pos-cloud.example.com'"
                          % (field, what))
        return default
    if not isinstance(value, str):
        value = str(value)
    if len(value) > 255 or _has_control(value):
        errors.append("%s: %r is not usable as an IKE identity; use up to 255 printable characters"
                      % (field, value))
        return None
    return value


def classify_token(token):
    """The transform type of a proposal keyword: aead, encr, integ, prf, dh, esn or None."""
    for kind, regex in (('aead', _AEAD_RE), ('encr', _ENCR_RE), ('integ', _INTEG_RE),
                        ('prf', _PRF_RE), ('dh', _DH_RE), ('esn', _ESN_RE)):
        if regex.match(token):
            return kind
    return None


def check_proposals(field, proposals, ike, errors, weak):
    """Check proposals for structure and weak algorithms.

    Structural problems go to ``errors``; weak algorithms go to ``weak`` as messages, and the caller
    decides whether they are errors or warnings. Returns the normalised proposals.
    """
    out = []
    if not proposals:
        errors.append("%s: give at least one proposal, for example %r"
                      % (field, (DEFAULT_IKE_PROPOSALS if ike else DEFAULT_ESP_PROPOSALS)[0]))
        return out
    for proposal in proposals:
        prop = proposal.strip().lower()
        if prop == 'default':
            weak.append("%s: %s" % (field, WEAK_TOKENS['default']))
            out.append(prop)
            continue
        if not re.match(r'^[a-z0-9_]+(?:-[a-z0-9_]+)*\Z', prop):
            errors.append("%s: %r is not a proposal; write algorithm keywords joined by '-', for example %r"
                          % (field, proposal, (DEFAULT_IKE_PROPOSALS if ike else DEFAULT_ESP_PROPOSALS)[0]))
            continue
        kinds = {}
        bad = False
        for token in prop.split('-'):
            if token == 'default':
                weak.append("%s: %s" % (field, WEAK_TOKENS['default']))
                kinds.setdefault('default', []).append(token)
                continue
            kind = classify_token(token)
            if kind is None:
                errors.append("%s: %r in proposal %r is not an algorithm keyword strongSwan 5.9 knows"
                              % (field, token, proposal))
                bad = True
                continue
            reason = WEAK_TOKENS.get(token)
            if reason is None and kind == 'aead' and token.startswith('null'):
                reason = NULL_AEAD_REASON
            if reason:
                weak.append("%s: %r in proposal %r is weak: %s" % (field, token, proposal, reason))
            kinds.setdefault(kind, []).append(token)
        if bad or 'default' in kinds:
            out.append(prop)
            continue
        if 'aead' in kinds and ('encr' in kinds or 'integ' in kinds):
            errors.append("%s: proposal %r mixes an AEAD cipher with a classic cipher or integrity "
                          "algorithm; strongSwan needs separate proposals for them" % (field, proposal))
        elif 'aead' not in kinds and 'encr' not in kinds:
            errors.append("%s: proposal %r has no encryption algorithm; add one such as 'aes256gcm16'"
                          % (field, proposal))
        elif 'encr' in kinds and 'integ' not in kinds:
            errors.append("%s: proposal %r has a non-AEAD cipher but no integrity algorithm; add one such "
                          "as 'sha256' or use an AEAD cipher like 'aes256gcm16'" % (field, proposal))
        if ike:
            if 'esn' in kinds:
                errors.append("%s: %r in proposal %r only applies to ESP" % (field, kinds['esn'][0], proposal))
            gmac = [t for t in kinds.get('integ', []) if _GMAC_INTEG_RE.match(t)]
            if gmac:
                errors.append("%s: %r in proposal %r only applies to ESP" % (field, gmac[0], proposal))
            if 'aead' in kinds and 'prf' not in kinds:
                errors.append("%s: proposal %r uses an AEAD cipher and needs a PRF such as 'prfsha384'"
                              % (field, proposal))
            if 'dh' not in kinds or kinds['dh'] == ['none']:
                errors.append("%s: proposal %r has no key exchange group; add one such as 'ecp384'"
                              % (field, proposal))
        else:
            if 'prf' in kinds:
                errors.append("%s: %r in proposal %r only applies to IKE" % (field, kinds['prf'][0], proposal))
            if 'dh' not in kinds or kinds['dh'] == ['none']:
                weak.append("%s: proposal %r has no DH group, so rekeyed CHILD_SAs lack perfect forward "
                            "secrecy; add one such as 'ecp384'" % (field, proposal))
        out.append(prop)
    return _dedupe(out)


def _int_field(field, value, errors):
    if value is None:
        return None
    if isinstance(value, bool):
        errors.append("%s: %r is not a number of seconds" % (field, value))
        return None
    if isinstance(value, str):
        m = re.match(r'^\s*(\d+)\s*s?\s*$', value)
        if not m:
            errors.append("%s: %r is not a number of seconds" % (field, value))
            return None
        return int(m.group(1))
    try:
        return int(value)
    except (TypeError, ValueError):
        errors.append("%s: %r is not a number of seconds" % (field, value))
        return None


def _spec_networks(spec):
    local = []
    remote = []
    for value in spec.get('local_ts') or []:
        try:
            local.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            pass
    for value in spec.get('remote_ts') or []:
        try:
            remote.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            pass
    return local, remote


def validate_spec(spec, others=None):
    """Validate and normalise a tunnel spec.

    ``spec`` is a dict with the module's options (name, local_addrs, remote_addrs, local_id,
    remote_id, local_ts, remote_ts, auth, psk, local_cert, remote_cacert, ike_version, ike_proposals,
    esp_proposals, dpd_delay, dpd_action, start_action, allow_weak_crypto). ``others`` are the other
    tunnels on the same host, each a dict with name, local_ts and remote_ts; their subnets must not
    collide with this one's.

    Returns ``(normalised spec, warnings)``. Raises SwanctlError listing every problem found. No
    message ever contains the pre-shared key.
    """
    errors = []
    weak = []
    warnings = []
    out = {}

    name = spec.get('name')
    try:
        out['name'] = validate_name(name)
    except SwanctlError as e:
        errors.extend(e.errors)
        out['name'] = name

    allow_weak = bool(spec.get('allow_weak_crypto'))

    version = spec.get('ike_version', 2)
    if version in (None, ''):
        version = 2
    try:
        version = int(version)
    except (TypeError, ValueError):
        version = -1
    if version not in (1, 2):
        errors.append("ike_version: %r is not an IKE version; use 2" % (spec.get('ike_version'),))
    elif version == 1:
        weak.append("ike_version: IKEv1 is deprecated (RFC 9395); use IKEv2")
    out['ike_version'] = version

    local_addrs = _as_list(spec.get('local_addrs')) or ['%any']
    remote_addrs = _as_list(spec.get('remote_addrs'))
    out['local_addrs'], lfam, lconcrete = _check_addrs('local_addrs', local_addrs, errors, allow_names=False)
    if not remote_addrs:
        errors.append("remote_addrs: give the peer's address (IP or DNS name), or '%any' to accept it "
                      "from anywhere")
        out['remote_addrs'], rfam, rconcrete = [], set(), []
    else:
        out['remote_addrs'], rfam, rconcrete = _check_addrs('remote_addrs', remote_addrs, errors, allow_names=True)
    ip_lfam = set(_ip(a).version for a in lconcrete if _ip(a))
    ip_rfam = set(_ip(a).version for a in rconcrete if _ip(a))
    if ip_lfam and ip_rfam and not (ip_lfam & ip_rfam):
        errors.append("local_addrs/remote_addrs: the local addresses are IPv%s and the remote ones IPv%s; "
                      "IKE needs both ends in one address family"
                      % ('/'.join(str(f) for f in sorted(ip_lfam)), '/'.join(str(f) for f in sorted(ip_rfam))))

    start_action = spec.get('start_action') or 'none'
    if start_action not in START_ACTIONS:
        errors.append("start_action: %r is not one of %s" % (start_action, ', '.join(START_ACTIONS)))
    out['start_action'] = start_action
    if start_action in ('start', 'trap') and out['remote_addrs'] and not rconcrete:
        errors.append("start_action: %r makes this side initiate, which needs a concrete remote_addrs "
                      "entry (an IP address or DNS name), not %s; use start_action 'none' on a responder"
                      % (start_action, ', '.join(out['remote_addrs'])))

    dpd_action = spec.get('dpd_action') or 'clear'
    if dpd_action not in DPD_ACTIONS:
        errors.append("dpd_action: %r is not one of %s" % (dpd_action, ', '.join(DPD_ACTIONS)))
    out['dpd_action'] = dpd_action
    if dpd_action == 'restart' and out['remote_addrs'] and not rconcrete:
        errors.append("dpd_action: 'restart' re-initiates to the peer, which needs a concrete remote_addrs "
                      "entry; use 'clear' or 'trap' on a responder")

    dpd_delay = spec.get('dpd_delay')
    dpd_delay = _int_field('dpd_delay', 30 if dpd_delay is None else dpd_delay, errors)
    if dpd_delay is not None:
        if dpd_delay < 0:
            errors.append("dpd_delay: %d is negative; use 0 to turn dead peer detection off or %d..%d seconds"
                          % ((dpd_delay,) + DPD_DELAY_RANGE))
        elif 0 < dpd_delay < DPD_DELAY_RANGE[0]:
            errors.append("dpd_delay: %ds would flood the peer with liveness checks; use %d..%d seconds "
                          "(or 0 to turn dead peer detection off)" % ((dpd_delay,) + DPD_DELAY_RANGE))
        elif dpd_delay > DPD_DELAY_RANGE[1]:
            errors.append("dpd_delay: %ds is too long to notice a dead peer; use %d..%d seconds"
                          % ((dpd_delay,) + DPD_DELAY_RANGE))
        elif dpd_delay == 0 and dpd_action != 'clear':
            warnings.append("dpd_action: %r has no effect while dpd_delay is 0" % dpd_action)
    out['dpd_delay'] = dpd_delay

    # identities
    def single_ip(addrs):
        ips = [a for a in addrs if _ip(a) is not None]
        return ips[0] if len(ips) == 1 else None

    out['local_id'] = _check_identity('local_id', spec.get('local_id'), errors,
                                      single_ip(out['local_addrs']), 'local_addrs')
    out['remote_id'] = _check_identity('remote_id', spec.get('remote_id'), errors,
                                       single_ip(out['remote_addrs']), 'remote_addrs')

    # authentication
    auth = spec.get('auth') or 'psk'
    if auth not in AUTH_METHODS:
        errors.append("auth: %r is not one of %s" % (auth, ', '.join(AUTH_METHODS)))
    out['auth'] = auth
    psk = spec.get('psk')
    out['psk'] = None
    out['local_cert'] = None
    out['remote_cacert'] = None
    if auth == 'psk':
        if psk is None or psk == '':
            errors.append("psk: required with auth 'psk'; give a random key of at least %d characters "
                          "(for example from 'openssl rand -base64 33')" % MIN_PSK_LENGTH)
        elif not isinstance(psk, str):
            errors.append("psk: must be a string")
        else:
            if _has_control(psk):
                errors.append("psk: contains control characters (newline, tab, ...); use printable characters")
            elif re.match(r'^0[xX]', psk) and not re.match(r'^0[xX](?:[0-9a-fA-F]{2})+\Z', psk):
                errors.append("psk: starts with '0x', which swanctl reads as hex, but the rest is not an even "
                              "number of hex digits")
            elif re.match(r'^0[sS]', psk) and not re.match(r'^0[sS][A-Za-z0-9+/]+={0,2}\Z', psk):
                errors.append("psk: starts with '0s', which swanctl reads as base64, but the rest is not base64")
            elif len(psk) < MIN_PSK_LENGTH:
                errors.append("psk: %d characters are too few; use at least %d random characters"
                              % (len(psk), MIN_PSK_LENGTH))
            else:
                out['psk'] = psk
        for field in ('local_id', 'remote_id'):
            if out[field] is not None and out[field].lower() in ANY_ADDRS:
                errors.append("%s: %r with a pre-shared key would accept any peer that knows the key; give "
                              "the identity explicitly" % (field, out[field]))
        for field in ('local_cert', 'remote_cacert'):
            if spec.get(field):
                errors.append("%s: only used with auth 'certificate'" % field)
    elif auth == 'certificate':
        if psk:
            errors.append("psk: only used with auth 'psk'; remove it")
        cert = spec.get('local_cert')
        if not cert or not FILE_NAME_RE.match(cert):
            errors.append("local_cert: with auth 'certificate' give the file name of this side's certificate "
                          "in <swanctl_dir>/x509, for example 'pos-cloud.pem'")
        else:
            out['local_cert'] = cert
        cacert = spec.get('remote_cacert')
        if cacert:
            if not FILE_NAME_RE.match(cacert):
                errors.append("remote_cacert: give a file name in <swanctl_dir>/x509ca, for example 'stores-ca.pem'")
            else:
                out['remote_cacert'] = cacert

    # traffic selectors
    local_nets = _check_ts('local_ts', _as_list(spec.get('local_ts')), errors)
    remote_nets = _check_ts('remote_ts', _as_list(spec.get('remote_ts')), errors)
    out['local_ts'] = [str(n) for n in local_nets]
    out['remote_ts'] = [str(n) for n in remote_nets]
    for ln in local_nets:
        for rn in remote_nets:
            if _overlaps(ln, rn):
                errors.append("local_ts/remote_ts: local subnet %s overlaps remote subnet %s; the two ends of a "
                              "tunnel need distinct subnets" % (ln, rn))
    for other in others or []:
        oname = other.get('name')
        if oname == out['name']:
            continue
        olocal, oremote = _spec_networks(other)
        # Overlapping remote subnets are fine when the local subnets differ (IPsec policies select on
        # both ends), but charon routes each remote subnet through table 220: the same remote subnet
        # twice cannot be routed, whatever the local subnets.
        locals_overlap = any(_overlaps(a, b) for a in local_nets for b in olocal)
        for net in remote_nets:
            for onet in oremote:
                if net == onet or (locals_overlap and _overlaps(net, onet)):
                    errors.append("remote_ts: %s overlaps %s, a remote subnet of tunnel %r on this host%s; traffic "
                                  "could not be routed to the right tunnel"
                                  % (net, onet, oname, '' if net == onet else ' with an overlapping local subnet'))
        for net in local_nets:
            for onet in oremote:
                if _overlaps(net, onet):
                    errors.append("local_ts: %s overlaps %s, a remote subnet of tunnel %r on this host; traffic "
                                  "could not be routed to the right tunnel" % (net, onet, oname))
        for net in remote_nets:
            for onet in olocal:
                if _overlaps(net, onet):
                    errors.append("remote_ts: %s overlaps %s, a local subnet of tunnel %r on this host"
                                  % (net, onet, oname))
        if out.get('local_id') and out.get('remote_id') and \
                normalise_id(out['local_id']) in [normalise_id(i) for i in other.get('local_ids') or []] and \
                normalise_id(out['remote_id']) in [normalise_id(i) for i in other.get('remote_ids') or []]:
            errors.append("remote_id: tunnel %r on this host already pairs the identities %r and %r; the responder "
                          "picks its connection by identity and would select the wrong one, so give each tunnel its "
                          "own local_id or remote_id" % (oname, out['local_id'], out['remote_id']))

    out['ike_proposals'] = check_proposals(
        'ike_proposals', _as_list(spec.get('ike_proposals')) if spec.get('ike_proposals') is not None
        else list(DEFAULT_IKE_PROPOSALS), True, errors, weak)
    out['esp_proposals'] = check_proposals(
        'esp_proposals', _as_list(spec.get('esp_proposals')) if spec.get('esp_proposals') is not None
        else list(DEFAULT_ESP_PROPOSALS), False, errors, weak)
    out['allow_weak_crypto'] = allow_weak

    if weak:
        if allow_weak:
            warnings.extend('weak crypto allowed by allow_weak_crypto: ' + w for w in weak)
        else:
            errors.extend(w + ' (set allow_weak_crypto only if the peer cannot do better)' for w in weak)
    if errors:
        raise SwanctlError(errors)
    return out, warnings


# ---------------------------------------------------------------------------------------------
# rendering


def quote(value):
    """Quote a value for swanctl.conf: backslash and double quote are escaped."""
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


def secret_value(psk):
    """How the PSK is written: 0x/0s forms as given (swanctl decodes them), anything else quoted."""
    if re.match(r'^0[xXsS]', psk):
        return psk
    return quote(psk)


def conf_path(swanctl_dir, name):
    return '%s/conf.d/%s.conf' % (swanctl_dir.rstrip('/'), name)


def secrets_path(swanctl_dir, name):
    return '%s/conf.d/%s.secrets.conf' % (swanctl_dir.rstrip('/'), name)


def render_conf(spec):
    """The ``conf.d/<name>.conf`` text of a normalised spec. Same spec, same bytes."""
    name = spec['name']
    if spec['auth'] == 'certificate':
        local_auth = ['auth = pubkey', 'certs = %s' % spec['local_cert'], 'id = %s' % quote(spec['local_id'])]
        remote_auth = ['auth = pubkey', 'id = %s' % quote(spec['remote_id'])]
        if spec.get('remote_cacert'):
            remote_auth.append('cacerts = %s' % spec['remote_cacert'])
    else:
        local_auth = ['auth = psk', 'id = %s' % quote(spec['local_id'])]
        remote_auth = ['auth = psk', 'id = %s' % quote(spec['remote_id'])]
    lines = [
        MANAGED_MARKER + '; changes made here are overwritten.',
        'connections {',
        '    %s {' % name,
        '        version = %d' % spec['ike_version'],
        '        proposals = %s' % ','.join(spec['ike_proposals']),
        '        local_addrs = %s' % ','.join(spec['local_addrs']),
        '        remote_addrs = %s' % ','.join(spec['remote_addrs']),
        '        dpd_delay = %ds' % spec['dpd_delay'],
        '        local {',
    ]
    lines += ['            ' + item for item in local_auth]
    lines += ['        }', '        remote {']
    lines += ['            ' + item for item in remote_auth]
    lines += [
        '        }',
        '        children {',
        '            %s {' % name,
        '                mode = tunnel',
        '                local_ts = %s' % ','.join(spec['local_ts']),
        '                remote_ts = %s' % ','.join(spec['remote_ts']),
        '                esp_proposals = %s' % ','.join(spec['esp_proposals']),
        '                dpd_action = %s' % spec['dpd_action'],
        '                start_action = %s' % spec['start_action'],
        '            }',
        '        }',
        '    }',
        '}',
    ]
    return '\n'.join(lines) + '\n'


def render_secrets(spec):
    """The ``conf.d/<name>.secrets.conf`` text (to be written with mode 0600), or None without a PSK."""
    if spec['auth'] != 'psk' or not spec.get('psk'):
        return None
    lines = [
        MANAGED_MARKER + '; keep this file mode 0600.',
        'secrets {',
        '    ike-%s {' % spec['name'],
        '        id-1 = %s' % quote(spec['local_id']),
        '        id-2 = %s' % quote(spec['remote_id']),
        '        secret = %s' % secret_value(spec['psk']),
        '    }',
        '}',
    ]
    return '\n'.join(lines) + '\n'


_SECRET_LINE_RE = re.compile(r'^(\s*secret\s*=\s*)(.*)$', re.MULTILINE)


def redact_secrets(text, marker=REDACTED):
    """``text`` with the value of every ``secret =`` line replaced by ``marker``; None stays None."""
    if text is None:
        return None
    return _SECRET_LINE_RE.sub(lambda m: m.group(1) + marker, text)


def secret_of(text):
    """The raw value of the first ``secret =`` line of a secrets file, or None."""
    if not text:
        return None
    m = _SECRET_LINE_RE.search(text)
    return m.group(2).strip() if m else None


# ---------------------------------------------------------------------------------------------
# syntax check of the whole swanctl configuration


class _Token(object):
    __slots__ = ('kind', 'text', 'where')

    def __init__(self, kind, text, where):
        self.kind = kind
        self.text = text
        self.where = where


def _tokens(path, read, glob, depth=0):
    """Tokens of strongSwan's settings syntax (as its flex lexer makes them), includes spliced in.

    Yields NAME, VALUE, LBRACE, RBRACE, EQ, NEWLINE and ERROR tokens; ``where`` is 'file:line'.
    """
    if depth > 10:
        yield _Token('ERROR', 'includes nested too deeply', path)
        return
    text = read(path)
    if text is None:
        return
    base = path.rsplit('/', 1)[0] if '/' in path else '.'
    i = 0
    line = 1
    n = len(text)
    while i < n:
        c = text[i]
        where = '%s:%d' % (path, line)
        if c in ' \t\r':
            i += 1
        elif c == '#':
            while i < n and text[i] != '\n':
                i += 1
        elif c == '\n':
            yield _Token('NEWLINE', c, where)
            line += 1
            i += 1
        elif c in '{}':
            yield _Token('LBRACE' if c == '{' else 'RBRACE', c, where)
            i += 1
        elif c == '"':
            yield _Token('ERROR', 'unexpected string', where)
            return
        elif c == '=':
            yield _Token('EQ', c, where)
            i += 1
            # the value runs to the end of the line, a comment or a closing brace
            while i < n and text[i] not in '\n#}':
                if text[i] == '"':
                    i += 1
                    while True:
                        if i >= n:
                            yield _Token('ERROR', 'unterminated string', where)
                            return
                        if text[i] == '\\':
                            if i + 1 < n and text[i + 1] == '\n':
                                line += 1
                            i += 2
                            continue
                        if text[i] == '\n':
                            line += 1
                        if text[i] == '"':
                            i += 1
                            break
                        i += 1
                else:
                    i += 1
            yield _Token('VALUE', '', where)
        else:
            m = re.compile(r'[^#{}="\r\n\t ]+').match(text, i)
            word = m.group(0)
            i = m.end()
            if word == 'include' and i < n and text[i] in ' \t' and not re.match(r'[ \t]*=', text[i:]):
                m = re.compile(r'[ \t]+((?:\\.|[^#}\r\n])*)').match(text, i)
                pattern = m.group(1).strip()
                i = m.end()
                if pattern.startswith('"') and pattern.endswith('"') and len(pattern) > 1:
                    pattern = pattern[1:-1]
                if not pattern.startswith('/'):
                    pattern = base + '/' + pattern
                for included in sorted(glob(pattern)):
                    yield from _tokens(included, read, glob, depth + 1)
                continue
            yield _Token('NAME', word, where)


def settings_syntax_errors(path, read, glob):
    """Syntax errors of a strongSwan settings file and everything it includes.

    ``read(path)`` returns a file's text (None when missing) and ``glob(pattern)`` the matching paths,
    so the check needs no file system of its own. Returns a list of 'file:line: problem' strings.

    swanctl itself does not stop at a syntax error: ``--load-conns`` then sees no connection at all and
    unloads every loaded one. This check runs first so that a broken file fails the task instead.
    """
    errors = []
    opened = []  # (name, where) of the sections not closed yet
    pending = None  # a NAME waiting for '=' or '{'
    pending_where = None
    last = path
    for tok in _tokens(path, read, glob):
        last = tok.where
        if tok.kind == 'ERROR':
            errors.append('%s: %s' % (tok.where, tok.text))
            return errors
        if pending is not None:
            if tok.kind == 'EQ':
                pending = 'value'
                continue
            if tok.kind == 'VALUE' and pending == 'value':
                pending = None
                continue
            if tok.kind == 'LBRACE' and pending != 'value':
                opened.append((pending, pending_where))
                pending = None
                continue
            if pending == 'value':
                pending = None
            else:
                errors.append("%s: %r is followed by neither '=' nor '{'" % (tok.where, pending))
                return errors
        if tok.kind == 'NAME':
            pending = tok.text
            pending_where = tok.where
        elif tok.kind == 'RBRACE':
            if not opened:
                errors.append("%s: '}' without a section to close" % tok.where)
                return errors
            opened.pop()
        elif tok.kind in ('LBRACE', 'EQ', 'VALUE'):
            errors.append("%s: unexpected %r" % (tok.where, tok.text or tok.kind))
            return errors
    if pending not in (None, 'value'):
        errors.append("%s: %r is followed by neither '=' nor '{'" % (last, pending))
    for name, where in opened:
        errors.append("%s: section %r is not closed with '}' before the end of the configuration" % (where, name))
    return errors


def load_problems(name, what, rc, text, secret_expected=True):
    """Judge the output of ``swanctl --load-conns`` / ``--load-creds`` for tunnel ``name``.

    Returns ``(fatal, warnings)``: fatal problems concern the whole configuration or this tunnel;
    failures of other connections or credentials are only warnings.
    """
    fatal = []
    warnings = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if 'invalid config file' in line or 'syntax error' in line or line.startswith('parsing '):
            fatal.append(line)
    if what == 'conns':
        for line in lines:
            m = re.match(r"^loading connection '([^']*)' failed: (.*)$", line)
            if m and m.group(1) == name:
                fatal.append(line)
            elif m:
                warnings.append('another connection failed to load: %s' % line)
    else:
        loaded = any(re.match(r"^loaded (?:ike|eap|xauth|ntlm|ppk|private key|shared key)?\s*secret '%s'" % re.escape('ike-' + name),
                              line) for line in lines)
        for line in lines:
            if 'failed' in line:
                if ('ike-' + name) in line:
                    fatal.append(line)
                else:
                    warnings.append('loading credentials: %s' % line)
        if secret_expected and not loaded and not fatal and rc != 0:
            fatal.append('swanctl --load-creds failed (rc=%d) and did not report the secret ike-%s as loaded'
                         % (rc, name))
    if rc != 0 and not fatal and not warnings:
        fatal.append('swanctl --load-%s failed (rc=%d): %s' % (what, rc, ' | '.join(lines[-5:])))
    return fatal, warnings


# ---------------------------------------------------------------------------------------------
# parsing swanctl output


_LIST_START_RE = re.compile(r'^([^\s=]+)(?: =)? \[(\])?$')


def parse_vici_pretty(text):
    """Parse the output of ``swanctl ... --pretty`` into ``[(message name, dict)]``.

    Sections become dicts (in order), lists become lists of strings and key/value lines strings.
    Lines that are not part of a message (swanctl's own notes on stderr/stdout) are ignored.
    """
    messages = []
    stack = []
    current_list = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if current_list is not None:
            if line == ']':
                current_list = None
            else:
                current_list.append(line)
            continue
        if not stack:
            if line.endswith(' {') or line == '{':
                name = line[:-1].strip()
                body = {}
                messages.append((name, body))
                stack.append(body)
            continue
        if line == '}':
            stack.pop()
            continue
        m = _LIST_START_RE.match(line)
        if m:
            current_list = [] if not m.group(2) else None
            stack[-1][m.group(1)] = current_list if current_list is not None else []
            continue
        if ' = ' in line or line.endswith(' ='):
            key, _sep, value = line.partition(' =')
            if ' ' not in key:
                stack[-1][key] = value[1:] if value.startswith(' ') else value
                continue
        if line.endswith(' {'):
            key = line[:-2]
            body = {}
            stack[-1][key] = body
            stack.append(body)
            continue
        if line.endswith(' {}'):
            stack[-1][line[:-3]] = {}
            continue
    return messages


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _since(now, seconds):
    if now is None or seconds is None:
        return None
    return datetime.fromtimestamp(int(now) - int(seconds), timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _alg(sa, prefix=''):
    name = sa.get(prefix + 'encr-alg')
    if not name:
        return None
    size = sa.get(prefix + 'encr-keysize')
    return '%s_%s' % (name, size) if size else name


def _proposal(sa, ike):
    parts = [_alg(sa)]
    if sa.get('integ-alg'):
        integ = sa['integ-alg']
        if sa.get('integ-keysize'):
            integ += '_' + sa['integ-keysize']
        parts.append(integ)
    if ike and sa.get('prf-alg'):
        parts.append(sa['prf-alg'])
    if sa.get('dh-group'):
        parts.append(sa['dh-group'])
    if not ike and sa.get('esn') in ('1', 'yes'):
        parts.append('ESN')
    parts = [p for p in parts if p]
    return '/'.join(parts) if parts else None


def _child(key, c, now):
    child = {
        'key': key,
        'name': c.get('name', key),
        'uniqueid': _int(c.get('uniqueid')),
        'reqid': _int(c.get('reqid')),
        'state': c.get('state'),
        'mode': c.get('mode'),
        'protocol': c.get('protocol'),
        'encap': c.get('encap') == 'yes',
        'spi_in': c.get('spi-in'),
        'spi_out': c.get('spi-out'),
        'encr_alg': c.get('encr-alg'),
        'encr_keysize': _int(c.get('encr-keysize')),
        'integ_alg': c.get('integ-alg'),
        'dh_group': c.get('dh-group'),
        'esn': c.get('esn') in ('1', 'yes'),
        'proposal': _proposal(c, ike=False),
        'bytes_in': _int(c.get('bytes-in')),
        'packets_in': _int(c.get('packets-in')),
        'bytes_out': _int(c.get('bytes-out')),
        'packets_out': _int(c.get('packets-out')),
        'use_in': _int(c.get('use-in')),
        'use_out': _int(c.get('use-out')),
        'rekey_time': _int(c.get('rekey-time')),
        'life_time': _int(c.get('life-time')),
        'install_time': _int(c.get('install-time')),
        'installed_since': _since(now, _int(c.get('install-time'))),
        'local_ts': list(c.get('local-ts') or []),
        'remote_ts': list(c.get('remote-ts') or []),
    }
    return child


def parse_list_sas(text, now=None):
    """Parse ``swanctl --list-sas --pretty`` into a list of IKE SAs, each with its child SAs.

    ``now`` (epoch seconds) turns the relative times into ``established_since`` and
    ``installed_since`` (ISO 8601 UTC).
    """
    sas = []
    for msg, body in parse_vici_pretty(text):
        if msg != 'list-sa event':
            continue
        for name, sa in body.items():
            if not isinstance(sa, dict):
                continue
            children = []
            for key, c in (sa.get('child-sas') or {}).items():
                if isinstance(c, dict):
                    children.append(_child(key, c, now))
            established = _int(sa.get('established'))
            sas.append({
                'name': name,
                'uniqueid': _int(sa.get('uniqueid')),
                'version': _int(sa.get('version')),
                'state': sa.get('state'),
                'local_host': sa.get('local-host'),
                'local_port': _int(sa.get('local-port')),
                'local_id': sa.get('local-id'),
                'remote_host': sa.get('remote-host'),
                'remote_port': _int(sa.get('remote-port')),
                'remote_id': sa.get('remote-id'),
                'initiator': sa.get('initiator') == 'yes',
                'initiator_spi': sa.get('initiator-spi'),
                'responder_spi': sa.get('responder-spi'),
                'nat_local': sa.get('nat-local') == 'yes',
                'nat_remote': sa.get('nat-remote') == 'yes',
                'nat_fake': sa.get('nat-fake') == 'yes',
                'nat_any': sa.get('nat-any') == 'yes',
                'encr_alg': sa.get('encr-alg'),
                'encr_keysize': _int(sa.get('encr-keysize')),
                'integ_alg': sa.get('integ-alg'),
                'prf_alg': sa.get('prf-alg'),
                'dh_group': sa.get('dh-group'),
                'proposal': _proposal(sa, ike=True),
                'established': established,
                'established_since': _since(now, established),
                'rekey_time': _int(sa.get('rekey-time')),
                'reauth_time': _int(sa.get('reauth-time')),
                'child_sas': children,
                'tasks_queued': list(sa.get('tasks-queued') or []),
                'tasks_active': list(sa.get('tasks-active') or []),
            })
    return sas


def parse_list_conns(text):
    """Parse ``swanctl --list-conns --pretty`` into ``{name: connection}``."""
    conns = {}
    for msg, body in parse_vici_pretty(text):
        if msg != 'list-conn event':
            continue
        for name, c in body.items():
            if not isinstance(c, dict):
                continue
            local_auth = [v for k, v in c.items() if k.startswith('local') and isinstance(v, dict)]
            remote_auth = [v for k, v in c.items() if k.startswith('remote') and isinstance(v, dict)]
            children = {}
            for cname, child in (c.get('children') or {}).items():
                if isinstance(child, dict):
                    children[cname] = {
                        'name': cname,
                        'mode': child.get('mode'),
                        'local_ts': list(child.get('local-ts') or []),
                        'remote_ts': list(child.get('remote-ts') or []),
                        'dpd_action': child.get('dpd_action'),
                        'close_action': child.get('close_action'),
                        'rekey_time': _int(child.get('rekey_time')),
                    }
            conns[name] = {
                'name': name,
                'local_addrs': list(c.get('local_addrs') or []),
                'remote_addrs': list(c.get('remote_addrs') or []),
                'version': c.get('version'),
                'rekey_time': _int(c.get('rekey_time')),
                'reauth_time': _int(c.get('reauth_time')),
                'unique': c.get('unique'),
                'dpd_delay': _int(c.get('dpd_delay')),
                'local_ids': [a.get('id') for a in local_auth if a.get('id')],
                'remote_ids': [a.get('id') for a in remote_auth if a.get('id')],
                'local_auth': [a.get('class') for a in local_auth],
                'remote_auth': [a.get('class') for a in remote_auth],
                'children': children,
                'local_ts': _dedupe([t for ch in children.values() for t in ch['local_ts']]),
                'remote_ts': _dedupe([t for ch in children.values() for t in ch['remote_ts']]),
            }
    return conns


def parse_loaded_conn_names(text):
    """Connection names from ``swanctl --list-conns`` (plain output): lines ``<name>: IKEv2, ...``."""
    names = []
    for line in text.splitlines():
        m = re.match(r'^([^\s:][^:]*): IKEv[12]\b', line)
        if m:
            names.append(m.group(1))
    return names


_AUTH_CLASS = {'psk': 'pre-shared key', 'certificate': 'public key'}
# How strongSwan 5.9 lists the dpd_action values it was given.
_DPD_ACTION_LISTED = {'clear': 'none', 'trap': 'trap', 'restart': 'start'}
_ID_PREFIX_RE = re.compile(r'^(?:ipv4|ipv6|fqdn|rfc822|email|userfqdn|asn1dn|dns|keyid|ip):', re.IGNORECASE)


def normalise_id(identity):
    """A loose canonical form of an IKE identity, to compare configured with listed ones."""
    if identity is None:
        return None
    text = _ID_PREFIX_RE.sub('', str(identity).strip())
    if text.startswith('@#'):
        text = text[2:]
    elif text.startswith('@'):
        text = text[1:]
    return re.sub(r'\s+', '', text).lower()


def loaded_conn_drift(spec, conn):
    """Differences between a normalised spec and the loaded connection (from parse_list_conns).

    Only what ``--list-conns`` shows is compared (addresses, identities, IKE version, auth class,
    child mode, traffic selectors, dpd_action); proposals are not listed by the daemon. Returns a
    list of human-readable differences, empty when the loaded connection matches.
    """
    if conn is None:
        return ['connection %s is not loaded' % spec['name']]
    drift = []

    def cmp(label, want, have):
        if list(want) != list(have):
            drift.append('%s: loaded %s, wanted %s' % (label, ', '.join(have) or '-', ', '.join(want) or '-'))

    cmp('local_addrs', spec['local_addrs'], conn['local_addrs'])
    cmp('remote_addrs', spec['remote_addrs'], conn['remote_addrs'])
    if conn.get('version') and conn['version'] != 'IKEv%d' % spec['ike_version']:
        drift.append('version: loaded %s, wanted IKEv%d' % (conn['version'], spec['ike_version']))
    if [normalise_id(spec['local_id'])] != [normalise_id(i) for i in conn['local_ids']]:
        cmp('local_id', [spec['local_id']], conn['local_ids'])
    if [normalise_id(spec['remote_id'])] != [normalise_id(i) for i in conn['remote_ids']]:
        cmp('remote_id', [spec['remote_id']], conn['remote_ids'])
    have_delay = conn.get('dpd_delay') or 0
    if have_delay != spec['dpd_delay']:
        drift.append('dpd_delay: loaded %ds, wanted %ds' % (have_delay, spec['dpd_delay']))
    want_class = _AUTH_CLASS.get(spec['auth'])
    if conn['local_auth'] and conn['local_auth'] != [want_class]:
        drift.append('auth: loaded %s, wanted %s' % (', '.join(str(a) for a in conn['local_auth']), want_class))
    child = conn['children'].get(spec['name'])
    if child is None:
        drift.append('child %s is not loaded' % spec['name'])
    else:
        cmp('local_ts', spec['local_ts'], child['local_ts'])
        cmp('remote_ts', spec['remote_ts'], child['remote_ts'])
        if child.get('mode') and child['mode'] != 'TUNNEL':
            drift.append('mode: loaded %s, wanted TUNNEL' % child['mode'])
        have = child.get('dpd_action')
        if have and have != _DPD_ACTION_LISTED.get(spec['dpd_action']):
            drift.append('dpd_action: loaded %s, wanted %s' % (have, spec['dpd_action']))
    return drift


def other_tunnels(conns, name):
    """The loaded connections other than ``name``, as ``validate_spec`` wants them."""
    return [{'name': c['name'], 'local_ts': c['local_ts'], 'remote_ts': c['remote_ts'],
             'local_ids': c.get('local_ids') or [], 'remote_ids': c.get('remote_ids') or []}
            for c in conns.values() if c['name'] != name]


def sas_for(sas, name):
    return [sa for sa in sas if sa['name'] == name]


def child_installed(sas, name):
    """True when an ESTABLISHED IKE SA of ``name`` carries an INSTALLED child SA named ``name``."""
    for sa in sas_for(sas, name):
        if sa['state'] != 'ESTABLISHED':
            continue
        for child in sa['child_sas']:
            if child['name'] == name and child['state'] == 'INSTALLED':
                return True
    return False


def tunnel_status(name, sas, conn=None):
    """One connection's status: loaded config (if any) and its IKE SAs, summarised."""
    mine = sas_for(sas, name)
    states = [sa['state'] for sa in mine]
    if 'ESTABLISHED' in states:
        state = 'ESTABLISHED'
    elif states:
        state = states[0]
    else:
        state = 'DOWN'
    return {
        'name': name,
        'loaded': conn is not None,
        'state': state,
        'up': child_installed(sas, name),
        'config': conn,
        'ike_sas': mine,
    }


# ---------------------------------------------------------------------------------------------
# daemon log


_FILELOG_PREFIX_RE = re.compile(r'<([^|>]*)\|(\d+)>')


def filter_log_events(events, name, remote_addrs=()):
    """Messages of vici ``log`` events that concern ``name``.

    ``events`` are ``(name, dict)`` pairs as parse_vici_pretty makes them from ``swanctl --log
    --pretty`` or as decoded from the vici socket with vici_message.

    Kept are messages logged by an IKE SA of that name, by the same IKE SA (unique id) before it was
    named, and unnamed messages that mention one of ``remote_addrs``.
    """
    logs = [body for msg, body in events if msg == 'log']
    ids = set(b.get('ikesa-uniqueid') for b in logs if b.get('ikesa-name') == name and b.get('ikesa-uniqueid'))
    out = []
    for b in logs:
        text = b.get('msg', '')
        if b.get('ikesa-name') == name or (b.get('ikesa-uniqueid') and b.get('ikesa-uniqueid') in ids) or \
                (b.get('ikesa-name') in (None, '', '(unnamed)') and _mentions(text, remote_addrs)):
            out.append('%s[%s] %s' % (b.get('thread', '00'), b.get('group', '???'), text))
    return out


def filter_log_lines(lines, name, remote_addrs=()):
    """Lines of a charon file log that concern connection ``name``.

    With ``ike_name = yes`` in the filelog settings lines carry ``<name|id>``; lines of an IKE SA
    not yet named (``<(unnamed)|id>`` or ``<id>``) are kept when the same unique id later gets the
    name. Without ike_name, lines naming ``name[`` / ``name{`` or mentioning one of
    ``remote_addrs`` are kept.
    """
    ids = set()
    for line in lines:
        m = _FILELOG_PREFIX_RE.search(line)
        if m and m.group(1) == name:
            ids.add(m.group(2))
    token_re = re.compile(r"(?:^|[\s'<])%s(?:[\[{|']|$)" % re.escape(name))
    out = []
    for line in lines:
        m = _FILELOG_PREFIX_RE.search(line)
        if m and (m.group(1) == name or m.group(2) in ids):
            out.append(line)
        elif token_re.search(line) or (not m and _mentions(line, remote_addrs)):
            out.append(line)
    return out


def _mentions(text, addrs):
    for addr in addrs or ():
        if addr and not addr.startswith('%') and re.search(r'(?<![\w.:])%s(?![\w:]|\.\d)' % re.escape(addr), text):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# vici wire format (enough to follow charon's log events without swanctl)

VICI_DEFAULT_URI = 'unix:///var/run/charon.vici'
VICI_CMD_REQUEST = 0
VICI_EVENT_REGISTER = 3
VICI_EVENT_UNREGISTER = 4
VICI_EVENT_CONFIRM = 5
VICI_EVENT_UNKNOWN = 6
VICI_EVENT = 7
_VICI_NAMED = (VICI_CMD_REQUEST, VICI_EVENT_REGISTER, VICI_EVENT_UNREGISTER, VICI_EVENT)


def vici_socket_path(uri):
    """The file of a ``unix://`` vici URI (swanctl's default when None); None for other schemes."""
    uri = uri or VICI_DEFAULT_URI
    if uri.startswith('unix://'):
        return uri[len('unix://'):]
    return None


def vici_packet(kind, name=None):
    """One vici packet (length-prefixed) of type ``kind``, named ``name``, with an empty message."""
    payload = bytearray([kind])
    if kind in _VICI_NAMED:
        raw = name.encode('ascii')
        payload.append(len(raw))
        payload += raw
    return bytes(bytearray(len(payload).to_bytes(4, 'big')) + payload)


def vici_split(buffer):
    """Split received bytes into complete packets: returns ``([(type, name, body bytes)], rest)``."""
    packets = []
    buffer = bytes(buffer)
    while len(buffer) >= 4:
        length = int.from_bytes(buffer[:4], 'big')
        if len(buffer) < 4 + length:
            break
        payload, buffer = buffer[4:4 + length], buffer[4 + length:]
        if not payload:
            continue
        kind = payload[0]
        name = None
        body = payload[1:]
        if kind in _VICI_NAMED and body:
            size = body[0]
            name = body[1:1 + size].decode('ascii', 'replace')
            body = body[1 + size:]
        packets.append((kind, name, body))
    return packets, buffer


def vici_message(body):
    """Decode a vici message body into a dict (sections are dicts, lists are lists of strings)."""
    root = {}
    stack = [root]
    current_list = None
    i = 0
    n = len(body)

    def text(raw):
        return raw.decode('utf-8', 'replace')
    while i < n:
        kind = body[i]
        i += 1
        if kind in (1, 3, 4):  # SECTION_START, KEY_VALUE, LIST_START carry a name
            size = body[i]
            name = text(body[i + 1:i + 1 + size])
            i += 1 + size
            if kind == 1:
                section = {}
                stack[-1][name] = section
                stack.append(section)
            elif kind == 3:
                size = int.from_bytes(body[i:i + 2], 'big')
                stack[-1][name] = text(body[i + 2:i + 2 + size])
                i += 2 + size
            else:
                current_list = []
                stack[-1][name] = current_list
        elif kind == 2:  # SECTION_END
            if len(stack) > 1:
                stack.pop()
        elif kind == 5:  # LIST_ITEM
            size = int.from_bytes(body[i:i + 2], 'big')
            if current_list is not None:
                current_list.append(text(body[i + 2:i + 2 + size]))
            i += 2 + size
        elif kind == 6:  # LIST_END
            current_list = None
        else:
            break
    return root
