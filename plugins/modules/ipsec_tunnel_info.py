#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipsec_tunnel_info
short_description: Status of strongSwan IPsec tunnels from the running charon daemon
version_added: 0.1.0
description:
  - Reads the loaded connections (C(swanctl --list-conns)) and the IKE and CHILD SAs
    (C(swanctl --list-sas)) from charon over vici and returns them per connection, structured.
  - For each connection it tells whether it is loaded and up, and for each IKE SA its state, when it was
    established, the local and remote addresses and identities and the negotiated proposal, and for each
    CHILD_SA its state, mode, SPIs, traffic selectors, proposal and the bytes and packets in and out.
  - Nothing is changed.
extends_documentation_fragment:
  [poscloud.fleet.attributes.info_module, poscloud.fleet.attributes, poscloud.fleet.swanctl, poscloud.fleet.docker_engine]
attributes:
  platform:
    details: Needs strongSwan's C(swanctl) and a running charon with the vici plugin; run as root.
options:
  name:
    description:
      - Only report these connections. Connections that are neither loaded nor have SAs are reported
        with C(loaded=false) and C(state=DOWN).
      - All connections when not given.
    type: list
    elements: str
  container:
    description:
      - Ask the charon of this container instead of the target's own. The module runs on the host of the
        container's Docker engine and runs C(swanctl) with C(docker exec <container>), so nothing but the
        engine's C(docker) client is needed on that host (a cloud host that runs many stores' instances).
      - O(swanctl_path) is then the program inside the container (C(swanctl) on its C(PATH) when not given).
      - The Docker client's options (O(docker_host), O(docker_cli), O(docker_timeout)) and the C(docker)
        client among the requirements apply only with O(container).
    type: str
    version_added: 0.3.0
notes:
  - Times the daemon gives as seconds ago (C(established), C(install_time)) are also returned as UTC
    timestamps (C(established_since), C(installed_since)) computed on the target.
seealso:
  - module: poscloud.fleet.ipsec_tunnel
'''

EXAMPLES = r'''
- name: Status of every tunnel on the cloud instance
  poscloud.fleet.ipsec_tunnel_info:
  register: ipsec

- name: Tunnels that are down
  ansible.builtin.debug:
    msg: "{{ ipsec.tunnels | rejectattr('up') | map(attribute='name') | list }}"

# The store router is not in the inventory: ask the cloud instance about its tunnel to the store.
- name: Status of store 42's tunnel, asked on the cloud instance
  poscloud.fleet.ipsec_tunnel_info:
    name: [store-0042]
  delegate_to: pos-cloud-1
  register: store42

- name: Bytes through the tunnel
  ansible.builtin.debug:
    msg: >-
      {{ store42.tunnels[0].ike_sas | map(attribute='child_sas') | flatten
         | selectattr('state', 'equalto', 'INSTALLED') | map(attribute='bytes_in') | sum }} bytes in

# On a cloud host that runs the stores' POS instances: the module runs on the host and asks the
# charon of one instance through docker exec.
- name: Status of store 42's tunnels, from its instance on this cloud host
  poscloud.fleet.ipsec_tunnel_info:
    container: pos_0042
  register: store42_on_host

- name: Works in check mode too (nothing is changed either way)
  poscloud.fleet.ipsec_tunnel_info:
    name: [store-0042, store-0077]
    vici_uri: unix:///var/run/charon.vici
  check_mode: true
