# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Adds the SHA-256 of the collection's files that shape a staged image (read on the
controller), then runs the stage_plan module on the target. Which files those are is the
caller's: the options input_files and vpn_hook_files (the pos role's pos_stage_input_files and
pos_stage_vpn_hook_files), paths relative to the collection root."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.poscloud.fleet.plugins.module_utils.common import sha256_bytes

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def input_groups(root, option, groups):
    """Check ``groups`` (name -> files relative to ``root``, the value of ``option``) and return it
    with lists of str; ValueError naming the option, the input and the fix otherwise."""
    if not isinstance(groups, dict):
        raise ValueError('%s must be a dictionary of input name -> list of files relative to the collection root' % option)
    checked = {}
    top = os.path.realpath(root)
    for name, paths in groups.items():
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
            raise ValueError('%s.%s must be a non-empty list of files relative to the collection root' % (option, name))
        for path in paths:
            full = os.path.realpath(os.path.join(top, path))
            if os.path.isabs(path) or not full.startswith(top + os.sep):
                raise ValueError('%s.%s: %s is outside the collection; give a path relative to its root, '
                                 'such as roles/pos_stage/files/poscloud_init.py' % (option, name, path))
            if not os.path.isfile(full):
                raise ValueError('%s.%s: %s is not a file of the collection (%s)' % (option, name, path, top))
        checked[str(name)] = list(paths)
    return checked


def files_digest(root, groups):
    """name -> SHA-256 of the contents of the group's files, one after the other."""
    return dict((name, sha256_bytes(b''.join(read_bytes(os.path.join(root, path)) for path in paths)))
                for name, paths in sorted(groups.items()))


class ActionModule(ActionBase):
    # ActionBase's defaults: no files to transfer; the module runs through the host's connection.

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        if 'input_files' not in args:
            result.update(failed=True, msg='input_files is required: the collection files whose content shapes the '
                                           'image, by input name (the pos role\'s pos_stage_input_files)')
            return result
        try:
            groups = input_groups(COLLECTION_ROOT, 'input_files', args['input_files'])
            if boolean(args.get('primary_vpn', False), strict=False):
                groups.update(input_groups(COLLECTION_ROOT, 'vpn_hook_files', args.get('vpn_hook_files') or {}))
        except ValueError as e:
            result.update(failed=True, msg=str(e))
            return result
        args['files'] = files_digest(COLLECTION_ROOT, groups)
        result.update(self._execute_module(module_name='poscloud.fleet.stage_plan', module_args=args,
                                           task_vars=task_vars))
        return result
