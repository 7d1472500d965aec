#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pos_profile
short_description: Validate a POS application profile and a store id
version_added: 0.1.0
description:
  - Checks an application profile (the data that describes how a POS product is installed, run,
    health-checked and migrated) and returns it normalised, with a digest that stands for it in
    staging's input hash.
  - Checks the store id against the store id pattern.
  - Every error names the field and says how to fix it. The module changes nothing.
  - The profile format is described in the collection's C(docs/profiles.md).
extends_documentation_fragment: [poscloud.fleet.attributes.info_module, poscloud.fleet.attributes]
attributes:
  check_mode:
    details: The module only validates.
options:
  profile:
    description: The profile, as loaded from its vars file.
    type: dict
    required: true
  store_id:
    description: The store id to check.
    type: str
  store_id_pattern:
    description: Regular expression a store id must match.
    type: str
    default: '^[0-9]{8}$'
  volume_prefix:
    description:
      - The start of the names of the store's data volumes, for example V(pos_12345678). When given, the
        module returns RV(volumes), the name of the Docker volume that keeps each of the profile's
        data paths.
      - A letter or digit, then letters, digits, V(_), V(.) or V(-).
    type: str
    version_added: 0.3.0
'''

EXAMPLES = r'''
- name: Load and check the demo profile for store 12345678
  poscloud.fleet.pos_profile:
    profile: "{{ lookup('ansible.builtin.file', 'profiles/demo.yml') | from_yaml }}"
    store_id: "12345678"
    volume_prefix: pos_12345678
  register: checked

- name: Use the normalised profile and the data volumes' names
  ansible.builtin.debug:
    msg: "{{ checked.profile.name }} {{ checked.profile.version }} keeps its data in {{ checked.volumes }}"
'''

RETURN = r'''
profile:
  description: The normalised profile.
  returned: success
  type: dict
digest:
  description: SHA-256 of the normalised profile.
  returned: success
  type: str
store_id:
  description: The checked store id.
  returned: when O(store_id) is given
  type: str
volumes:
  description:
    - Each data path of the profile and the name of the Docker volume that keeps it,
      O(volume_prefix) then V(_) then the path with every run of characters other than letters and
      digits made one V(_) (no V(_) at either end).
  returned: when O(volume_prefix) is given
  type: dict
  sample: {"/var/lib/pos": "pos_12345678_var_lib_pos"}
'''

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.profile import (
    ProfileError,
    data_volumes,
    profile_digest,
    validate_profile,
    validate_store_id,
)


def main():
    module = fleet_module(dict(
        profile=dict(type='dict', required=True),
        store_id=dict(type='str'),
        store_id_pattern=dict(type='str', default='^[0-9]{8}$'),
        volume_prefix=dict(type='str'),
    ))
    p = module.params
    result = {'changed': False}
    try:
        if p['store_id'] is not None:
            result['store_id'] = validate_store_id(p['store_id'], p['store_id_pattern'])
        profile = validate_profile(p['profile'])
        if p['volume_prefix'] is not None:
            result['volumes'] = data_volumes(profile['data_paths'], p['volume_prefix'])
    except ProfileError as e:
        module.fail_json(msg='%s%s' % ('' if str(e).startswith(('store_id', 'volume_prefix')) else 'profile %s: ' % (
            (p['profile'] or {}).get('name', '?')), to_native(e)), **result)
    result.update(profile=profile, digest=profile_digest(profile))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