'''

RETURN = r'''
tunnels:
  description: One entry per connection, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Connection name.
      type: str
      sample: store-0042
    loaded:
      description: Whether the daemon has the connection loaded.
      type: bool
    state:
      description: C(ESTABLISHED) when one of its IKE SAs is established, else the state of its first IKE SA
        (C(CONNECTING), C(DELETING), ...), or C(DOWN) when it has none.
      type: str
      sample: ESTABLISHED
    up:
      description: Whether an established IKE SA carries an INSTALLED CHILD_SA of the connection's name.
      type: bool
    config:
      description: The loaded connection (addresses, identities, auth classes, children with their traffic
        selectors), or null when not loaded.
      type: dict
      sample:
        local_addrs: [198.51.100.10]
        remote_addrs: [203.0.113.42]
        version: IKEv2
        local_ids: [pos-cloud.example.com]
        remote_ids: [store-0042.example.com]
        dpd_delay: 30
        children: {store-0042: {mode: TUNNEL, local_ts: [10.201.0.0/24], remote_ts: [10.42.0.0/24]}}
    ike_sas:
      description: The connection's IKE SAs.
      type: list
      elements: dict
      contains:
        uniqueid:
          description: The daemon's id of the IKE SA.
          type: int
        state:
          description: IKE SA state.
          type: str
          sample: ESTABLISHED
        established:
          description: Seconds since the IKE SA was established.
          type: int
          sample: 3600
        established_since:
          description: When the IKE SA was established (UTC).
          type: str
          sample: '2026-11-23T12:35:31Z'
        local_host:
          description: Local address.
          type: str
          sample: 198.51.100.10
        local_port:
          description: Local port (4500 with UDP encapsulation).
          type: int
        local_id:
          description: Local identity.
          type: str
        remote_host:
          description: Remote address.
          type: str
          sample: 203.0.113.42
        remote_port:
          description: Remote port.
          type: int
        remote_id:
          description: Remote identity.
          type: str
        initiator:
          description: Whether this side initiated the IKE SA.
          type: bool
        proposal:
          description: The negotiated IKE proposal.
          type: str
          sample: AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384
        encr_alg:
          description: Encryption algorithm.
          type: str
        encr_keysize:
          description: Key size in bits.
          type: int
        integ_alg:
          description: Integrity algorithm (null with AEAD).
          type: str
        prf_alg:
          description: Pseudo-random function.
          type: str
        dh_group:
          description: Key exchange group.
          type: str
        rekey_time:
          description: Seconds until the IKE SA is rekeyed.
          type: int
        child_sas:
          description: The IKE SA's CHILD SAs.
          type: list
          elements: dict
          contains:
            name:
              description: CHILD_SA name.
              type: str
            uniqueid:
              description: The daemon's id of the CHILD_SA.
              type: int
            state:
              description: CHILD_SA state (C(INSTALLED) when carrying traffic).
              type: str
            mode:
              description: C(TUNNEL) or C(TRANSPORT).
              type: str
            protocol:
              description: C(ESP) or C(AH).
              type: str
            encap:
              description: Whether ESP is encapsulated in UDP.
              type: bool
            spi_in:
              description: Inbound SPI (hex).
              type: str
            spi_out:
              description: Outbound SPI (hex).
              type: str
            proposal:
              description: The negotiated ESP proposal; the DH group appears once the CHILD_SA was rekeyed with PFS.
              type: str
              sample: AES_GCM_16_256/ECP_384
            local_ts:
              description: Local traffic selectors.
              type: list
              elements: str
            remote_ts:
              description: Remote traffic selectors.
              type: list
              elements: str
            bytes_in:
              description: Bytes received.
              type: int
            bytes_out:
              description: Bytes sent.
              type: int
            packets_in:
              description: Packets received.
              type: int
            packets_out:
              description: Packets sent.
              type: int
            install_time:
              description: Seconds since the CHILD_SA was installed.
              type: int
            installed_since:
              description: When the CHILD_SA was installed (UTC).
              type: str
            rekey_time:
              description: Seconds until the CHILD_SA is rekeyed.
              type: int
            life_time:
              description: Seconds until the CHILD_SA expires.
              type: int
connections:
  description: Names of the loaded connections (all of them, whatever O(name) says).
  returned: success
  type: list
  elements: str
  sample: [store-0042, store-0077]
'''


from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import docker_argument_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.host import make_host, make_swanctl
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.runner import DaemonError, swanctl_argument_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.status import tunnel_status


def main():
    module = fleet_module(dict(
        name=dict(type='list', elements='str'),
        container=dict(type='str'),
        **dict(swanctl_argument_spec(), **docker_argument_spec())
    ))
    p = module.params
    host = make_host(module)
    swanctl = make_swanctl(module, host, None, lambda msg: module.fail_json(msg=msg))
    try:
        conns = swanctl.list_conns()
        sas = swanctl.list_sas()
    except DaemonError as e:
        module.fail_json(msg='%s. Is the strongSwan daemon running%s, and is vici_uri right?'
                             % (e, ' in container %s' % p['container'] if p['container'] else ''))
    names = set(conns) | set(sa['name'] for sa in sas)
    if p['name']:
        names = set(p['name'])
    tunnels = [tunnel_status(name, sas, conns.get(name)) for name in sorted(names)]
    module.exit_json(changed=False, tunnels=tunnels, connections=sorted(conns))


if __name__ == '__main__':
    main()
