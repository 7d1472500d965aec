#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: stage_plan
short_description: Work out a store's staging inputs and whether its image and instance are current
version_added: 0.1.0
description:
  - Computes what a store's staged image is made from (the OS media image, the application
    profile, the support users, the packages removed, the collection's own init and VPN hook) and
    the hash of those inputs, then looks for a snapshot of the store labelled with that hash.
  - Answers in one call whether staging is needed (RV(needed)) and whether the store's instance
    already runs the snapshot a staging would produce today (RV(current)). The staging role uses it
    to skip work; fleet updates use it as their no-op fast path, one call per store.
  - The action plugin of the same name adds the SHA-256 of the collection's files that shape the
    image (O(files)), those named in O(input_files) and, with O(primary_vpn), O(vpn_hook_files);
    they are read on the controller.
  - It reads the Docker Engine API on its unix socket (C(docker_host) unset or C(unix://...)), a
    millisecond per request, and the C(docker) CLI for any other C(docker_host).
extends_documentation_fragment: [poscloud.fleet.attributes.info_module, poscloud.fleet.attributes, poscloud.fleet.docker_engine]
options:
  store:
    description: The store id (the C(poscloud.fleet.store) label of its snapshots).
    type: str
    required: true
  profile:
    description: The application profile as loaded from its file; it is checked and its digest is an input.
    type: dict
    required: true
  media_image:
    description: The OS media image the store is staged on, for example C(poscloud/media:latest).
    type: str
    required: true
  repository:
    description: The store's image repository; its C(latest) tag is what the instance runs.
    type: str
    required: true
  container:
    description: The store's instance container, to tell whether it runs the current snapshot.
    type: str
  support_users:
    description:
      - The support users staged into the image (only their hash is an input and returned).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: User name.
        type: str
        required: true
      ssh_keys:
        description: Public keys allowed to log in.
        type: list
        elements: str
      sudo:
        description: Whether the user may use sudo.
        type: bool
      password_hash:
        description:
          - A crypt(3) password hash, from vault. It is kept out of every log and result (C(no_log)).
        type: str
  remove_packages:
    description: Packages removed from the image at staging.
    type: list
    elements: str
    default: []
  primary_vpn:
    description: Whether the store's primary VPN is added at staging (its hook's files become inputs).
    type: bool
    default: false
  input_files:
    description:
      - The collection's files whose content shapes the image, by input name, each a list of paths
        relative to the collection root, read on the controller by the action plugin. The
        C(poscloud.fleet.pos) role's C(pos_stage_input_files) holds the collection's list; give
        that, so that every caller computes the same staging hash.
      - A path outside the collection, or one that is not a file, fails naming the input.
    type: dict
    required: true
  vpn_hook_files:
    description:
      - Files added to O(input_files) when O(primary_vpn) is set (the C(poscloud.fleet.pos) role's
        C(pos_stage_vpn_hook_files)).
    type: dict
    default: {}
  files:
    description:
      - SHA-256 of the files of O(input_files) (and O(vpn_hook_files)), by input name. Set by the
        action plugin; do not set it by hand.
    type: dict
    default: {}
  force:
    description: Report staging as needed even when a snapshot of these inputs exists.
    type: bool
    default: false
seealso:
  - module: poscloud.fleet.image_snapshot
    description: Commits a store's staged instance into the snapshot this module looks for.
  - module: poscloud.fleet.image_info
    description: Lists the store's snapshots with their labels.
'''

EXAMPLES = r'''
- name: Is the store already on today's snapshot?
  poscloud.fleet.stage_plan:
    store: "{{ store_id }}"
    profile: "{{ lookup('ansible.builtin.file', 'profiles/demo.yml') | from_yaml }}"
    media_image: poscloud/media:latest
    repository: "poscloud/store-{{ store_id }}"
    container: "pos_{{ store_id }}"
    input_files:
      init: [roles/pos_stage/files/poscloud_init.py]
  register: plan

- name: Stage only when needed
  ansible.builtin.include_role:
    name: poscloud.fleet.pos_stage
  when: plan.needed
'''

RETURN = r'''
inputs:
  description: The staging inputs (hashes and ids).
  returned: always
  type: dict
stage_hash:
  description: SHA-256 of the inputs; snapshots carry it in the C(poscloud.fleet.stage-hash) label.
  returned: always
  type: str
profile_digest:
  description: Digest of the checked profile.
  returned: always
  type: str
media:
  description: The OS media image, with C(exists), C(id), C(labels) and C(patch_level).
  returned: always
  type: dict
snapshot:
  description: The newest snapshot of these inputs (C(id), C(tags), C(patch_level)), empty when there is none.
  returned: always
  type: dict
latest:
  description: Image id the repository's C(latest) tag points at (empty when there is none).
  returned: always
  type: str
instance:
  description: The instance container (C(exists), C(running), C(image), C(status)); absent when O(container) is not set.
  returned: when container is set
  type: dict
needed:
  description: Whether staging is needed (no snapshot of these inputs, or O(force)).
  returned: always
  type: bool
current:
  description: Whether the instance runs the snapshot of these inputs and C(latest) points at it.
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_api import reader
from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError, docker_argument_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.common import LABEL_PREFIX
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import exit_with
from ansible_collections.poscloud.fleet.plugins.module_utils.profile import (
    ProfileError, profile_digest, validate_profile)
from ansible_collections.poscloud.fleet.plugins.module_utils.stage import (
    STAGE_HASH_LABEL, decide, instance_state, newest_with_hash, stage_hash, stage_inputs)


def plan(docker, p):
    profile = validate_profile(p['profile'])
    digest = profile_digest(profile)
    media = docker.inspect_image(p['media_image'])
    media_labels = ((media or {}).get('Config') or {}).get('Labels') or {}
    inputs = stage_inputs(media['Id'] if media else '', digest, profile['media']['sha256'],
                          p['support_users'], p['remove_packages'], p['files'])
    wanted = stage_hash(inputs)
    candidates = docker.inspect_images(docker.image_ids(filters=[
        'label=%sstore=%s' % (LABEL_PREFIX, p['store']), 'label=%s=%s' % (STAGE_HASH_LABEL, wanted)]))
    snapshot = newest_with_hash(candidates, wanted) if media else None
    latest = docker.inspect_image(p['repository'] + ':latest')
    result = dict(
        inputs=inputs, stage_hash=wanted, profile_digest=digest,
        media=dict(exists=media is not None, id=(media or {}).get('Id', ''), labels=media_labels,
                   patch_level=media_labels.get(LABEL_PREFIX + 'patch-level', 'unknown')),
        snapshot={} if snapshot is None else dict(
            id=snapshot['Id'], tags=sorted(snapshot.get('RepoTags') or []),
            patch_level=((snapshot.get('Config') or {}).get('Labels') or {}).get(LABEL_PREFIX + 'patch-level', 'unknown')),
        latest=(latest or {}).get('Id', ''),
    )
    instance = {'exists': False, 'running': False, 'image': '', 'status': 'absent'}
    if p['container']:
        found = docker.inspect_containers([p['container']])
        instance = instance_state(found[0] if found else None)
        result['instance'] = instance
    needed, current = decide(snapshot, instance, p['force'])
    result.update(needed=needed, current=bool(p['container']) and current and result['latest'] == snapshot['Id'])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            store=dict(type='str', required=True),
            profile=dict(type='dict', required=True),
            media_image=dict(type='str', required=True),
            repository=dict(type='str', required=True),
            container=dict(type='str'),
            support_users=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True),
                ssh_keys=dict(type='list', elements='str', no_log=False),
                sudo=dict(type='bool'),
                password_hash=dict(type='str', no_log=True),
            )),
            remove_packages=dict(type='list', elements='str', default=[]),
            primary_vpn=dict(type='bool', default=False),
            input_files=dict(type='dict', required=True),
            vpn_hook_files=dict(type='dict', default={}),
            files=dict(type='dict', default={}),
            force=dict(type='bool', default=False),
            **docker_argument_spec()
        ),
        supports_check_mode=True,
    )
    p = module.params
    docker = reader(module, module.run_command)
    exit_with(module, lambda: plan(docker, p), [(ProfileError, 'profile %s: ' % (p['profile'] or {}).get('name', '?')),
                                                (DockerError, '')], changed=False)


if __name__ == '__main__':
    main()
