# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image archives (what ``docker save`` writes) moved between Docker engines without a registry.

The engine is reached through its API on its unix socket with the Python standard library only, so
a host needs Python 3 and the engine's socket: no ``docker`` client, no Python SDK, no requests.
``save`` streams an image into a file while hashing it; ``load`` streams a file into the engine.
``archive_image_id`` reads the id of the image an archive holds from the archive's own manifest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import socket
import tarfile
import time

from urllib.parse import quote, urlencode

from ansible_collections.poscloud.fleet.plugins.module_utils.common import CHUNK, copy_hashed
from ansible_collections.poscloud.fleet.plugins.module_utils.docker_api import DockerAPI, _UnixConnection, socket_path
from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError, timeout_message

# The prefix of the temporary file an archive is written to, in the archive's folder.
PART_PREFIX = '.part-'
SHA256_HEX = frozenset('0123456789abcdef')


def engine_argument_spec():
    """The options that say which engine to reach and how long one request may wait."""
    return dict(
        docker_host=dict(type='str', default='unix:///var/run/docker.sock'),
        docker_timeout=dict(type='int', default=300),
    )


def engine_for(module):
    """The ArchiveAPI of a module with engine_argument_spec's options, or fail_json saying why not."""
    path = socket_path(module.params['docker_host'])
    if not path:
        module.fail_json(msg='docker_host: %r is not a unix socket (unix:///PATH); these modules reach the engine '
                             'through its socket on the host they run on' % module.params['docker_host'])
    try:
        return ArchiveAPI(path, timeout=module.params['docker_timeout'])
    except DockerError as e:
        module.fail_json(msg=str(e))


def is_sha256(value):
    return isinstance(value, str) and len(value) == 64 and set(value) <= SHA256_HEX


def part_name(path):
    """The prefix of the temporary files an archive at ``path`` is written through."""
    return os.path.join(os.path.dirname(path) or '.', PART_PREFIX + os.path.basename(path) + '.')


def leftover_parts(path):
    """Temporary files of an archive at ``path`` that a writer killed part-way left behind."""
    return sorted(glob.glob(glob.escape(part_name(path)) + '*'))


def archive_image_id(path):
    """The id (sha256:...) of the one image the archive at ``path`` holds, read from its manifest.json:
    the digest of the image's configuration, which is what the engine calls the image id.
    Raise DockerError when the file is not an image archive or holds more than one image."""
    try:
        with tarfile.open(path, 'r:') as tar:
            member = tar.extractfile('manifest.json')
            manifest = json.loads(member.read().decode('utf-8'))
    except (tarfile.TarError, KeyError, ValueError, AttributeError, OSError) as e:
        raise DockerError('%s is not an image archive (docker save) with a manifest.json: %s' % (path, e))
    if not isinstance(manifest, list) or len(manifest) != 1 or 'Config' not in manifest[0]:
        raise DockerError('%s holds %s images; an archive here holds exactly one'
                          % (path, len(manifest) if isinstance(manifest, list) else 'no list of'))
    config = manifest[0]['Config']
    # blobs/sha256/<hex> (OCI layout, Docker 25+) or <hex>.json (Docker up to 24).
    digest = os.path.basename(config)
    if digest.endswith('.json'):
        digest = digest[:-len('.json')]
    if not is_sha256(digest):
        raise DockerError('%s: its manifest names the configuration %r, not a SHA-256 digest' % (path, config))
    return 'sha256:' + digest


