# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Attribute blocks the modules share. List them before ansible.builtin.action_common_attributes, which
    adds the descriptions (of two fragments, the one listed first wins). A module's own ``attributes``
    entries win over both, so it adds its ``details`` or says where it differs."""

    # The platform of a module that runs on any POSIX target.
    DOCUMENTATION = r'''
options: {}
attributes:
  platform:
    platforms: posix
    support: full
'''

    # A module that changes nothing: it runs the same in check mode and has nothing to diff.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
'''
