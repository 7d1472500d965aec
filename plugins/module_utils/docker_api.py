# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small read-only client of the Docker Engine API over its unix socket.

Modules that only read (and run once per store, thousands of times in a fleet run) use it instead
of the docker CLI: an HTTP request on the socket costs a millisecond, a CLI process tens. It has
the read methods of DockerCLI that those modules need, with the same results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket

from http.client import HTTPConnection
from urllib.parse import quote, urlencode

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import (
    DEFAULT_TIMEOUT,
    DockerError,
    check_timeout,
    timeout_message,
)

DEFAULT_SOCKET = '/var/run/docker.sock'


class _UnixConnection(HTTPConnection):
    def __init__(self, path, timeout=DEFAULT_TIMEOUT):
        super(_UnixConnection, self).__init__('localhost', timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def socket_path(docker_host):
    """The engine's unix socket for a docker_host value, or None when it is not a unix socket."""
    if not docker_host:
        return DEFAULT_SOCKET
    if docker_host.startswith('unix://'):
        return docker_host[len('unix://'):]
    return None


def label_filters(filters):
    """CLI-style filters ('label=k=v') as the API's filters argument."""
    out = {}
    for f in filters or []:
        key, _sep, value = f.partition('=')
        out.setdefault(key, []).append(value)
    return out


class DockerAPI(object):
    def __init__(self, path=DEFAULT_SOCKET, timeout=DEFAULT_TIMEOUT):
        self.path = path
        self.timeout = check_timeout(timeout)
        self._conn = None

    def _get(self, url):
        """(status, parsed JSON body) of a GET; one connection is kept for all requests."""
        for attempt in (1, 2):
            try:
                if self._conn is None:
                    self._conn = _UnixConnection(self.path, self.timeout)
                self._conn.request('GET', url)
                resp = self._conn.getresponse()
                body = resp.read()
                break
            except socket.timeout:
                # Not retried: a second wait would only double the time before the error.
                self.close()
                raise DockerError(timeout_message('Docker engine API GET %s on %s' % (url, self.path), self.timeout))
            except (socket.error, OSError) as e:
                self._conn = None
                if attempt == 2:
                    raise DockerError(
                        'the Docker engine does not answer on %s (%s); start it, for example with '
                        "'make setup' or 'systemctl start docker'" % (self.path, e))
        try:
            data = json.loads(body.decode('utf-8')) if body else None
        except ValueError:
            raise DockerError('Docker engine API GET %s answered %s with a body that is not JSON: %r'
                              % (url, resp.status, body[:200]))
        if resp.status >= 400 and resp.status != 404:
            raise DockerError('Docker engine API GET %s failed (%s): %s' % (
                url, resp.status, (data or {}).get('message', '') if isinstance(data, dict) else data))
        return resp.status, data

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def ping(self):
        status, data = self._get('/version')
        return (data or {}).get('Version', '')

    def image_ids(self, filters=None, all_images=False):
        query = {'filters': json.dumps(label_filters(filters))}
        if all_images:
            query['all'] = '1'
        status, data = self._get('/images/json?' + urlencode(query))
        ids = []
        for image in data or []:
            if image['Id'] not in ids:
                ids.append(image['Id'])
        return ids

    def inspect_image(self, ref):
        status, data = self._get('/images/%s/json' % quote(ref, safe=''))
        return None if status == 404 else data

    def inspect_images(self, refs):
        return [i for i in (self.inspect_image(r) for r in refs) if i is not None]

    def inspect_containers(self, refs):
        found = []
        for ref in refs:
            status, data = self._get('/containers/%s/json' % quote(ref, safe=''))
            if status != 404:
                found.append(data)
        return found


def reader(module, run_cli):
    """The fastest reader for a module's docker_host: the API on a unix socket, else the CLI."""
    from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerCLI, module_timeout
    path = socket_path(module.params.get('docker_host'))
    timeout = module_timeout(module)
    if path:
        return DockerAPI(path, timeout=timeout)
    return DockerCLI(run_cli, binary=module.params['docker_cli'], host=module.params['docker_host'], timeout=timeout)
