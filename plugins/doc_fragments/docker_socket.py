# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The options of modules that reach the Docker engine through its API on its unix socket, with the
    Python standard library only (module_utils/image_archive.py, engine_argument_spec)."""

    DOCUMENTATION = r'''
options:
  docker_host:
    description:
      - The engine's unix socket, as C(unix:///PATH).
    type: str
    default: unix:///var/run/docker.sock
  docker_timeout:
    description:
      - Seconds one request to the engine may wait for data before the task fails, from 1 to 86400.
    type: int
    default: 300
notes:
  - The engine is reached through its API on its unix socket with the Python standard library, so the
    host needs Python 3 and the engine's socket, and no C(docker) client, Docker SDK or requests.
requirements:
  - Python 3.8 or newer and a Docker engine (API 1.41 or newer) on a unix socket the remote user may use.
'''
