# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A thin wrapper over the ``docker`` command line for the collection's modules.

The command line is used instead of a Python SDK so that the modules need nothing on the target
beyond the engine's own client. Every function takes a ``DockerCLI`` whose ``run`` has the
signature of ``AnsibleModule.run_command``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import shutil
import subprocess
import tarfile

from ansible_collections.poscloud.fleet.plugins.module_utils import process

# Seconds one docker command may take (option docker_timeout), and how many times that the long
# ones (commit, save, load, import, cp) may take.
DEFAULT_TIMEOUT = 300
LONG_FACTOR = 12
# Exit codes of coreutils' timeout: the command timed out, or had to be killed after the grace time.
TIMEOUT_CODES = (124, 137)
KILL_AFTER = 10


class DockerError(Exception):
    pass


def docker_argument_spec():
    """The options of the poscloud.fleet.docker_engine documentation fragment."""
    return dict(
        docker_host=dict(type='str'),
        docker_cli=dict(type='path', default='docker'),
        docker_timeout=dict(type='int', default=DEFAULT_TIMEOUT),
    )


def check_timeout(value):
    """The docker_timeout option as seconds; raise DockerError unless it is a whole number 1..86400."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 86400:
        raise DockerError('docker_timeout: %r must be a number of seconds from 1 to 86400' % (value,))
    return value


def timeout_message(what, seconds):
    return ('%s did not finish within %d s and was stopped; the Docker engine may be hung or overloaded '
            '(check it with docker info), or raise docker_timeout' % (what, seconds))


def module_timeout(module):
    """The module's docker_timeout, or fail_json naming the option when it is not usable."""
    try:
        return check_timeout(module.params.get('docker_timeout', DEFAULT_TIMEOUT))
    except DockerError as e:
        module.fail_json(msg=str(e))


def cli_for(module):
    """A DockerCLI for a module with the docker_engine options."""
    p = module.params
    return DockerCLI(module.run_command, binary=p['docker_cli'], host=p['docker_host'], timeout=module_timeout(module))


