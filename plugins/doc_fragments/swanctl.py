# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """How the strongSwan modules reach charon (module_utils/swanctl/runner.py, swanctl_argument_spec):
    ipsec_tunnel and ipsec_tunnel_info."""

    DOCUMENTATION = r'''
options:
  swanctl_path:
    description:
      - The C(swanctl) program. Searched on C(PATH) and in C(/usr/sbin) when not given.
    type: path
  vici_uri:
    description:
      - URI of charon's vici socket, for example C(unix:///var/run/charon.vici) (swanctl's default when
        not given). Needed when charon runs with another C(charon.plugins.vici.socket).
    type: str
'''
