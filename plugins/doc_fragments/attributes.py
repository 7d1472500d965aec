# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The pieces every module documents the same way: its author and what each attribute means.
AUTHOR = r'''
options: {}
author:
  - POS Cloud Fleet team (@poscloud-fleet)
attributes:
'''
CHECK_MODE = r'''
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
'''
DIFF_MODE = r'''
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
'''
PLATFORM = r'''
  platform:
    description: Target OS/families that can be operated against.
    platforms: posix
    support: full
'''
# What a module that changes nothing supports: it runs the same in check mode and has nothing to diff.
READS_ONLY = r'''
    support: full
    details: The module only reads.
'''
NO_DIFF = r'''
    support: none
'''


def fragment(*parts):
    """The YAML of a fragment made of ``parts``, in order."""
    return ''.join(part.strip('\n') + '\n' for part in parts)


# A module that changes something: it states its own check_mode and diff_mode support.
CHANGES = fragment(AUTHOR, CHECK_MODE, DIFF_MODE, PLATFORM)
# A module that changes nothing.
READS = fragment(AUTHOR, CHECK_MODE, READS_ONLY, DIFF_MODE, NO_DIFF, PLATFORM)


class ModuleDocFragment(object):
    """What every module of the collection documents the same way: its author and its attributes.
    A module lists one of these (and no ``author`` of its own); its own ``attributes`` entries win
    over the fragment's, key by key, so it states its ``support`` and ``details`` where they differ.
    The Docker modules list poscloud.fleet.docker_engine (or its info_module part) instead, which
    holds the same and the options of the Docker client."""

    DOCUMENTATION = CHANGES

    INFO_MODULE = READS
