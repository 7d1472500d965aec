# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a tunnel did not come up, in the peer's words: the IKE notify errors and proposals in
strongSwan's log lines of a failed negotiation, turned into one sentence an operator facing a
third-party router can act on."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Notify types as strongSwan names them in full, and the short names of its "parsed ... [ N(...) ]"
# lines, with what each means for the operator.
NOTIFY_HINTS = {
    'NO_PROPOSAL_CHOSEN': 'the peer accepts none of the proposals we offered; its allowed algorithms must '
                          'include one of ours (or ours one of its)',
    'AUTHENTICATION_FAILED': 'the peer did not accept our authentication: the pre-shared key or the IDs differ '
                             'between the two sides',
    'TS_UNACCEPTABLE': 'the peer does not accept the traffic selectors (the subnets of the tunnel): each side '
                       'must name the other\'s networks as its remote ones',
    'INVALID_KE_PAYLOAD': 'the peer wants another Diffie-Hellman group first (strongSwan retries with it; '
                          'a failure after this means no group is shared)',
    'SINGLE_PAIR_REQUIRED': 'the peer accepts only one pair of subnets per CHILD_SA',
    'INTERNAL_ADDRESS_FAILURE': 'the peer could not give a virtual address',
    'FAILED_CP_REQUIRED': 'the peer requires a configuration payload (a virtual IP request)',
    'INVALID_SYNTAX': 'the peer could not parse our message',
    'UNSUPPORTED_CRITICAL_PAYLOAD': 'the peer does not support a payload we sent',
}
SHORT = {
    'NO_PROP': 'NO_PROPOSAL_CHOSEN',
    'AUTH_FAILED': 'AUTHENTICATION_FAILED',
    'TS_UNACCEPT': 'TS_UNACCEPTABLE',
    'INVAL_KE': 'INVALID_KE_PAYLOAD',
    'SINGLE_PAIR': 'SINGLE_PAIR_REQUIRED',
    'INT_ADDR_FAIL': 'INTERNAL_ADDRESS_FAILURE',
    'CP_REQUIRED': 'FAILED_CP_REQUIRED',
    'INVAL_SYN': 'INVALID_SYNTAX',
    'CRIT': 'UNSUPPORTED_CRITICAL_PAYLOAD',
}

RECEIVED_RE = re.compile(r'received ([A-Z_]+) notify(?: error)?')
PARSED_RE = re.compile(r'parsed (IKE_SA_INIT|IKE_AUTH|CREATE_CHILD_SA|INFORMATIONAL) (?:response|request) \d+ \[([^\]]*)\]')
NOTIFY_RE = re.compile(r'N\(([A-Z_]+)\)')
PROPOSALS_RE = re.compile(r'(received|configured) proposals: (.+)$')
PACKET_RE = re.compile(r'received packet: from (\S+) to \S+ \((\d+) bytes\)')
# A bare IKE header (28 bytes) with one notify payload without data (8 bytes): the answer of a
# responder that found no proposal it accepts, before anything is encrypted.
BARE_NOTIFY_BYTES = 36


def _notifies(lines):
    """The error notifies the peer sent, in order, without repeats, with the exchange they came in."""
    found = []
    for line in lines:
        m = RECEIVED_RE.search(line)
        if m and m.group(1) in NOTIFY_HINTS:
            name = m.group(1)
            if name not in [n for n, dummy in found]:
                found.append((name, None))
            continue
        m = PARSED_RE.search(line)
        if m and 'response' in line:
            for short in NOTIFY_RE.findall(m.group(2)):
                name = SHORT.get(short, short if short in NOTIFY_HINTS else None)
                if name and name not in [n for n, dummy in found]:
                    found.append((name, m.group(1)))
    return found


def peer_refusal(lines, offered_ike=None, offered_esp=None):
    """One sentence that names why the peer refused the tunnel, from the log lines of the attempt, or
    '' when they say nothing about it. offered_*: our configured proposals, named when the peer found
    none of them acceptable."""
    lines = [str(line) for line in lines or []]
    notifies = _notifies(lines)
    received = [m.group(2).strip() for m in (PROPOSALS_RE.search(line) for line in lines) if m and m.group(1) == 'received']
    configured = [m.group(2).strip() for m in (PROPOSALS_RE.search(line) for line in lines)
                  if m and m.group(1) == 'configured']
    parts = []
    for name, exchange in notifies:
        parts.append('the peer answered %s%s: %s' % (name, ' to ' + exchange if exchange else '', NOTIFY_HINTS[name]))
    names = [n for n, dummy in notifies]
    if not notifies:
        sizes = [int(m.group(2)) for m in (PACKET_RE.search(line) for line in lines) if m]
        init_sent = any('IKE_SA_INIT request' in line or 'initiating IKE_SA' in line for line in lines)
        if init_sent and sizes and sizes[-1] == BARE_NOTIFY_BYTES and not any('IKE_AUTH' in line for line in lines):
            parts.append('the peer answered IKE_SA_INIT with a bare %d-byte notify, which is how a responder says '
                         'NO_PROPOSAL_CHOSEN (the log level hid its name): %s'
                         % (BARE_NOTIFY_BYTES, NOTIFY_HINTS['NO_PROPOSAL_CHOSEN']))
            names.append('NO_PROPOSAL_CHOSEN')
    if not parts and not received:
        return ''
    if received or configured:
        # we were the responder: strongSwan logs both sides' proposals
        if received:
            parts.append('the peer offered %s' % '; '.join(received))
        if configured:
            parts.append('we accept %s' % '; '.join(configured))
    elif 'NO_PROPOSAL_CHOSEN' in names and (offered_ike or offered_esp):
        ours = []
        if offered_ike:
            ours.append('IKE ' + ', '.join(offered_ike))
        if offered_esp:
            ours.append('ESP ' + ', '.join(offered_esp))
        parts.append('we offered %s (the peer does not say which it allows: ask its administrator, or read its '
                     'log)' % '; '.join(ours))
    return '; '.join(parts)
