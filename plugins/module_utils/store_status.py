# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One store's status row for the fleet report, from what the cloud host keeps: the instance
container and its image's labels, the tunnels' SAs, the newest backup set, the cutover record."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.poscloud.fleet.plugins.module_utils.common import LABEL_PREFIX
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.status import tunnel_status

STATE_MOUNT = '/var/lib/poscloud'


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (IOError, OSError, ValueError):
        return None


def snapshot_tag(tags):
    """The dated tag of a snapshot (not 'latest'), or ''."""
    dated = sorted(t for t in (tags or []) if not t.endswith(':latest'))
    return dated[-1] if dated else ''


def instance_row(container, image):
    if not container:
        return {'state': 'absent', 'image': '', 'snapshot': '', 'patch_level': '', 'app_version': '', 'media_image': '',
                'held': []}
    state = container.get('State') or {}
    labels = ((image or {}).get('Config') or {}).get('Labels') or {}
    held = []
    for m in container.get('Mounts') or []:
        if m.get('Destination') == STATE_MOUNT and m.get('Source'):
            hold_dir = os.path.join(m['Source'], 'hold')
            if os.path.isdir(hold_dir):
                held = sorted(os.listdir(hold_dir))
    return {
        'state': state.get('Status', 'unknown'),
        'image': container.get('Image', ''),
        'snapshot': snapshot_tag((image or {}).get('RepoTags')),
        'patch_level': labels.get(LABEL_PREFIX + 'patch-level', 'unknown'),
        'app_version': labels.get(LABEL_PREFIX + 'app-version', ''),
        'media_image': labels.get(LABEL_PREFIX + 'media-image', ''),
        'held': held,
    }


def last_backup(backup_dir):
    """The newest complete backup set (a folder with set.json) in backup_dir, or {}. The sets a
    restore keeps of the data it replaced (<time>-pre-restore) and unfinished sets do not count."""
    try:
        names = sorted(os.listdir(backup_dir), reverse=True)
    except OSError:
        return {}
    for name in names:
        if name.startswith('.') or name.endswith('-pre-restore'):
            continue
        meta = read_json(os.path.join(backup_dir, name, 'set.json'))
        if meta:
            return {'set': name, 'made': meta.get('made', ''), 'manifest_digest': meta.get('manifest_digest', ''),
                    'files': meta.get('files', 0), 'bytes': meta.get('bytes', 0),
                    'transactions': (meta.get('summary') or {}).get('transactions')}
    return {}


def last_cutover(store_dir):
    """The store's cutover: the record of a finished one, else the state of one under way, or {}."""
    record = read_json(os.path.join(store_dir, 'cutover-record.json'))
    state = read_json(os.path.join(store_dir, 'cutover.json'))
    if record and (not state or state.get('outcome') == record.get('outcome')):
        return {'outcome': record.get('outcome', ''), 'finished': record.get('finished', ''),
                'downtime_seconds': record.get('downtime_seconds'), 'reason': record.get('reason', '')}
    if state:
        return {'outcome': state.get('outcome') or 'in progress (%s)' % state.get('phase', '?'),
                'finished': state.get('finished', ''), 'downtime_seconds': None, 'reason': state.get('reason', '')}
    return {}


def tunnels_row(sas, conns):
    """[{name, state, up, ike_proposal, esp_proposal}] for the loaded connections and any SA, from
    parsed swanctl output. The proposals are what was agreed with the peer (of the established IKE
    SA and its installed child SA), None when nothing was."""
    out = []
    for name in sorted(set(conns) | set(sa['name'] for sa in sas)):
        t = tunnel_status(name, sas, conns.get(name))
        ike = [sa for sa in t['ike_sas'] if sa.get('state') == 'ESTABLISHED'] or t['ike_sas']
        ike = ike[0] if ike else {}
        children = [c for c in ike.get('child_sas') or [] if c.get('state') == 'INSTALLED']
        out.append({'name': name, 'state': t['state'], 'up': t['up'], 'ike_proposal': ike.get('proposal'),
                    'esp_proposal': children[0].get('proposal') if children else None})
    return out
