# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tunnel specs validated and normalised for ``swanctl.conf``.

Addresses and subnets are checked with the standard library's ``ipaddress`` module, so targets need
no extra Python package."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.constants import (
    ANY_ADDRS, AUTH_METHODS, DEFAULT_AUTH, DEFAULT_DPD_ACTION, DEFAULT_DPD_DELAY, DEFAULT_ESP_PROPOSALS,
    DEFAULT_IKE_PROPOSALS, DEFAULT_IKE_VERSION, DEFAULT_LOCAL_ADDRS, DEFAULT_START_ACTION, DPD_ACTIONS, DPD_DELAY_RANGE,
    IKE_VERSIONS, MIN_PSK_LENGTH, START_ACTIONS, SwanctlError)

NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_-]{0,62}\Z')
FILE_NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z')
HOSTNAME_RE = re.compile(
    r'^(?=.{1,253}\Z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*'
    r'[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?\Z')

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


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value).split(',')
    return [str(v).strip() for v in items if str(v).strip()]


def dedupe(items):
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
    return dedupe(out), families, concrete


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
    return dedupe(out)


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

    version = spec.get('ike_version', DEFAULT_IKE_VERSION)
    if version in (None, ''):
        version = DEFAULT_IKE_VERSION
    try:
        version = int(version)
    except (TypeError, ValueError):
        version = -1
    if version not in IKE_VERSIONS:
        errors.append("ike_version: %r is not an IKE version; use 2" % (spec.get('ike_version'),))
    elif version == 1:
        weak.append("ike_version: IKEv1 is deprecated (RFC 9395); use IKEv2")
    out['ike_version'] = version

    local_addrs = _as_list(spec.get('local_addrs')) or list(DEFAULT_LOCAL_ADDRS)
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

    start_action = spec.get('start_action') or DEFAULT_START_ACTION
    if start_action not in START_ACTIONS:
        errors.append("start_action: %r is not one of %s" % (start_action, ', '.join(START_ACTIONS)))
    out['start_action'] = start_action
    if start_action in ('start', 'trap') and out['remote_addrs'] and not rconcrete:
        errors.append("start_action: %r makes this side initiate, which needs a concrete remote_addrs "
                      "entry (an IP address or DNS name), not %s; use start_action 'none' on a responder"
                      % (start_action, ', '.join(out['remote_addrs'])))

    dpd_action = spec.get('dpd_action') or DEFAULT_DPD_ACTION
    if dpd_action not in DPD_ACTIONS:
        errors.append("dpd_action: %r is not one of %s" % (dpd_action, ', '.join(DPD_ACTIONS)))
    out['dpd_action'] = dpd_action
    if dpd_action == 'restart' and out['remote_addrs'] and not rconcrete:
        errors.append("dpd_action: 'restart' re-initiates to the peer, which needs a concrete remote_addrs "
                      "entry; use 'clear' or 'trap' on a responder")

    dpd_delay = spec.get('dpd_delay')
    dpd_delay = _int_field('dpd_delay', DEFAULT_DPD_DELAY if dpd_delay is None else dpd_delay, errors)
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
    auth = spec.get('auth') or DEFAULT_AUTH
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
