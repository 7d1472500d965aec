# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift between a tunnel spec and the loaded connection, and the status of a tunnel."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.validate import normalise_id

_AUTH_CLASS = {'psk': 'pre-shared key', 'certificate': 'public key'}
# How strongSwan 5.9 lists the dpd_action values it was given.
_DPD_ACTION_LISTED = {'clear': 'none', 'trap': 'trap', 'restart': 'start'}


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
