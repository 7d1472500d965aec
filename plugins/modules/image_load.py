#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: image_load
short_description: Make an image present with a given id, loaded from an archive whose SHA-256 is checked first
version_added: 0.3.0
description:
  - Makes the image O(name) present on the host's Docker engine with the id O(image_id). When it is
    already there with that id, nothing is done, and no archive is needed.
  - Otherwise the archive O(archive) (written by M(poscloud.fleet.image_archive) and copied here) is
    checked before the engine sees a byte of it, in this order; its SHA-256 must equal O(checksum),
    and the image its manifest names must be O(image_id). Then it is loaded, and O(name) must then
    be O(image_id) on the engine; if not, O(name) is pointed back at the image it named before (or
    removed) and the task fails.
  - An archive that fails a check is removed (with O(remove_archive)), nothing is loaded, and the
    task fails naming the file and what to do. The engine creates an image and its tag only once
    every layer is in, so a load that is cut off leaves no image and no tag.
  - With O(remove_archive) (the default) the archive and the temporary files a killed copy left next
    to it are removed whether the load succeeded or not.
  - Without O(archive), an image that is not present with O(image_id) fails the task, and in check
    mode is reported as a change; so check mode asks whether an archive has to be shipped.
extends_documentation_fragment: [poscloud.fleet.attributes, poscloud.fleet.docker_socket]
attributes:
  check_mode:
    support: full
    details: Reports whether the image would be loaded; reads neither the archive nor anything else.
  diff_mode:
    support: full
    details: The id O(name) has before and after.
options:
  name:
    description:
      - The image's reference, C(repository:tag).
    type: str
    required: true
  image_id:
    description:
      - The id (C(sha256:...)) the image has on the host it came from.
    type: str
    required: true
  archive:
    description:
      - The archive file on this host. Needed when the image is not already present with O(image_id),
        except in check mode.
    type: path
  checksum:
    description:
      - SHA-256 (hex) the archive had when it was written. Needed with O(archive).
    type: str
  remove_archive:
    description:
      - Remove the archive (and temporary files a killed copy left beside it) when the task ends,
        whether the load succeeded or failed.
    type: bool
    default: true
notes:
  - The role poscloud.fleet.image_transfer uses it to ship images to the cloud hosts without a registry.
seealso:
  - module: poscloud.fleet.image_archive
'''

EXAMPLES = r'''
- name: Does the cloud host need the OS media? (asks only)
  poscloud.fleet.image_load:
    name: poscloud/media:latest
    image_id: "{{ exported.image_id }}"
  check_mode: true
  register: media_needed

- name: Load the archive copied here, after its SHA-256 is checked
  poscloud.fleet.image_load:
    name: poscloud/media:latest
    image_id: "{{ exported.image_id }}"
    archive: /var/tmp/poscloud-images/poscloud_media_latest.tar
    checksum: "{{ exported.checksum }}"
  when: media_needed is changed
'''

RETURN = r'''
image_id:
  description: The id O(name) has on the engine when the task ends.
  returned: success
  type: str
  sample: sha256:ce0b929c4d9bb6ff64ebcf328f1899e2812c06b93e0f1ddb64903a6d466fbb3f
previous_id:
  description: The id O(name) had before the task, or None.
  returned: always
  type: str
  sample: null
present:
  description: Whether O(name) was already O(image_id) when the task began (nothing to load).
  returned: always
  type: bool
  sample: false
loaded:
  description: Whether the archive was loaded.
  returned: always
  type: bool
  sample: true
archive_removed:
  description: The files removed (the archive and temporary files beside it).
  returned: always
  type: list
  elements: str
  sample: [/var/tmp/poscloud-images/poscloud_lab-base_latest.tar]
size:
  description: Bytes of the archive loaded.
  returned: when loaded
  type: int
  sample: 195102720
seconds:
  description: How long checking and loading the archive took.
  returned: when loaded
  type: float
  sample: 3.1
engine:
  description: The engine the image was checked on (its id, name and data root).
  returned: success
  type: dict
  sample: {id: "3Q2Z:...", name: cloud01, root_dir: /var/lib/docker}
