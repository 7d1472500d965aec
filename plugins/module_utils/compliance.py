# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance flags of a store's status row, for the fleet status report: what a PCI assessor asks
about each store (patched media, strong tunnel crypto, fresh verified backups, cutover evidence,
the fleet's current image). Pure functions of the row, the policy and the time."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

UTC = datetime.timezone.utc

# The flags, in the order the report shows them, with their column title.
FLAGS = (
    ('media_old', 'media patch level old'),
    ('weak_tunnel', 'tunnel crypto outside the strong set'),
    ('backup_old', 'no recent verified backup'),
    ('no_cutover', 'no cutover evidence'),
    ('image_not_current', "not on the fleet's current media"),
)

DEFAULT_POLICY = {
    'media_max_age_days': 30,
    'backup_max_age_days': 2,
    'require_cutover': True,
}

# Negotiated algorithm names (as strongSwan reports an SA: AES_CBC_128, HMAC_SHA1_96, PRF_HMAC_SHA1,
# MODP_1024...) outside the strong set, with the reason. The same judgement as the tunnel module's
# refusal of weak proposals (RFC 8221, RFC 8247), applied to what was agreed with the peer.
WEAK_NEGOTIATED = (
    (re.compile(r'^(?:3DES|DES)(?:_|$)'), 'DES and 3DES have 56-bit keys or 64-bit blocks'),
    (re.compile(r'^(?:BLOWFISH|CAST)'), 'a 64-bit block cipher'),
    (re.compile(r'^(?:ENCR_)?NULL'), 'no encryption'),
    (re.compile(r'MD5'), 'MD5 is broken'),
    (re.compile(r'SHA1(?:_|$)'), 'SHA-1 is deprecated for IKE and ESP'),
    (re.compile(r'^MODP_(?:768|1024|1536)(?:_|$)'), 'a MODP group smaller than 2048 bits'),
    (re.compile(r'^MODP_2048_(?:224|256)$'), 'a MODP group with a small subgroup'),
)


class ComplianceError(ValueError):
    """Bad policy input; the message names the field."""


def parse_time(text):
    """An ISO 8601 time (Z or an offset; naive is UTC) as an aware datetime, or None when it is not one."""
    if not text or not isinstance(text, str):
        return None
    value = text.strip()
    if value.endswith('Z'):
        value = value[:-1] + '+00:00'
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def age_days(text, now):
    when = parse_time(text)
    return None if when is None else (now - when).total_seconds() / 86400.0


def weak_algorithms(proposal):
    """The parts of a negotiated proposal ('AES_CBC_128/HMAC_SHA1_96/MODP_1024') outside the strong
    set: [(algorithm, reason)]."""
    out = []
    for part in (proposal or '').split('/'):
        for regex, reason in WEAK_NEGOTIATED:
            if part and regex.search(part.upper()):
                out.append((part, reason))
                break
    return out


def policy_from(values):
    """The policy with its defaults, checked."""
    policy = dict(DEFAULT_POLICY)
    for key, value in (values or {}).items():
        if key not in policy:
            raise ComplianceError('fleet_status_policy: unknown key %r; use %s' % (key, ', '.join(sorted(policy))))
        policy[key] = value
    for key in ('media_max_age_days', 'backup_max_age_days'):
        try:
            policy[key] = float(policy[key])
        except (TypeError, ValueError):
            raise ComplianceError('fleet_status_policy.%s: give a number of days' % key)
        if policy[key] < 0:
            raise ComplianceError('fleet_status_policy.%s: give a number of days, 0 or more' % key)
    policy['require_cutover'] = bool(policy['require_cutover'])
    return policy


def flags(row, policy=None, now=None, current_media=None):
    """The compliance flags of one store's status row (as the fleet status report builds it from
    store_status): [{'flag', 'title', 'detail'}], in the order of FLAGS.

    current_media: the image id of the OS media the store should be on (the fleet's current one),
    or None when it is not known (then that flag is not raised)."""
    policy = policy_from(policy)
    now = now or datetime.datetime.now(UTC)
    titles = dict(FLAGS)
    out = []

    def add(flag, detail):
        out.append({'flag': flag, 'title': titles[flag], 'detail': detail})

    if row.get('error'):
        # nothing can be said of a store that did not answer, except that
        add('media_old', 'the store did not answer: %s' % row['error'])
        return out
    instance = row.get('instance') or {}
    patch = instance.get('patch_level') or ''
    age = age_days(patch, now)
    if instance.get('state', 'absent') == 'absent':
        add('media_old', 'no instance')
    elif age is None:
        add('media_old', 'patch level unknown (%s)' % (patch or 'no label'))
    elif age > policy['media_max_age_days']:
        add('media_old', 'patch level %s is %d days old (more than %g)' % (patch, int(age), policy['media_max_age_days']))

    weak = []
    for tunnel in row.get('tunnels') or []:
        for key in ('ike_proposal', 'esp_proposal'):
            for alg, reason in weak_algorithms(tunnel.get(key)):
                weak.append('%s %s: %s (%s)' % (tunnel.get('name', '?'), key.split('_', 1)[0].upper(), alg, reason))
    if weak:
        add('weak_tunnel', '; '.join(weak))

    backup = row.get('backup') or {}
    made = age_days(backup.get('made'), now)
    if not backup:
        add('backup_old', 'no verified backup set')
    elif made is None:
        add('backup_old', 'backup set %s has no time' % backup.get('set', '?'))
    elif made > policy['backup_max_age_days']:
        add('backup_old', 'last verified backup %s is %.1f days old (more than %g)'
            % (backup.get('set', '?'), made, policy['backup_max_age_days']))

    cutover = row.get('cutover') or {}
    if policy['require_cutover'] and cutover.get('outcome') != 'completed':
        add('no_cutover', 'last cutover: %s' % (cutover.get('outcome') or 'none'))

    media = instance.get('media_image') or ''
    if current_media and instance.get('state', 'absent') != 'absent' and media != current_media:
        add('image_not_current', 'built on media %s, the current one is %s'
            % ((media or 'unknown')[7:19] if media.startswith('sha256:') else media or 'unknown', current_media[7:19]))
    return out


def totals(rows):
    """{'stores': n, 'flagged': n, 'by_flag': {flag: n}} over rows that carry a 'flags' list."""
    by_flag = dict((flag, 0) for flag, dummy in FLAGS)
    flagged = 0
    for row in rows:
        names = set(f['flag'] for f in row.get('flags') or [])
        flagged += 1 if names else 0
        for name in names:
            by_flag[name] = by_flag.get(name, 0) + 1
    return {'stores': len(rows), 'flagged': flagged, 'by_flag': by_flag}


def summary_line(total):
    """The one line a scheduled job alerts on."""
    parts = ['%s %d' % (title, total['by_flag'].get(flag, 0)) for flag, title in FLAGS if total['by_flag'].get(flag)]
    return 'COMPLIANCE %s: %d of %d stores flagged%s' % (
        'FLAGGED' if total['flagged'] else 'OK', total['flagged'], total['stores'],
        (' (' + ', '.join(parts) + ')') if parts else '')
