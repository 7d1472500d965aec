#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: store_status
short_description: One store's status row for the fleet report, in one call
version_added: 0.1.0
description:
  - Reads, on the store's cloud host, the store's instance (state, image, dated snapshot tag,
    patch level and application version from the image's labels, held services), the state of its
    IPsec tunnels (from C(swanctl) inside the running instance), its newest backup set with the
    set's manifest digest, and its last cutover's outcome.
  - Used by C(playbooks/fleet_status.yml); one call per store keeps a report over thousands of
    stores cheap.
extends_documentation_fragment: [poscloud.fleet.attributes.info_module, poscloud.fleet.attributes, poscloud.fleet.docker_engine]
options:
  store:
    description: The store id.
    type: str
    required: true
  container:
    description: The store's instance container.
    type: str
    required: true
  tunnels:
    description: Ask the instance's strongSwan for its tunnels (only when the instance runs).
    type: bool
    default: true
  backup_dir:
    description: Folder of the store's backup sets (one folder per set, with C(set.json)).
    type: path
    required: true
  state_dir:
    description: Folder of the store's cutover state and record (C(cutover.json), C(cutover-record.json)).
    type: path
    required: true
seealso:
  - module: poscloud.fleet.ipsec_tunnel_info
    description: Every detail of the tunnels whose state the row sums up.
  - module: poscloud.fleet.stage_plan
    description: Whether the store's instance runs the snapshot a staging would produce today.
'''

EXAMPLES = r'''
- name: Read the store's row of the fleet report
  poscloud.fleet.store_status:
    store: "{{ store_id }}"
    container: "pos_{{ store_id }}"
    backup_dir: "/var/lib/poscloud-fleet/backups/{{ store_id }}"
    state_dir: "/var/lib/poscloud-fleet/stores/{{ store_id }}"
  register: row
'''

RETURN = r'''
store:
  description: The store id.
  returned: always
  type: str
instance:
  description:
    - C(state) (running, exited, absent...), C(image), C(snapshot) (dated tag), C(patch_level), C(app_version),
      C(media_image) (the id of the OS media it was built on), C(held) services.
  returned: always
  type: dict
tunnels:
  description:
    - The instance's tunnels, each with C(name), C(state) (ESTABLISHED, CONNECTING, DOWN...), C(up) (a child SA
      installed), and C(ike_proposal) and C(esp_proposal), the algorithms agreed with the peer (V(null) when none were).
  returned: always
  type: list
  elements: dict
tunnels_error:
  description: Why the tunnels could not be read (empty when they were, or when the instance does not run).
  returned: always
  type: str
backup:
  description: The newest backup set (C(set), C(made), C(manifest_digest), C(files), C(bytes), C(transactions)); empty when there is none.
  returned: always
  type: dict
cutover:
  description: The last cutover (C(outcome), C(finished), C(downtime_seconds), C(reason)); empty when the store was never cut over.
  returned: always
  type: dict
'''

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import (
    DockerError, cli_for, docker_argument_spec)
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.store_status import (
    instance_row, last_backup, last_cutover, tunnels_row)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.runner import DaemonError, Swanctl


def read_tunnels(docker, container):
    """The tunnels row of the charon in ``container``, and '' or why it cannot be read. A command
    that times out raises DockerError."""

    def timed_out(msg):
        raise DockerError(msg)
    swanctl = Swanctl(docker.run_command, prefix=docker.command('exec', '-e', 'LC_ALL=C', container),
                      on_timeout=timed_out, timeout=docker.timeout)
    try:
        conns = swanctl.list_conns()
        sas = swanctl.list_sas()
    except DaemonError as e:
        return [], ' '.join(e.detail.split())[:200]
    return tunnels_row(sas, conns), ''


def main():
    module = fleet_module(dict(
        store=dict(type='str', required=True),
        container=dict(type='str', required=True),
        tunnels=dict(type='bool', default=True),
        backup_dir=dict(type='path', required=True),
        state_dir=dict(type='path', required=True),
        **docker_argument_spec()
    ))
    p = module.params
    docker = cli_for(module)
    try:
        found = docker.inspect_containers([p['container']])
        container = found[0] if found else None
        image = docker.inspect_image(container['Image']) if container else None
        instance = instance_row(container, image)
        tunnels, tunnels_error = [], ''
        if p['tunnels'] and instance['state'] == 'running':
            tunnels, tunnels_error = read_tunnels(docker, p['container'])
    except DockerError as e:
        module.fail_json(msg=to_native(e))
    module.exit_json(changed=False, store=p['store'], instance=instance, tunnels=tunnels, tunnels_error=tunnels_error,
                     backup=last_backup(p['backup_dir']), cutover=last_cutover(p['state_dir']))


if __name__ == '__main__':
    main()
