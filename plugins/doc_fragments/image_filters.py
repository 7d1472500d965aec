# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The filters that select images the collection made (module_utils/images.py: filter_argument_spec,
    list_images): image_info lists what they select, image_remove removes it."""

    DOCUMENTATION = r'''
options:
  name:
    description:
      - Glob matched against repository names and full references, for example C(poscloud/*) or
        C(poscloud/media:latest).
    type: str
  store:
    description:
      - Images of this store (label C(poscloud.fleet.store)).
    type: str
  kind:
    description:
      - Images of this kind (label C(poscloud.fleet.kind)).
    type: str
    choices: [media, lab, snapshot]
  labels:
    description:
      - Images whose labels have these values.
    type: dict
    default: {}
'''
