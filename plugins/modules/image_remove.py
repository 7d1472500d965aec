#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: image_remove
short_description: Remove images the collection made, sparing those in use and stores' newest snapshots unless forced
version_added: 0.1.0
description:
  - Removes images, with all their tags, selected by reference or id, or by the same filters as
    M(poscloud.fleet.image_info) (repository glob, store, kind, labels).
  - Guard. An image that a container (running or stopped) was created from, or that is the newest
    snapshot of a store, is not removed unless O(force=true). When any selected image is guarded,
    nothing at all is removed and the module fails, naming each guarded image and why.
  - Only images with a C(poscloud.fleet.kind) label can be selected by filters; images given by
    reference or id in O(images) can be any image.
extends_documentation_fragment: [poscloud.fleet.attributes, poscloud.fleet.image_filters, poscloud.fleet.docker_engine]
attributes:
  check_mode:
    support: full
    details: Reports what would be removed, and fails the same way on guarded images.
  diff_mode:
    support: full
    details: Lists the references before and after.
options:
  images:
    description:
      - References (C(repository:tag)) or ids of images to remove. A reference that does not exist is
        skipped (the image is already absent).
    type: list
    elements: str
    default: []
  skip_guarded:
    description:
      - Remove the selected images that are not guarded and leave the guarded ones, instead of failing
        and removing nothing. For retention jobs, where an image in use is simply kept.
    type: bool
    default: false
  force:
    description:
      - Remove guarded images too. Images used by a running container still cannot be removed;
        stop and remove the container first.
    type: bool
    default: false
notes:
  - At least one of O(images), O(name), O(store), O(kind) or O(labels) must be given, so that a
    task with no selector cannot remove every image.
seealso:
  - module: poscloud.fleet.image_info
  - module: poscloud.fleet.image_build
'''

EXAMPLES = r'''
- name: Delete an old OS media image (the seed's "Delete Image(s)")
  poscloud.fleet.image_remove:
    images:
      - poscloud/media:05ea11c2e4f4

- name: Delete every snapshot of a closed store, including its newest
  poscloud.fleet.image_remove:
    store: "12345678"
    kind: snapshot
    force: true

- name: See what would go, without removing anything
  poscloud.fleet.image_remove:
    name: "poscloud/media*"
  check_mode: true
  register: would
'''

RETURN = r'''
removed:
  description: The images removed (or that would be, in check mode), each with id and tags.
  returned: always
  type: list
  elements: dict
  sample: [{id: sha256:921743a2f984..., tags: [poscloud/media:05ea11c2e4f4]}]
guarded:
  description: Selected images that the guard protects, each with id, tags and reason.
  returned: always
  type: list
  elements: dict
  sample: [{id: sha256:1b69b029b807..., tags: [store/12345678:latest], reason: used by container pos_12345678}]
'''

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError, cli_for, docker_argument_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.images import (
    describe,
    filter_argument_spec,
    list_images,
    removal_blockers,
    summarize,
)


def main():
    module = fleet_module(dict(
        images=dict(type='list', elements='str', default=[]),
        force=dict(type='bool', default=False),
        skip_guarded=dict(type='bool', default=False),
        **dict(filter_argument_spec(), **docker_argument_spec())
    ))
    p = module.params
    if not (p['images'] or p['name'] or p['store'] or p['kind'] or p['labels']):
        module.fail_json(msg='give images, name, store, kind or labels to select what to remove; '
                             'a task without a selector would remove every image')
    docker = cli_for(module)
    try:
        docker.ping()
        managed = list_images(docker, {})
        selected = {}
        if p['name'] or p['store'] or p['kind'] or p['labels']:
            for s in list_images(docker, p):
                selected[s['id']] = s
        if p['images']:
            by_image = docker.containers_by_image()
            for image in docker.inspect_images(p['images']):
                selected.setdefault(image['Id'], summarize(image, by_image))
    except DockerError as e:
        module.fail_json(msg=to_native(e))

    chosen = sorted(selected.values(), key=lambda s: s['created'])
    blockers = removal_blockers(chosen, managed)
    guarded = [{'id': s['id'], 'tags': s['tags'], 'reason': reason} for s, reason in blockers]
    if guarded and not p['force'] and p['skip_guarded']:
        guarded_ids = set(g['id'] for g in guarded)
        chosen = [s for s in chosen if s['id'] not in guarded_ids]
    elif guarded and not p['force']:
        module.fail_json(
            msg='not removing anything: %s; set force=true to remove them anyway' % '; '.join(
                '%s is %s' % (describe(s), reason) for s, reason in blockers),
            removed=[], guarded=guarded, changed=False)

    removed = [{'id': s['id'], 'tags': s['tags']} for s in chosen]
    before = sorted(t for s in chosen for t in (s['tags'] or [s['short_id']]))
    result = dict(changed=bool(removed), removed=removed, guarded=guarded,
                  diff={'before': {'images': before}, 'after': {'images': []}})
    if module.check_mode or not removed:
        module.exit_json(**result)

    for s in chosen:
        try:
            if s['tags']:
                docker.run(['image', 'rm'] + s['tags'] + (['--force'] if p['force'] else []))
            if docker.inspect_image(s['id']) is not None:
                docker.remove_image(s['id'], force=p['force'])
        except DockerError as e:
            done = removed[:chosen.index(s)]
            module.fail_json(msg='removing %s failed: %s' % (describe(s), to_native(e)),
                             removed=done, guarded=guarded, changed=bool(done))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
