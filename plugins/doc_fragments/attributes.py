# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """What every module of the collection documents the same way: its author and its attributes.
    A module lists one of these (and no ``author`` of its own); its own ``attributes`` entries win
    over the fragment's, key by key, so it states its ``support`` and ``details`` where they differ."""

    # A module that changes something: it states its own check_mode and diff_mode support.
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

    # A module that changes nothing: it runs the same in check mode and has nothing to diff.
    INFO_MODULE = r'''
options: {}
author:
  - POS Cloud Fleet team (@poscloud-fleet)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    platforms: posix
    support: full
'''
