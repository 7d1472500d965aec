# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What staging a store depends on, and whether a store's image and instance are current.

One definition, used by the staging role (is a new snapshot needed?) and by fleet updates (is
this store already on the snapshot a staging would produce today?)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poscloud.fleet.plugins.module_utils.common import LABEL_PREFIX, sha256_json

# Bumped when the meaning of the inputs changes, so that every store is restaged once.
STAGE_FORMAT = 2
STAGE_HASH_LABEL = LABEL_PREFIX + 'stage-hash'


def support_users_digest(support_users):
    """SHA-256 of the support users as given: a key the caller left out (None once a module's
    argument spec has filled it in) counts as absent, so the digest does not depend on the spec.
    Only this digest leaves the module; the entries may carry password hashes."""
    users = [dict((k, v) for k, v in sorted(user.items()) if v is not None) for user in (support_users or [])]
    return sha256_json(users)


def stage_inputs(media_image_id, profile_digest, media_sha256, support_users, remove_packages, files):
    """Everything a store's staged image is made from. ``files`` maps names to the SHA-256 of
    the controller-side files that shape the image (the init, the VPN hook)."""
    return {
        'stage_format': STAGE_FORMAT,
        'media_image': media_image_id,
        'profile': profile_digest,
        'media_sha256': media_sha256,
        'support_users': support_users_digest(support_users),
        'remove_packages': sorted(set(remove_packages or [])),
        'files': dict((k, files[k]) for k in sorted(files or {})),
    }


def stage_hash(inputs):
    return sha256_json(inputs)


def newest_with_hash(images, wanted_hash):
    """The newest of the image inspect entries whose stage-hash label is ``wanted_hash``."""
    found = [i for i in images
             if ((i.get('Config') or {}).get('Labels') or {}).get(STAGE_HASH_LABEL) == wanted_hash]
    found.sort(key=lambda i: i.get('Created', ''), reverse=True)
    return found[0] if found else None


def instance_state(container):
    """A compact view of a ``docker container inspect`` entry (or None)."""
    if not container:
        return {'exists': False, 'running': False, 'image': '', 'status': 'absent'}
    state = container.get('State') or {}
    return {
        'exists': True,
        'running': bool(state.get('Running')),
        'image': container.get('Image', ''),
        'status': state.get('Status', ''),
    }


def decide(snapshot, instance, force=False):
    """(needed, current): whether a staging is needed, and whether the instance already runs
    the snapshot of today's inputs."""
    needed = bool(force) or snapshot is None
    current = (not needed) and instance['exists'] and instance['image'] == snapshot['Id']
    return needed, current
