#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: image_archive
short_description: Export an image to an archive file with its SHA-256, for a copy without a registry
version_added: 0.3.0
description:
  - Writes the archive of one image (what C(docker save) writes) to O(path) and returns the image's
    id and the archive's SHA-256 and size, for M(poscloud.fleet.image_load) to check on the host it
    is copied to.
  - The archive is streamed from the engine into a temporary file in the folder of O(path), hashed
    on the way, synced and renamed to O(path), so O(path) is always either absent or a whole archive.
    The image id is read back from the archive's own manifest and must equal the engine's, and the
    image must not have changed while it was exported; otherwise the archive is removed and the task
    fails.
  - An archive already at O(path) is never trusted; it is written again. O(state=absent) removes the
    archive and the temporary files a killed export left next to it.
extends_documentation_fragment: [poscloud.fleet.attributes, poscloud.fleet.docker_socket]
attributes:
  check_mode:
    support: full
    details: Reports the image id and whether the archive would be written or removed; writes nothing.
  diff_mode:
    support: full
    details: The archive's path and image id before and after.
options:
  name:
    description:
      - The image, as a reference (C(repository:tag)) or an id. Needed for O(state=present).
    type: str
  path:
    description:
      - The archive file. Its folder is made when missing.
    type: path
    required: true
  state:
    description:
      - V(present) writes the archive; V(absent) removes it and any temporary file a killed export left.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The archive holds every layer of the image uncompressed; it needs about the image's size on disk.
  - The role poscloud.fleet.image_transfer uses it to ship images to the cloud hosts without a registry.
seealso:
  - module: poscloud.fleet.image_load
'''

EXAMPLES = r'''
- name: Export the OS media on the build host
  poscloud.fleet.image_archive:
    name: poscloud/media:latest
    path: /var/tmp/poscloud-images/poscloud_media_latest.tar
  register: exported

- name: Remove it once it was shipped
  poscloud.fleet.image_archive:
    path: /var/tmp/poscloud-images/poscloud_media_latest.tar
    state: absent
'''

RETURN = r'''
image_id:
  description: The image's id on the engine (with O(state=present)).
  returned: when state is present
  type: str
  sample: sha256:ce0b929c4d9bb6ff64ebcf328f1899e2812c06b93e0f1ddb64903a6d466fbb3f
image_size:
  description: The image's size as the engine reports it, in bytes; the archive is about as large.
  returned: when state is present
  type: int
  sample: 195069430
checksum:
  description: SHA-256 of the archive written, as hex. None in check mode.
  returned: when state is present
  type: str
  sample: 5f3c8f0a2b1d4e6f5f3c8f0a2b1d4e6f5f3c8f0a2b1d4e6f5f3c8f0a2b1d4e6f
size:
  description: Bytes of the archive written. None in check mode.
  returned: when state is present
  type: int
  sample: 195102720
seconds:
  description: How long the export took.
  returned: when state is present
  type: float
  sample: 2.4
path:
  description: The archive file.
  returned: always
  type: str
  sample: /var/tmp/poscloud-images/poscloud_media_latest.tar
removed:
  description: The files removed (with O(state=absent)).
  returned: when state is absent
  type: list
  elements: str
  sample: [/var/tmp/poscloud-images/poscloud_media_latest.tar]
'''

import os


from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_file
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.image_archive import (
    PART_PREFIX,
    archive_image_id,
    engine_argument_spec,
    engine_for,
    image_id,
    leftover_parts,
    timed,
)


def absent(module, path):
    found = [p for p in [path] + leftover_parts(path) if os.path.lexists(p)]
    if found and not module.check_mode:
        for p in found:
            os.remove(p)
    module.exit_json(changed=bool(found), path=path, removed=found,
                     diff=dict(before=dict(path=path if path in found else None), after=dict(path=None)))


def export(api, name, path):
    """Write the archive; returns (checksum, size, seconds)."""
    result = {}

    def write():
        with atomic_file(path, mode=0o600, prefix=PART_PREFIX + os.path.basename(path) + '.') as tmp:
            with open(tmp, 'wb') as f:
                result['checksum'], result['size'] = api.save(name, f)
            result['archive_id'] = archive_image_id(tmp)

    dummy, seconds = timed(write)
    return result, seconds


def main():
    module = fleet_module(dict(
        name=dict(type='str'),
        path=dict(type='path', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        **engine_argument_spec()
    ), required_if=[('state', 'present', ['name'])])
    p = module.params
    path = os.path.abspath(p['path'])
    if p['state'] == 'absent':
        absent(module, path)
    api = engine_for(module)
    try:
        image = api.inspect_image(p['name'])
        if image is None:
            module.fail_json(msg='there is no image %s on the engine at %s: build it (on the build host, '
                                 'playbooks/build_media.yml) or give the name it has' % (p['name'], api.path), path=path)
        want = image['Id']
        before = dict(path=path if os.path.exists(path) else None, image_id=None)
        after = dict(path=path, image_id=want)
        common = dict(path=path, image_id=want, image_size=image.get('Size'), diff=dict(before=before, after=after))
        if module.check_mode:
            module.exit_json(changed=True, checksum=None, size=None, seconds=0.0, **common)
        result, seconds = export(api, p['name'], path)
        now = image_id(api, p['name'])
        problem = None
        if result['archive_id'] != want:
            problem = 'its archive holds image %s, not %s' % (result['archive_id'], want)
        elif now != want:
            problem = 'it changed while it was exported (it was %s, it is now %s)' % (want, now)
        if problem:
            os.remove(path)
            module.fail_json(msg='%s: %s; the archive was removed, run the task again' % (p['name'], problem), **common)
        module.exit_json(changed=True, checksum=result['checksum'], size=result['size'], seconds=seconds, **common)
    except (DockerError, OSError) as e:
        module.fail_json(msg='exporting %s to %s failed: %s; no archive was left at %s' % (p['name'], path, e, path),
                         path=path)


if __name__ == '__main__':
    main()
