# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One short summary per IPsec tunnel, for the store header (playbooks/pos_status.yml and the console)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _count(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def tunnel_summary(tunnel):
    """A tunnel as poscloud.fleet.ipsec_tunnel_info returns it -> name, state, up, since, bytes in and
    out (summed over the tunnel's CHILD_SAs of its established IKE SAs), and the one line the header shows."""
    if not isinstance(tunnel, dict) or not tunnel.get('name'):
        raise AnsibleFilterError('tunnel_summary: expects a tunnel of poscloud.fleet.ipsec_tunnel_info, got %r' % (tunnel,))
    name = tunnel['name']
    state = tunnel.get('state') or 'DOWN'
    ike_sas = [s for s in tunnel.get('ike_sas') or [] if isinstance(s, dict)]
    established = [s for s in ike_sas if s.get('state') == 'ESTABLISHED']
    since = ''
    bytes_in = bytes_out = 0
    for ike in established:
        since = since or ike.get('established_since') or ''
        for child in ike.get('child_sas') or []:
            if isinstance(child, dict) and child.get('state') == 'INSTALLED':
                bytes_in += _count(child.get('bytes_in'))
                bytes_out += _count(child.get('bytes_out'))
    up = bool(tunnel.get('up'))
    if state == 'ESTABLISHED':
        line = '%s: ESTABLISHED since %s, %s, %d bytes in, %d bytes out' % (
            name, since or '-', 'CHILD_SA installed' if up else 'no CHILD_SA', bytes_in, bytes_out)
    else:
        line = '%s: %s%s' % (name, state, '' if tunnel.get('loaded', True) else ' (not loaded)')
    return {'name': name, 'state': state, 'up': up, 'since': since, 'bytes_in': bytes_in,
            'bytes_out': bytes_out, 'line': line}


class FilterModule(object):
    def filters(self):
        return {'tunnel_summary': tunnel_summary}
