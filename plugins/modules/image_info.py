#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: image_info
short_description: List the images the collection made, with their provenance labels
version_added: 0.1.0
description:
  - Lists images in the local Docker engine with their tags, size, creation time, labels, and the
    containers created from them.
  - By default only images the collection made (those with a C(poscloud.fleet.kind) label) are
    listed; O(all=true) lists every tagged image.
  - Filters by repository name (a glob), store, kind (OS media, lab base image or store snapshot)
    and label values.
extends_documentation_fragment:
  [poscloud.fleet.attributes.info_module, poscloud.fleet.attributes, poscloud.fleet.image_filters, poscloud.fleet.docker_engine]
options:
  all:
    description:
      - Also list tagged images the collection did not make.
    type: bool
    default: false
seealso:
  - module: poscloud.fleet.image_build
    description: Builds the OS media images listed here.
  - module: poscloud.fleet.image_remove
    description: Removes images selected by the same filters.
'''

EXAMPLES = r'''
- name: List every image the collection made
  poscloud.fleet.image_info:
  register: images

- name: Show them as the menu's "List Images" did
  ansible.builtin.debug:
    msg: "{{ images.images | map(attribute='tags') | flatten }}"

- name: Snapshots of one store
  poscloud.fleet.image_info:
    store: "12345678"
    kind: snapshot

- name: OS media built from one suite
  poscloud.fleet.image_info:
    kind: media
    labels:
      poscloud.fleet.suite: bookworm

- name: Everything in the engine whose repository starts with poscloud/
  poscloud.fleet.image_info:
    name: "poscloud/*"
    all: true
'''

RETURN = r'''
images:
  description: The matching images, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Image id.
      type: str
    short_id:
      description: First 12 characters of the id, as C(docker images) shows it.
      type: str
    tags:
      description: The image's references.
      type: list
      elements: str
    repositories:
      description: Repository names of the tags.
      type: list
      elements: str
    created:
      description: Creation time as the engine reports it.
      type: str
    size:
      description: Size in bytes.
      type: int
    labels:
      description: All labels.
      type: dict
    kind:
      description: Value of the C(poscloud.fleet.kind) label.
      type: str
    store:
      description: Value of the C(poscloud.fleet.store) label.
      type: str
    patch_level:
      description: Value of the C(poscloud.fleet.patch-level) label.
      type: str
    input_hash:
      description: Value of the C(poscloud.fleet.input-hash) label.
      type: str
    containers:
      description: Names of containers (running or not) created from the image.
      type: list
      elements: str
    in_use:
      description: Whether any container uses the image.
      type: bool
  sample:
    - id: sha256:921743a2f984...
      short_id: 921743a2f984
      tags: [poscloud/media:latest, poscloud/media:05ea11c2e4f4]
      kind: media
      patch_level: '2026-11-22T02:09:05Z'
      in_use: false
'''

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError, cli_for, docker_argument_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.images import filter_argument_spec, list_images


def main():
    module = fleet_module(dict(
        all=dict(type='bool', default=False),
        **dict(filter_argument_spec(), **docker_argument_spec())
    ))
    docker = cli_for(module)
    try:
        docker.ping()
        images = list_images(docker, module.params)
    except DockerError as e:
        module.fail_json(msg=to_native(e))
    module.exit_json(changed=False, images=images)


if __name__ == '__main__':
    main()
