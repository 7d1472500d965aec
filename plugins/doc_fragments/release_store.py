# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Where a machine's software releases are recorded (module_utils/release.py, store_argument_spec):
    software_release changes them, software_release_info reads them."""

    DOCUMENTATION = r'''
options:
  root:
    description:
      - The machine's root folder. V(/) for the machine itself; the mount point of its image to read or
        change an image offline (symlinks are then followed inside the image).
    type: path
    default: /
  store:
    description:
      - The store's folder on the machine (under O(root)).
    type: path
    default: /var/lib/poscloud/releases
'''
