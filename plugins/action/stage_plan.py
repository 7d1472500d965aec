# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Adds the SHA-256 of the collection's files that shape a staged image (read on the
controller), then runs the stage_plan module on the target."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.poscloud.fleet.plugins.module_utils.common import sha256_bytes

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# name -> files (relative to the collection root) whose content is one staging input.
IMAGE_FILES = {
    'init': ['roles/pos_stage/files/poscloud_init.py'],
}
VPN_HOOK_FILES = {
    'vpn_hook': ['roles/ipsec_vpn/tasks/stage.yml', 'roles/ipsec_vpn/defaults/main.yml'],
}


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def files_digest(root, groups):
    """name -> SHA-256 of the contents of the group's files, one after the other."""
    return dict((name, sha256_bytes(b''.join(read_bytes(os.path.join(root, path)) for path in paths)))
                for name, paths in sorted(groups.items()))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        groups = dict(IMAGE_FILES)
        if boolean(args.get('primary_vpn', False), strict=False):
            groups.update(VPN_HOOK_FILES)
        args['files'] = files_digest(COLLECTION_ROOT, groups)
        result.update(self._execute_module(module_name='poscloud.fleet.stage_plan', module_args=args,
                                           task_vars=task_vars))
        return result
