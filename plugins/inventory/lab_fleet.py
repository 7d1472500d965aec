# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: lab_fleet
short_description: A fleet of N lab stores on this machine, for fleet runs and their benchmark
version_added: 0.1.0
description:
  - Adds I(count) store hosts C(store_<id>) with consecutive store ids from I(first_store_id), each
    with its own cloud net carved from I(supernet) (one /24 per store) and the POS address C(.222)
    in it, in the group I(group) (a child of C(stores) when I(parent) is set).
  - Lab fleet stores are cheap - a POS instance each, no physical server, router or tunnel - so a
    fleet of 50 runs on one machine. Their variables switch off the tunnel and the lab's extra
    networks; anything else comes from group_vars as for any store.
  - The file must be named C(*lab_fleet.yml) or C(*lab_fleet.yaml).
author:
  - POS Cloud Fleet team (@poscloud-fleet)
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [poscloud.fleet.lab_fleet]
    type: str
  count:
    description:
      - Number of stores. Leave it out of the file to let the environment variable size the fleet
        (a value in the file wins over the variable).
    type: int
    default: 3
    env:
      - name: POSCLOUD_LAB_FLEET_SIZE
  first_store_id:
    description: Store id of the first store (8 digits); the others follow it.
    type: int
    default: 90000001
  supernet:
    description: The /16 the stores' cloud nets are carved from, one /24 each (at most 256 stores).
    type: str
    default: 10.200.0.0/16
  group:
    description: Group of the fleet's stores.
    type: str
    default: fleet_stores
  parent:
    description: Group the fleet's group is made a child of (empty for none).
    type: str
    default: stores
'''

EXAMPLES = r'''
# inventories/lab/fleet.lab_fleet.yml: 3 stores, or POSCLOUD_LAB_FLEET_SIZE of them
plugin: poscloud.fleet.lab_fleet

---
# A fixed count (the environment variable is then ignored)
plugin: poscloud.fleet.lab_fleet
count: 5

# 50 stores for one run:
#   POSCLOUD_LAB_FLEET_SIZE=50 ansible-playbook playbooks/fleet_update.yml -l fleet_stores
'''

import ipaddress

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.inventory import BaseInventoryPlugin


def fleet(count, first_store_id, supernet):
    """The stores' hosts and variables: a list of (host name, vars)."""
    try:
        net = ipaddress.ip_network(to_text(supernet))
    except ValueError as e:
        raise ValueError('supernet: %s' % e)
    if net.version != 4 or net.prefixlen > 16:
        raise ValueError('supernet: %s must be an IPv4 network of /16 or larger' % supernet)
    if not 0 <= count <= 256:
        raise ValueError('count: %d stores do not fit; one /24 each, at most 256' % count)
    if first_store_id < 10000000 or first_store_id + count - 1 > 99999999:
        raise ValueError('first_store_id: store ids have 8 digits; %d + %d does not fit' % (first_store_id, count))
    subnets = net.subnets(new_prefix=24)
    out = []
    for i in range(count):
        sub = next(subnets)
        store_id = '%08d' % (first_store_id + i)
        out.append(('store_%s' % store_id, {
            'store_id': store_id,
            'store_name': 'Lab fleet store %d' % (i + 1),
            'store_cloud_net': str(sub),
            'store_pos_ip': str(sub.network_address + 222),
            'store_fleet_lab': True,
            # Cheap: no tunnel, no lab networks or devices beyond the store's own cloud net.
            'pos_stage_primary_vpn': False,
            'pos_instance_capabilities': [],
            'pos_instance_devices': [],
            'pos_instance_extra_networks': [],
            'pos_instance_extra_mounts': [],
            'pos_instance_printer_spool_container': '',
        }))
    return out


class InventoryModule(BaseInventoryPlugin):
    NAME = 'poscloud.fleet.lab_fleet'

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(('lab_fleet.yml', 'lab_fleet.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            stores = fleet(self.get_option('count'), self.get_option('first_store_id'), self.get_option('supernet'))
        except ValueError as e:
            raise AnsibleParserError('%s: %s' % (path, e))
        group = self.get_option('group')
        self.inventory.add_group(group)
        parent = self.get_option('parent')
        if parent:
            self.inventory.add_group(parent)
            self.inventory.add_child(parent, group)
        for name, variables in stores:
            self.inventory.add_host(name, group=group)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