'''

import os


from ansible_collections.poscloud.fleet.plugins.module_utils.common import sha256_file
from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.image_archive import (
    archive_image_id,
    engine_argument_spec,
    engine_for,
    image_id,
    is_sha256,
    leftover_parts,
    timed,
)


def remove_files(archive):
    """Remove the archive and the temporary files beside it; returns those removed."""
    removed = []
    if archive:
        for p in [archive] + leftover_parts(archive):
            if os.path.lexists(p):
                os.remove(p)
                removed.append(p)
    return removed


def check_archive(p, archive):
    """Why the archive must not be loaded, or None."""
    if not os.path.isfile(archive):
        return 'there is no archive %s on this host' % archive
    have = sha256_file(archive)
    if have != p['checksum']:
        return ('the archive %s has SHA-256 %s, not %s as it had when it was exported: the copy is damaged or was '
                'changed on the way' % (archive, have, p['checksum']))
    holds = archive_image_id(archive)
    if holds != p['image_id']:
        return 'the archive %s holds image %s, not %s' % (archive, holds, p['image_id'])
    return None


def load(api, p, archive, before):
    """Load the checked archive and check the result; returns the id name has after."""
    api.load(archive)
    after = image_id(api, p['name'])
    if after != p['image_id']:
        # Put the name back where it was: the archive held something other than what was asked for.
        if before:
            api.tag(before, p['name'])
        else:
            api.remove(p['name'])
        raise DockerError('after the load %s is %s, not %s; %s was put back'
                          % (p['name'], after, p['image_id'], p['name']))
    return after


def main():
    module = fleet_module(dict(
        name=dict(type='str', required=True),
        image_id=dict(type='str', required=True),
        archive=dict(type='path'),
        checksum=dict(type='str'),
        remove_archive=dict(type='bool', default=True),
        **engine_argument_spec()
    ), required_by=dict(archive=['checksum']))
    p = module.params
    if not p['image_id'].startswith('sha256:') or not is_sha256(p['image_id'][len('sha256:'):]):
        module.fail_json(msg='image_id: %r is not an image id (sha256: and 64 hex digits)' % p['image_id'])
    if p['checksum'] is not None and not is_sha256(p['checksum']):
        module.fail_json(msg='checksum: %r is not a SHA-256 (64 hex digits)' % p['checksum'])
    archive = os.path.abspath(p['archive']) if p['archive'] else None
    api = engine_for(module)
    result = dict(previous_id=None, present=False, loaded=False, archive_removed=[])
    try:
        before = image_id(api, p['name'])
        result.update(previous_id=before, present=before == p['image_id'], engine=api.engine_info())
        diff = dict(before=dict(name=p['name'], image_id=before), after=dict(name=p['name'], image_id=p['image_id']))
        if before == p['image_id']:
            if p['remove_archive'] and not module.check_mode:
                result['archive_removed'] = remove_files(archive)
            module.exit_json(changed=bool(result['archive_removed']), image_id=before, **result)
        if module.check_mode:
            module.exit_json(changed=True, image_id=before, diff=diff, **result)
        if not archive:
            module.fail_json(msg='%s is not on this engine as %s (it is %s) and no archive was given: ship the image '
                                 '(roles/image_transfer)' % (p['name'], p['image_id'], before or 'absent'), **result)
        problem = check_archive(p, archive)
        if problem:
            result['archive_removed'] = remove_files(archive) if p['remove_archive'] else []
            module.fail_json(msg='%s. Nothing was loaded%s. Run the play again to copy the archive anew; if it fails '
                                 'again, check the free space and disk of this host and the archive on the build host.'
                             % (problem, ' and the archive was removed' if result['archive_removed'] else ''), **result)
        size = os.path.getsize(archive)
        after, seconds = timed(load, api, p, archive, before)
        result.update(loaded=True, size=size, seconds=seconds)
    except (DockerError, OSError) as e:
        if p['remove_archive'] and archive and not module.check_mode:
            result['archive_removed'] = remove_files(archive)
        module.fail_json(msg='loading %s on this host failed: %s' % (p['name'], e), **result)
    finally:
        api.close()
    if p['remove_archive']:
        result['archive_removed'] = remove_files(archive)
    module.exit_json(changed=True, image_id=after, diff=diff, **result)


if __name__ == '__main__':
    main()