class DockerCLI(object):
    def __init__(self, run, binary='docker', host=None, timeout=DEFAULT_TIMEOUT):
        self._run = run
        self.binary = binary
        self.host = host
        self.timeout = check_timeout(timeout)
        self._timeout_bin = shutil.which('timeout')

    def _seconds(self, long_call):
        return self.timeout * LONG_FACTOR if long_call else self.timeout

    def _base(self):
        cmd = [self.binary]
        if self.host:
            cmd += ['--host', self.host]
        return cmd

    def command(self, *args):
        """The docker command line of ``args``, for a runner that runs it itself (as the swanctl
        runner runs ``docker exec``)."""
        return self._base() + list(args)

    def run_command(self, cmd, **kwargs):
        """What the module's run_command returns for ``cmd`` (a whole command line)."""
        return self._run(cmd, **kwargs)

    def run(self, args, check=True, data=None, long_call=False):
        """Run one docker command, stopped after docker_timeout seconds (twelve times that with
        ``long_call``, for commit, save, load). A command that times out always raises DockerError."""
        kwargs = {}
        if data is not None:
            kwargs['data'] = data
            kwargs['binary_data'] = True
        seconds = self._seconds(long_call)
        cmd = self._base() + list(args)
        if self._timeout_bin:
            cmd = [self._timeout_bin, '--kill-after=%d' % KILL_AFTER, str(seconds)] + cmd
        rc, out, err = self._run(cmd, **kwargs)
        if self._timeout_bin and rc in TIMEOUT_CODES:
            raise DockerError(timeout_message('docker %s' % ' '.join(args[:2]), seconds))
        if check and rc != 0:
            raise DockerError('docker %s failed (rc=%s): %s' % (' '.join(args[:2]), rc, (err or out).strip()))
        return rc, out, err

    def start(self, args):
        """Start one docker command without waiting; ``finish`` waits for it, so that the caller can
        work meanwhile (``process.stop`` ends it early)."""
        return process.start(self._base() + list(args))

    def finish(self, proc, what):
        """Wait for a command ``start`` started, at most docker_timeout seconds: (rc, stdout, stderr) as text."""
        try:
            return process.finish(proc, self.timeout)
        except process.CommandTimeout:
            raise DockerError(timeout_message(what, self.timeout))

    # -- engine -----------------------------------------------------------------------------
    def ping(self):
        rc, out, err = self.run(['version', '--format', '{{.Server.Version}}'], check=False)
        if rc != 0:
            raise DockerError(
                'the Docker engine does not answer (%s); start it, for example with '
                "'make setup' or 'systemctl start docker'" % (err or out).strip())
        return out.strip()

    # -- volumes ----------------------------------------------------------------------------
    def volume_mountpoints(self, names):
        """Volume name -> the folder that holds its data on this host; DockerError naming the
        volumes when one of them cannot be read."""
        rc, out, err = self.run(['volume', 'inspect', '--format', '{{.Name}} {{.Mountpoint}}'] + list(names), check=False)
        if rc != 0:
            raise DockerError('the volumes %s cannot be read: %s' % (', '.join(names), (err or out).strip()))
        return dict(line.split(' ', 1) for line in out.splitlines() if ' ' in line)

    # -- images -----------------------------------------------------------------------------
    def _ids(self, kind, filters, all_of_them):
        """The ids ``docker <kind> ls`` lists (with ``--all`` when ``all_of_them``), as it lists them."""
        args = [kind, 'ls', '--quiet', '--no-trunc'] + (['--all'] if all_of_them else [])
        for f in filters or []:
            args += ['--filter', f]
        rc, out, err = self.run(args)
        return [line.strip() for line in out.splitlines() if line.strip()]

    def image_ids(self, filters=None, all_images=False):
        ids = []
        for image_id in self._ids('image', filters, all_images):
            if image_id not in ids:
                ids.append(image_id)
        return ids

    def _inspect(self, kind, refs):
        """``docker <kind> inspect`` of ``refs``: the objects that exist (none for no refs)."""
        if not refs:
            return []
        rc, out, err = self.run([kind, 'inspect'] + list(refs), check=False)
        if rc != 0:
            # Inspect them one by one so that a vanished one does not hide the others.
            found = []
            for ref in refs:
                rc, out, err = self.run([kind, 'inspect', ref], check=False)
                if rc == 0:
                    found.extend(json.loads(out))
            return found
        return json.loads(out)

    def inspect_images(self, refs):
        return self._inspect('image', refs)

    def inspect_image(self, ref):
        found = self.inspect_images([ref])
        return found[0] if found else None

    def tag(self, source, target):
        self.run(['image', 'tag', source, target])

    def remove_image(self, ref, force=False):
        args = ['image', 'rm']
        if force:
            args.append('--force')
        self.run(args + [ref])

    # -- containers -------------------------------------------------------------------------
    def container_ids(self, filters=None, all_containers=True):
        return self._ids('container', filters, all_containers)

    def inspect_containers(self, refs):
        return self._inspect('container', refs)

    def containers_by_image(self):
        """Map image id -> list of container names (running or not) created from it."""
        result = {}
        for c in self.inspect_containers(self.container_ids()):
            result.setdefault(c.get('Image'), []).append(c.get('Name', '').lstrip('/'))
        return result

    def read_file(self, image, path):
        """Content of one file of an image (bytes), read through a container that never starts."""
        rc, out, err = self.run(['container', 'create', '--entrypoint', '/bin/true', image])
        cid = out.strip()
        try:
            proc = subprocess.Popen(self._base() + ['container', 'cp', '%s:%s' % (cid, path), '-'],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            data, err = communicate(proc, self._seconds(True), 'docker container cp')
            if proc.returncode != 0:
                raise DockerError('reading %s from %s failed: %s' % (path, image, err.decode('utf-8', 'replace').strip()))
        finally:
            self.run(['container', 'rm', '--force', cid], check=False)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            return tar.extractfile(member).read()

    # -- import -----------------------------------------------------------------------------
    def import_tree(self, root, reference, changes=None, message=None):
        """``tar -C root -c . | docker import - reference``; returns the new image id."""
        tar_cmd = ['tar', '-C', root, '--numeric-owner', '--xattrs', '-c', '.']
        imp_cmd = self._base() + ['image', 'import']
        for change in changes or []:
            imp_cmd += ['--change', change]
        if message:
            imp_cmd += ['--message', message]
        imp_cmd += ['-', reference]
        tar = subprocess.Popen(tar_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            imp = subprocess.Popen(imp_cmd, stdin=tar.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            tar.stdout.close()
            out, err = communicate(imp, self._seconds(True), 'docker image import')
        except DockerError:
            tar.kill()
            raise
        finally:
            tar_err = tar.stderr.read()
            tar.stderr.close()
            tar.wait()
        if tar.returncode != 0:
            raise DockerError('tar of the root filesystem failed: %s' % tar_err.decode('utf-8', 'replace').strip())
        if imp.returncode != 0:
            raise DockerError('docker import failed: %s' % err.decode('utf-8', 'replace').strip())
        return out.decode('utf-8').strip()


def communicate(proc, seconds, what):
    """``proc.communicate()`` that kills the process and raises DockerError after ``seconds``."""
    try:
        return proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise DockerError(timeout_message(what, seconds))


def label_change(labels):
    """``--change`` instructions for ``docker import`` that set ``labels``."""
    return ['LABEL %s=%s' % (key, json.dumps(str(value))) for key, value in sorted(labels.items())]
