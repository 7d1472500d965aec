# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""swanctl's ``--pretty`` output (``--list-sas``, ``--list-conns``) as plain data."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from datetime import datetime, timezone

from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.validate import dedupe

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


def _events(text, event):
    """(name, section) of the sections of the ``event`` messages in swanctl's pretty output."""
    for msg, body in parse_vici_pretty(text):
        if msg == event:
            for name, section in body.items():
                if isinstance(section, dict):
                    yield name, section


def parse_list_sas(text, now=None):
    """Parse ``swanctl --list-sas --pretty`` into a list of IKE SAs, each with its child SAs.

    ``now`` (epoch seconds) turns the relative times into ``established_since`` and
    ``installed_since`` (ISO 8601 UTC).
    """
    sas = []
    for name, sa in _events(text, 'list-sa event'):
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
    for name, c in _events(text, 'list-conn event'):
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
            'local_ts': dedupe([t for ch in children.values() for t in ch['local_ts']]),
            'remote_ts': dedupe([t for ch in children.values() for t in ch['remote_ts']]),
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