class ArchiveAPI(DockerAPI):
    """The read methods of DockerAPI, and save, load, tag and remove of images."""

    def _stream(self, method, url, body=None, length=None):
        """Open a request on a connection of its own; returns (connection, response)."""
        conn = _UnixConnection(self.path, self.timeout)
        try:
            if body is None:
                conn.request(method, url)
            else:
                conn.putrequest(method, url)
                conn.putheader('Content-Type', 'application/x-tar')
                conn.putheader('Content-Length', str(length))
                conn.endheaders()
                while True:
                    block = body.read(CHUNK)
                    if not block:
                        break
                    conn.send(block)
            return conn, conn.getresponse()
        except socket.timeout:
            conn.close()
            raise DockerError(timeout_message('Docker engine API %s %s on %s' % (method, url, self.path), self.timeout))
        except (socket.error, OSError) as e:
            conn.close()
            raise DockerError('the Docker engine on %s failed during %s %s (%s); is it running?' % (self.path, method, url, e))

    def _finish(self, conn, resp, what):
        try:
            body = resp.read()
        except socket.timeout:
            raise DockerError(timeout_message(what, self.timeout))
        finally:
            conn.close()
        return body

    def engine_info(self):
        """The engine's id, name and data root: which engine a result came from."""
        status, data = self._get('/info')
        data = data or {}
        return dict(id=data.get('ID', ''), name=data.get('Name', ''), root_dir=data.get('DockerRootDir', ''))

    def save(self, ref, f):
        """Write the archive of image ``ref`` to the binary file ``f``; returns (sha256 hex, bytes)."""
        what = 'Docker engine API GET /images/%s/get on %s' % (ref, self.path)
        conn, resp = self._stream('GET', '/images/%s/get' % quote(ref, safe=''))
        if resp.status != 200:
            body = self._finish(conn, resp, what)
            raise DockerError('%s failed (%s): %s' % (what, resp.status, body[:300].decode('utf-8', 'replace').strip()))
        try:
            return copy_hashed(resp, f)
        except socket.timeout:
            raise DockerError(timeout_message(what, self.timeout))
        finally:
            conn.close()

    def load(self, path):
        """Load the archive at ``path`` into the engine; returns the lines of the engine's answer.
        Raise DockerError with the engine's message when it refuses the archive."""
        what = 'Docker engine API POST /images/load on %s' % self.path
        with open(path, 'rb') as f:
            conn, resp = self._stream('POST', '/images/load?quiet=1', body=f, length=os.fstat(f.fileno()).st_size)
        body = self._finish(conn, resp, what)
        messages, errors = [], []
        # The answer is a stream of JSON objects, one a line.
        for line in body.decode('utf-8', 'replace').splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except ValueError:
                messages.append(line)
                continue
            if item.get('error') or item.get('errorDetail'):
                errors.append(item.get('error') or (item.get('errorDetail') or {}).get('message', ''))
            elif item.get('stream'):
                messages.append(item['stream'].strip())
        if resp.status != 200 or errors:
            raise DockerError('the engine on %s refused the archive %s (%s): %s'
                              % (self.path, path, resp.status, '; '.join(errors) or body[:300].decode('utf-8', 'replace')))
        return messages

    def tag(self, image, ref):
        """Point the reference ``ref`` (repository:tag) at ``image``."""
        repo, sep, tag = ref.rpartition(':')
        if not sep or '/' in tag:
            repo, tag = ref, 'latest'
        conn, resp = self._stream('POST', '/images/%s/tag?%s' % (quote(image, safe=''), urlencode({'repo': repo, 'tag': tag})))
        body = self._finish(conn, resp, 'tag')
        if resp.status >= 300:
            raise DockerError('tagging %s as %s failed (%s): %s' % (image, ref, resp.status, body[:300]))

    def remove(self, ref):
        """Remove the reference or image ``ref`` (not forced: an image a container uses stays)."""
        conn, resp = self._stream('DELETE', '/images/%s' % quote(ref, safe=''))
        body = self._finish(conn, resp, 'remove')
        if resp.status >= 300 and resp.status != 404:
            raise DockerError('removing %s failed (%s): %s' % (ref, resp.status, body[:300]))


def image_id(api, ref):
    """The id of image ``ref`` on the engine, or None."""
    found = api.inspect_image(ref)
    return found['Id'] if found else None


def timed(fn, *args):
    """(what fn returned, seconds it took)."""
    start = time.time()
    out = fn(*args)
    return out, round(time.time() - start, 3)
