# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """What every module of the collection documents the same way: its author and what its attributes
    mean. Every module lists this fragment and no ``author`` of its own; its own ``attributes``
    entries win over the fragment's, key by key, so it states its check_mode and diff_mode
    ``support`` and ``details``. A module that changes nothing lists ``info_module`` first. A module
    lists its fragments on one line: ``extends_documentation_fragment: [poscloud.fleet.attributes, ...]``."""

    DOCUMENTATION = r'''
options: {}
author:
  - POS Cloud Fleet team (@poscloud-fleet)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    platforms: posix
    support: full
'''

    # A module that changes nothing: it runs the same in check mode and has nothing to diff. Listed
    # before the fragment above (of two fragments, the one listed first wins).
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
'''

    # A module whose action plugin does its work on the controller: listed with
    # ansible.builtin.action_common_attributes.flow, which describes these attributes. The module
    # gives the action's details.
    ACTION_PLUGIN = r'''
options: {}
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
'''
