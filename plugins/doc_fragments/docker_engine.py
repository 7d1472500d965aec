# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The options of the modules that run the engine's command line client. A Docker module lists
    # poscloud.fleet.attributes (the author, what each attribute means) before it.
    DOCUMENTATION = r'''
options:
  docker_host:
    description:
      - The Docker engine to talk to, as the C(docker) command line's C(--host) takes it
        (for example C(unix:///var/run/docker.sock)).
      - When not set, the C(docker) client's own default (C(DOCKER_HOST) or the local socket) is used.
    type: str
  docker_cli:
    description:
      - The C(docker) client to run. The modules use the engine's command line, so nothing but the
        client is needed on the target.
    type: path
    default: docker
  docker_timeout:
    description:
      - Seconds one C(docker) command or Engine API request may take before it is stopped and the
        task fails with a message that says so, from 1 to 86400.
      - Commands that copy whole images (commit, save, load, import, cp) may take twelve times as long.
    type: int
    default: 300
requirements:
  - The C(docker) command line client on the target, talking to a Docker engine (API 1.41 or newer).
'''
