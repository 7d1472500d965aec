#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: image_build
short_description: Build OS media images from first-party Debian packages, content-addressed
version_added: 0.1.0
description:
  - Bootstraps a Debian root filesystem with C(debootstrap) or C(mmdebstrap) (O(builder)), verifying
    the release signatures with the archive keyring, optionally brings it up to the newest packages
    of the suite's update and security suites, adds extra files, cleans the package caches, and imports the root into the
    local Docker engine as an image. Nothing is pulled from an image registry.
  - The build inputs (suite, variant, components, packages, files' digests, mirror, architecture and
    build options) hash to an input hash. When an image carrying that hash exists, the module does
    no work and reports C(changed=false); O(force=true) rebuilds.
  - The image's labels record the input hash, build time, distribution and suite, mirror, patch
    level (the newest C(Date) of the package indices used) and the digest of the package manifest.
    The manifest (name, version and architecture of every installed package) is returned and, with
    O(evidence_dir), written as JSON beside a build record.
  - A failed build leaves nothing behind, neither an image nor a container nor a root filesystem.
  - Progress is logged phase by phase to the target's syslog and, with O(progress_file), to a file
    that can be followed with C(tail -f) while the module runs.
  - Only Debian-family suites are built. Images for other distributions are not supported.
extends_documentation_fragment: [poscloud.fleet.attributes, poscloud.fleet.docker_engine]
attributes:
  check_mode:
    support: full
    details: Reports whether an image would be built (or only tagged) without touching the engine.
  diff_mode:
    support: full
    details: Shows the image reference and input hash before and after.
  platform:
    platforms: debian
    support: full
    details: Needs the O(builder) (C(debootstrap) or C(mmdebstrap)) and the archive keyring on the target, run as root.
options:
  name:
    description:
      - Repository name of the image, for example C(poscloud/media).
    type: str
    required: true
  tag:
    description:
      - Tag given to the image. The image is also tagged with the first 12 characters of its input
        hash so that earlier builds stay addressable.
    type: str
    default: latest
  kind:
    description:
      - What the image is for, recorded in the C(poscloud.fleet.kind) label.
      - V(media) is OS media that POS instances are staged from; V(lab) is a base image for lab hosts
        and test scenarios.
    type: str
    choices: [media, lab]
    default: media
  suite:
    description:
      - Debian suite (code name) to bootstrap, for example C(bookworm).
    type: str
    default: bookworm
  builder:
    description:
      - The tool that bootstraps the root. Both verify the release signatures with O(keyring).
      - V(debootstrap) bootstraps the suite, then upgrades the root with C(apt-get dist-upgrade).
      - V(mmdebstrap) resolves the packages with apt against the suite and its update and security
        suites at once, so the root needs no upgrade afterwards, and merges C(/usr) as debootstrap
        does. It takes about half the time. Its package set can differ from debootstrap's where a
        dependency is met by a package that provides it. debootstrap installs the named package too
        (for example the empty transitional C(lsb-base), which C(openssh-server) and C(rsync) depend
        on and the essential C(sysvinit-utils) provides), apt does not.
      - The builder takes part in the input hash unless it is V(debootstrap), so images built before
        this option existed keep their hash.
    type: str
    choices: [debootstrap, mmdebstrap]
    default: debootstrap
    version_added: 0.3.0
  variant:
    description:
      - The package set. V(minbase) is the essential and required packages and apt. V(-) adds the
        important ones. V(fakechroot) is a debootstrap variant only.
    type: str
    choices: [minbase, buildd, fakechroot, '-']
    default: minbase
  components:
    description:
      - Archive components to use.
    type: list
    elements: str
    default: [main]
  packages:
    description:
      - Extra packages installed into the root, by name.
    type: list
    elements: str
    default: []
  mirror:
    description:
      - Debian mirror URL to bootstrap from.
      - Defaults to the mirror of the target's own apt sources (deb822 C(URIs:) lines or one-line
        C(deb) entries in O(apt_sources)) that carries O(suite), read at run time.
      - A login and password in the URL (C(http://user:password@host/debian)) are used for the
        downloads only. They are handed to apt in C(/etc/apt/auth.conf.d) while the build runs,
        removed from the image before it is saved, and left out of the image's sources list, labels,
        the returned values, the build record and the build log.
    type: str
  apt_sources:
    description:
      - Files or folders whose apt sources are read to find the default O(mirror) and the update and
        security suites.
    type: list
    elements: path
    default: [/etc/apt/sources.list, /etc/apt/sources.list.d]
  security_updates:
    description:
      - Add the update and security suites of O(suite) that the target's apt sources list (for
        example C(bookworm-updates) and C(bookworm-security)) and upgrade the root to them, so the
        image carries the current patch level.
    type: bool
    default: true
  files:
    description:
      - Files written into the root after the packages, each with O(files[].dest) and either O(files[].content) or
        O(files[].src) (a file on the target).
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Absolute path inside the image.
        type: str
        required: true
      content:
        description: Text content of the file.
        type: str
      src:
        description: File on the target whose content is copied.
        type: path
      mode:
        description:
          - Octal permissions of the file, up to four octal digits (V(0644), V(0755), V(2755)).
          - Anything else (V(-1), V(0999), V(rw-r--r--)) is refused before anything is built.
        type: str
        default: '0644'
  keyring:
    description:
      - Keyring that verifies the release signatures. Builds never run without signature checks.
    type: path
    default: /usr/share/keyrings/debian-archive-keyring.gpg
  arch:
    description:
      - Debian architecture to build. Defaults to the target's own (C(dpkg --print-architecture)).
    type: str
  labels:
    description:
      - Extra labels to set on the image. They take part in the input hash.
    type: dict
    default: {}
  force:
    description:
      - Build even when an image with the same input hash exists.
    type: bool
    default: false
  work_dir:
    description:
      - Folder under which the temporary root filesystem is made. It is removed after the build,
        whether it succeeds or fails.
    type: path
    default: /var/tmp/poscloud-fleet/build
  package_cache:
    description:
      - Folder where downloaded packages are kept between builds (C(debootstrap --cache-dir), or mounted
        as apt's archive cache under V(mmdebstrap)), which makes a rebuild after O(force) or an input
        change faster. Not set means no cache.
    type: path
  download_timeout:
    description:
      - Seconds a download by apt (all of them under V(mmdebstrap), the upgrade's under
        V(debootstrap)) may stall, with no connection or no data, before the attempt is given up.
        From 1 to 3600. V(debootstrap)'s own downloads use wget, bounded by a C(WGETRC) file.
    type: int
    default: 60
    version_added: 0.3.0
  download_tries:
    description:
      - Attempts per download by apt, from 1 to 10.
    type: int
    default: 3
    version_added: 0.3.0
  evidence_dir:
    description:
      - Folder under which the build record and manifest are written, as
        C(<evidence_dir>/<name>/<input hash>/build.json) and C(manifest.json).
    type: path
  progress_file:
    description:
      - File to which each phase of the build is appended as it starts and ends.
    type: path
notes:
  - The module runs C(mmdebstrap) or C(debootstrap), C(chroot) and C(docker import) on the target
    and must run as root there.
  - Builds of the same inputs on one host are serialised with a lock file in O(work_dir).
seealso:
  - module: poscloud.fleet.image_info
  - module: poscloud.fleet.image_remove
'''

EXAMPLES = r'''
- name: Build the OS media POS instances are staged from
  poscloud.fleet.image_build:
    name: poscloud/media
    suite: bookworm
    packages:
      - python3
      - ca-certificates
    evidence_dir: /srv/poscloud/reports/media
  register: media

- name: Show the patch level and package count
  ansible.builtin.debug:
    msg: "{{ media.image.reference }} patched {{ media.patch_level }}, {{ media.manifest | length }} packages"

- name: Build from a named mirror with an extra file, keeping downloaded packages for next time
  poscloud.fleet.image_build:
    name: registry.example.com/pos/media
    tag: "2026.11"
    mirror: http://apt.example.com/debian
    packages: [python3, openssh-server]
    files:
      - dest: /etc/motd
        content: "Managed by poscloud.fleet\n"
    package_cache: /var/cache/poscloud-fleet/debs

- name: What would be built? (no change is made in check mode)
  poscloud.fleet.image_build:
    name: poscloud/media
    packages: [python3]
  check_mode: true
  register: plan

- name: Rebuild even though an image with the same inputs exists
  poscloud.fleet.image_build:
    name: poscloud/media
    packages: [python3]
    force: true
'''

RETURN = r'''
image:
  description: The image that carries the inputs.
  returned: success, and in check mode when the image exists
  type: dict
  contains:
    id:
      description: Image id.
      type: str
      sample: sha256:0c3f4b2a7d1e...
    reference:
      description: The reference O(name):O(tag).
      type: str
      sample: poscloud/media:latest
    tags:
      description: All tags of the image.
      type: list
      elements: str
      sample: [poscloud/media:latest, poscloud/media:3f1c0de2a9b4]
    labels:
      description: The image's labels.
      type: dict
      sample: {poscloud.fleet.kind: media, poscloud.fleet.patch-level: '2026-11-21T09:12:44Z'}
input_hash:
  description: SHA-256 of the canonical build inputs.
  returned: always
  type: str
  sample: 3f1c0de2a9b4c7a0d5e8f11b2c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d
inputs:
  description: The canonical inputs that were hashed.
  returned: always
  type: dict
mirror:
  description: The mirror used (given or read from the apt sources).
  returned: always
  type: str
built:
  description: Whether a root filesystem was bootstrapped and imported in this run.
  returned: always
  type: bool
plan:
  description:
    - What the inputs call for, also in check mode. C(build) when no image carries the input hash
      (or O(force) is set), C(tag) when one does but lacks a wanted tag, C(none) otherwise.
  returned: always
  type: str
  sample: none
patch_level:
  description: Newest C(Date) among the Release files of the package indices used, ISO 8601 UTC.
  returned: success
  type: str
  sample: '2026-11-21T09:12:44Z'
manifest:
  description:
    - Every installed package of the image.
    - When the image already existed, the manifest is returned only with O(evidence_dir); it is read
      from there, or from the image's own package database and then written there.
  returned: when an image was built, or with O(evidence_dir)
  type: list
  elements: dict
  sample: [{name: base-files, version: 12.4+deb12u8, architecture: amd64}]
manifest_digest:
  description: SHA-256 of the canonical manifest, also in the C(poscloud.fleet.manifest-digest) label.
  returned: success
  type: str
manifest_path:
  description: Where the manifest JSON is.
  returned: when O(evidence_dir) is set, except in check mode when it does not exist yet
  type: str
phases:
  description: The build's phases with their durations in seconds.
  returned: when an image was built
  type: list
  elements: dict
  sample: [{name: debootstrap, seconds: 38.2}, {name: security-updates, seconds: 11.0}, {name: import, seconds: 2.9}]
'''

import fcntl
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timezone

from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.urls import open_url

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import (
    cli_for,
    DockerError,
    docker_argument_spec,
    label_change,
)
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_write, parse_mode, remove_file
from ansible_collections.poscloud.fleet.plugins.module_utils.common import LABEL_PREFIX, sha256_bytes
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.images import BUILD_KINDS
from ansible_collections.poscloud.fleet.plugins.module_utils.media import (
    MediaError,
    build_inputs,
    input_hash,
    manifest_digest,
    mirror_for_suite,
    missing_packages_from_log,
    mmdebstrap_command,
    parse_apt_sources,
    APT_AUTH_PATH,
    BUILDERS,
    VARIANTS,
    apt_download_options,
    parse_dpkg_status,
    patch_level,
    render_apt_auth,
    render_labels,
    render_sources_list,
    strip_credentials,
    url_credentials,
    update_sources_for_suite,
    validate_build_inputs,
    validate_builder_variant,
    validate_repository,
    validate_tag,
)

DEBOOTSTRAP_SCRIPTS = '/usr/share/debootstrap/scripts'
CHROOT_ENV = {
    'DEBIAN_FRONTEND': 'noninteractive',
    'LC_ALL': 'C',
    'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
}


def utc_now():
    return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class Progress(object):
    """Phase timing, written to syslog and optionally to a file as it happens."""

    def __init__(self, module, label, path=None):
        self.module = module
        self.label = label
        self.path = path
        self.phases = []
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            os.makedirs(os.path.dirname(os.path.abspath(path)))
        self._current = None

    def _emit(self, text):
        line = '%s %s: %s' % (utc_now(), self.label, text)
        self.module.log(line)
        if self.path:
            with open(self.path, 'a') as f:
                f.write(line + '\n')

    def start(self, name):
        self.end()
        self._current = (name, time.time())
        self._emit('%s started' % name)

    def end(self, failed=False):
        if self._current:
            name, started = self._current
            seconds = round(time.time() - started, 1)
            self.phases.append({'name': name, 'seconds': seconds})
            self._emit('%s %s after %.1fs' % (name, 'failed' if failed else 'finished', seconds))
            self._current = None


class MediaBuilder(object):
    def __init__(self, module):
        self.module = module
        p = module.params
        self.p = p
        self.docker = cli_for(module)
        self.result = {'changed': False, 'built': False, 'plan': 'none'}
        self.progress = None
        # The mirror as given, credentials included, is kept here for the downloads only; the
        # module's own arguments (echoed back with its result) hold it and the labels without them.
        self.given_mirror = p['mirror']
        if p['mirror']:
            self.hide_credentials(p['mirror'])
            p['mirror'] = strip_credentials(p['mirror'])
        p['labels'] = strip_credentials(p['labels'] or {})

    def fail(self, msg, **kwargs):
        self.module.fail_json(**strip_credentials(dict(self.result, msg=msg, **kwargs)))

    def exit(self):
        self.module.exit_json(**strip_credentials(self.result))

    # -- inputs -------------------------------------------------------------------------------
    def read_apt_sources(self):
        entries = []
        for item in self.p['apt_sources']:
            paths = []
            if os.path.isdir(item):
                paths = sorted(glob.glob(os.path.join(item, '*.list')) + glob.glob(os.path.join(item, '*.sources')))
            elif os.path.isfile(item):
                paths = [item]
            for path in paths:
                with open(path) as f:
                    text = f.read()
                entries.extend(parse_apt_sources(text, 'deb822' if path.endswith('.sources') else 'one-line'))
        return entries

    def read_files(self):
        files = []
        for i, entry in enumerate(self.p['files']):
            dest = entry.get('dest') or ''
            where = 'files[%d]' % i
            if not dest.startswith('/') or '..' in dest.split('/'):
                raise MediaError('%s.dest: %r must be an absolute path inside the image without ".."' % (where, dest))
            if (entry.get('content') is None) == (entry.get('src') is None):
                raise MediaError('%s: give exactly one of content or src for %s' % (where, dest))
            if entry.get('src') is not None:
                try:
                    with open(entry['src'], 'rb') as f:
                        data = f.read()
                except (IOError, OSError) as e:
                    raise MediaError('%s.src: cannot read %s: %s' % (where, entry['src'], to_native(e)))
            else:
                data = entry['content'].encode('utf-8')
            mode = entry.get('mode') or '0644'
            try:
                parse_mode(mode, '%s.mode' % where)
            except ValueError as e:
                raise MediaError(str(e))
            files.append({'dest': dest, 'mode': mode, 'data': data, 'content_sha256': sha256_bytes(data)})
        return files

    def resolve(self):
        p = self.p
        validate_repository(p['name'])
        validate_tag(p['tag'])
        validate_build_inputs(p['suite'], p['variant'], p['components'], p['packages'])
        validate_builder_variant(p['builder'], p['variant'])
        apt_download_options(p['download_timeout'], p['download_tries'])
        if p['builder'] == 'debootstrap' and not os.path.exists(os.path.join(DEBOOTSTRAP_SCRIPTS, p['suite'])):
            raise MediaError(
                "suite: %r is not a suite debootstrap knows (no %s/%s); use a Debian code name such as "
                "'bookworm'" % (p['suite'], DEBOOTSTRAP_SCRIPTS, p['suite']))
        if not os.path.isfile(p['keyring']):
            raise MediaError(
                'keyring: %s does not exist; install debian-archive-keyring or point keyring at the '
                "archive's public keys (builds never skip the signature check)" % p['keyring'])
        entries = self.read_apt_sources()
        mirror = self.given_mirror or mirror_for_suite(entries, p['suite'])
        if not mirror:
            raise MediaError(
                'mirror: none given and no Debian mirror found in the apt sources %s; set mirror to your '
                'Debian mirror URL' % ', '.join(p['apt_sources']))
        mirror = mirror.rstrip('/')
        if not mirror.startswith(('http://', 'https://', 'file:///')) or not re.fullmatch(r'[^\s]+', mirror):
            raise MediaError('mirror: %r must be an http://, https:// or file:/// URL without spaces or line breaks'
                             % strip_credentials(mirror))
        self.mirror = mirror
        self.sources = update_sources_for_suite(entries, p['suite'], mirror) if p['security_updates'] else \
            [(mirror, p['suite'], tuple(p['components']))]
        self.files = self.read_files()
        arch = p['arch']
        if not arch:
            rc, out, err = self.module.run_command(['dpkg', '--print-architecture'])
            arch = out.strip() if rc == 0 else 'amd64'
        self.arch = arch
        options = {
            'security_updates': p['security_updates'],
            'sources': ['%s %s' % (u, s) for u, s, c in self.sources],
            'kind': p['kind'],
            'labels': p['labels'],
        }
        if p['builder'] != 'debootstrap':
            options['builder'] = p['builder']
        self.inputs = build_inputs(p['suite'], p['variant'], p['components'], p['packages'], mirror,
                                   self.files, arch, options)
        self.hash = input_hash(self.inputs)
        self.short = self.hash[:12]
        self.reference = '%s:%s' % (p['name'], p['tag'])
        for uri, suite, comps in self.sources:
            self.hide_credentials(uri)
        self.auth = render_apt_auth([u for u, s, c in self.sources])
        self.result.update(input_hash=self.hash, inputs=self.inputs, mirror=strip_credentials(mirror))

    def hide_credentials(self, url):
        """Keep the password of ``url`` out of everything the module returns or logs."""
        password = url_credentials(url)[2]
        if password:
            self.module.no_log_values.add(password)

    # -- existing image -----------------------------------------------------------------------
    def find_existing(self):
        # Derived images (store snapshots) inherit their parent's labels; only an image of this
        # kind that carries the hash is the build.
        ids = self.docker.image_ids(filters=['label=%sinput-hash=%s' % (LABEL_PREFIX, self.hash),
                                             'label=%skind=%s' % (LABEL_PREFIX, self.p['kind'])])
        if not ids:
            return None
        images = self.docker.inspect_images(ids)
        images.sort(key=lambda i: i.get('Created', ''), reverse=True)
        return images[0] if images else None

    def describe(self, image):
        labels = (image.get('Config') or {}).get('Labels') or {}
        return {
            'id': image['Id'],
            'reference': self.reference,
            'tags': image.get('RepoTags') or [],
            'labels': labels,
        }

    def wanted_tags(self):
        return [self.reference, '%s:%s' % (self.p['name'], self.short)]

    # -- the build ------------------------------------------------------------------------------
    def preflight_mirror(self):
        suite = self.p['suite']
        shown = strip_credentials(self.mirror)
        if self.mirror.startswith('file://'):
            path = self.mirror[len('file://'):]
            if not os.path.isdir(path):
                raise MediaError('mirror: %s is not a folder on the target' % shown)
            if not glob.glob(os.path.join(path, 'dists', suite, '*Release')):
                raise MediaError("suite: %r is not on the mirror %s (no dists/%s/Release)" % (suite, shown, suite))
            return
        url = '%s/dists/%s/Release' % (self.mirror, suite)
        try:
            open_url(url, method='HEAD', timeout=15, validate_certs=True, follow_redirects='safe').close()
        except Exception as e:  # pylint: disable=broad-except
            code = getattr(e, 'code', None)
            if code == 404:
                raise MediaError("suite: %r is not on the mirror %s (%s answered 404); check the suite's code name"
                                 % (suite, shown, strip_credentials(url)))
            raise MediaError('mirror: cannot reach %s (%s); check the mirror URL or the network'
                             % (shown, strip_credentials(to_native(getattr(e, 'reason', e)))))

    def run_logged(self, cmd, log_path, env=None, what=None):
        """Run ``cmd``; its command line and output go to the build log without URL credentials,
        and the output it returns (for messages) is stripped the same way."""
        with open(log_path, 'ab') as log:
            log.write(('\n$ %s\n' % ' '.join(strip_credentials(list(cmd)))).encode('utf-8'))
        rc, out, err = self.module.run_command(cmd, environ_update=env or {})
        out, err = strip_credentials(out), strip_credentials(err)
        with open(log_path, 'ab') as log:
            log.write(out.encode('utf-8'))
            log.write(err.encode('utf-8'))
        return rc, out + err

    def chroot(self, root, args, log_path):
        return self.run_logged(['chroot', root] + args, log_path, env=CHROOT_ENV)

    def debootstrap(self, root, log_path):
        p = self.p
        cmd = ['debootstrap']
        if p['variant'] != '-':
            cmd.append('--variant=%s' % p['variant'])
        cmd += ['--arch=%s' % self.arch, '--components=%s' % ','.join(p['components']),
                '--keyring=%s' % p['keyring'], '--force-check-gpg']
        if p['packages']:
            cmd.append('--include=%s' % ','.join(sorted(set(p['packages']))))
        if p['package_cache']:
            if not os.path.isdir(p['package_cache']):
                os.makedirs(p['package_cache'])
            cmd.append('--cache-dir=%s' % os.path.abspath(p['package_cache']))
        cmd += [p['suite'], root, self.mirror]
        self.bootstrap(cmd, log_path)

    def mmdebstrap(self, root, log_path):
        p = self.p
        cache = None
        if p['package_cache']:
            cache = os.path.abspath(p['package_cache'])
            if not os.path.isdir(cache):
                os.makedirs(cache)
        # self.sources: the suite, and with security_updates its update and security suites too.
        cmd = mmdebstrap_command(p['suite'], root, self.sources, p['components'], p['variant'], self.arch,
                                 p['keyring'], p['packages'], cache, p['download_timeout'], p['download_tries'])
        if not cache:
            self.bootstrap(cmd, log_path)
            return
        # The cache is apt's archive folder during the build, and apt refuses a second user of it:
        # builds that share a cache take turns.
        with open(os.path.join(cache, '.poscloud-build.lock'), 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.bootstrap(cmd, log_path)

    def bootstrap(self, cmd, log_path):
        p = self.p
        rc, output = self.run_logged(cmd, log_path)
        if rc != 0:
            missing = missing_packages_from_log(output)
            if missing:
                raise MediaError('packages: %s not found in %s %s; check the package names'
                                 % (', '.join(missing), strip_credentials(self.mirror), p['suite']))
            raise MediaError('%s failed for suite %r from %s: %s'
                             % (p['builder'], p['suite'], strip_credentials(self.mirror), tail(output)))

    def configure_root(self, root, log_path):
        p = self.p
        policy = os.path.join(root, 'usr/sbin/policy-rc.d')
        write_file(policy, b'#!/bin/sh\n# no service starts while building an image\nexit 101\n', 0o755)
        resolv = os.path.join(root, 'etc/resolv.conf')
        if os.path.isfile('/etc/resolv.conf'):
            if os.path.islink(resolv) or os.path.exists(resolv):
                os.remove(resolv)
            shutil.copyfile('/etc/resolv.conf', resolv)

        # The builder wrote the mirror URL as given, credentials included, into the root's sources
        # list: the image gets the list without them, and apt reads them from auth.conf.d (removed
        # again by clean_root).
        write_file(os.path.join(root, 'etc/apt/sources.list'),
                   render_sources_list(self.sources, p['components']).encode('utf-8'), 0o644)
        if self.auth:
            write_file(os.path.join(root, APT_AUTH_PATH.lstrip('/')), self.auth.encode('utf-8'), 0o600)

        # mmdebstrap installed from every source at once; debootstrap's root is upgraded to them.
        if p['security_updates'] and p['builder'] == 'debootstrap':
            self.progress.start('security-updates')
            bounds = apt_download_options(p['download_timeout'], p['download_tries'])
            rc, output = self.chroot(root, ['apt-get', '-q'] + bounds + ['update', '--error-on=any'], log_path)
            if rc != 0:
                raise MediaError('security_updates: apt-get update of %s failed: %s'
                                 % (', '.join('%s %s' % (strip_credentials(u), s) for u, s, c in self.sources),
                                    tail(output)))
            rc, output = self.chroot(root, ['apt-get', '-q', '-y'] + bounds +
                                     ['-o', 'Dpkg::Options::=--force-confold', '--no-install-recommends',
                                      'dist-upgrade'], log_path)
            if rc != 0:
                raise MediaError('security_updates: apt-get dist-upgrade failed: %s' % tail(output))

    def build(self, work):
        p = self.p
        root = os.path.join(work, 'root')
        log_path = os.path.join(work, 'build.log')
        progress = self.progress

        progress.start('preflight')
        self.preflight_mirror()

        progress.start(p['builder'])
        if p['builder'] == 'mmdebstrap':
            self.mmdebstrap(root, log_path)
        else:
            self.debootstrap(root, log_path)
        self.configure_root(root, log_path)

        progress.start('files')
        for f in self.files:
            write_file(os.path.join(root, f['dest'].lstrip('/')), f['data'], int(f['mode'], 8))

        release_texts = []
        for path in sorted(glob.glob(os.path.join(root, 'var/lib/apt/lists/*Release'))):
            with open(path, 'rb') as fh:
                release_texts.append(fh.read().decode('utf-8', 'replace'))
        patch = patch_level(release_texts)
        with open(os.path.join(root, 'var/lib/dpkg/status'), 'rb') as fh:
            manifest = parse_dpkg_status(fh.read().decode('utf-8', 'replace'))

        progress.start('clean')
        clean_root(root)
        build_time = utc_now()
        record = {
            'input_hash': self.hash,
            'build_time': build_time,
            'suite': p['suite'],
            'mirror': strip_credentials(self.mirror),
            'patch_level': patch,
            'manifest_digest': manifest_digest(manifest),
            'packages': len(manifest),
        }
        write_file(os.path.join(root, 'etc/poscloud/media.json'),
                   (json.dumps(record, indent=2, sort_keys=True) + '\n').encode('utf-8'), 0o644)

        progress.start('import')
        labels = render_labels(p['kind'], self.hash, build_time, 'debian', p['suite'], self.mirror, patch,
                               manifest, extra=p['labels'])
        changes = label_change(labels) + ['CMD ["/bin/bash"]', 'ENV LANG=C.UTF-8']
        image_id = self.docker.import_tree(root, self.wanted_tags()[1], changes=changes,
                                           message='poscloud.fleet image_build %s' % self.short)
        try:
            for ref in self.wanted_tags():
                self.docker.tag(image_id, ref)
            if p['evidence_dir']:
                progress.start('evidence')
                self.write_evidence(record, manifest, log_path, image_id)
        except Exception:
            self.docker.run(['image', 'rm', '--force', image_id], check=False)
            raise
        progress.end()
        self.result.update(patch_level=patch, manifest=manifest, manifest_digest=manifest_digest(manifest))
        return image_id

    def write_evidence(self, record, manifest, log_path, image_id):
        folder = os.path.join(self.p['evidence_dir'], self.p['name'].replace('/', '_'), self.hash)
        if not os.path.isdir(folder):
            os.makedirs(folder)
        manifest_path = os.path.join(folder, 'manifest.json')
        atomic_write(self.module, manifest_path, json.dumps(manifest, indent=1, sort_keys=True) + '\n')
        build = dict(record, image_id=image_id, tags=self.wanted_tags(), inputs=self.inputs,
                     phases=self.progress.phases)
        atomic_write(self.module, os.path.join(folder, 'build.json'), json.dumps(build, indent=2, sort_keys=True) + '\n')
        shutil.copyfile(log_path, os.path.join(folder, 'build.log'))
        self.result['manifest_path'] = manifest_path

    # -- main flow ------------------------------------------------------------------------------
    def run(self):
        p = self.p
        try:
            self.resolve()
            self.docker.ping()
        except (MediaError, DockerError) as e:
            self.fail(to_native(e))

        existing = self.find_existing() if not p['force'] else None
        if existing:
            self.result['image'] = self.describe(existing)
            missing = [t for t in self.wanted_tags() if t not in (existing.get('RepoTags') or [])]
            labels = self.result['image']['labels']
            self.result.update(
                patch_level=labels.get(LABEL_PREFIX + 'patch-level'),
                manifest_digest=labels.get(LABEL_PREFIX + 'manifest-digest'),
            )
            self.existing_manifest(existing)
            if missing:
                self.result['plan'] = 'tag'
                self.result['changed'] = True
                self.result['diff'] = {'before': {'tags': sorted(existing.get('RepoTags') or [])},
                                       'after': {'tags': sorted(set((existing.get('RepoTags') or []) + missing))}}
                if not self.module.check_mode:
                    for ref in missing:
                        self.docker.tag(existing['Id'], ref)
                    self.result['image']['tags'] = sorted(set(self.result['image']['tags'] + missing))
                self.result['msg'] = 'image with input hash %s exists; tagged %s' % (self.short, ', '.join(missing))
            else:
                self.result['plan'] = 'none'
                self.result['msg'] = 'image with input hash %s exists; nothing to build' % self.short
            self.exit()

        # Only a build needs the builder: an image that exists is found without it.
        if not self.module.get_bin_path(p['builder']):
            self.fail('builder: %s is not installed on the target; install the Debian package %s, or '
                      'choose the other builder (%s)' % (p['builder'], p['builder'], ', '.join(BUILDERS)))
        current = self.docker.inspect_image(self.reference)
        before_hash = ((current or {}).get('Config') or {}).get('Labels') or {}
        self.result['diff'] = {
            'before': {'reference': self.reference, 'input_hash': before_hash.get(LABEL_PREFIX + 'input-hash')}
            if current else {},
            'after': {'reference': self.reference, 'input_hash': self.hash},
        }
        self.result['changed'] = True
        self.result['plan'] = 'build'
        if self.module.check_mode:
            self.result['msg'] = 'would build %s (input hash %s) from %s %s' % (
                self.reference, self.short, strip_credentials(self.mirror), p['suite'])
            self.exit()

        work_root = p['work_dir']
        if not os.path.isdir(work_root):
            os.makedirs(work_root)
        lock = open(os.path.join(work_root, '.%s.lock' % self.short), 'w')
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            # Another run may have built the same inputs while this one waited for the lock.
            existing = self.find_existing() if not p['force'] else None
            if existing:
                self.result['image'] = self.describe(existing)
                self.result['changed'] = False
                self.result['msg'] = 'image with input hash %s was built by another run' % self.short
                self.exit()
            work = tempfile.mkdtemp(prefix='%s-' % self.short, dir=work_root)
            self.progress = Progress(self.module, 'image_build %s' % self.reference, p['progress_file'])
            try:
                image_id = self.build(work)
            except (MediaError, DockerError, OSError, IOError) as e:
                self.progress.end(failed=True)
                self.result['changed'] = False
                self.result['phases'] = self.progress.phases
                self.fail(to_native(e))
            finally:
                remove_tree(work)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

        image = self.docker.inspect_image(image_id)
        self.result.update(built=True, image=self.describe(image), phases=self.progress.phases,
                           msg='built %s (input hash %s) in %.0fs' % (
                               self.reference, self.short, sum(ph['seconds'] for ph in self.progress.phases)))
        self.exit()

    def existing_manifest(self, image):
        """Return the manifest of an existing image; with evidence_dir, write it there if it is missing.

        The manifest is read from the image's own dpkg status, so a checkout or host that did not build
        the image still gets its evidence.
        """
        if not self.p['evidence_dir']:
            return
        path = os.path.join(self.p['evidence_dir'], self.p['name'].replace('/', '_'), self.hash, 'manifest.json')
        if os.path.isfile(path):
            with open(path) as f:
                self.result.update(manifest=json.load(f), manifest_path=path)
            return
        if self.module.check_mode:
            return
        status = self.docker.read_file(image['Id'], '/var/lib/dpkg/status')
        manifest = parse_dpkg_status(status.decode('utf-8', 'replace'))
        self.result['manifest'] = manifest
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            os.makedirs(folder)
        atomic_write(self.module, path, json.dumps(manifest, indent=1, sort_keys=True) + '\n')
        self.result['manifest_path'] = path


def tail(text, lines=15):
    return '\n'.join(text.strip().splitlines()[-lines:])


def write_file(path, data, mode):
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    if os.path.islink(path):
        os.remove(path)
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)


def clean_root(root):
    """Remove what must not ship in an image: package caches and lists, build helpers, host keys,
    the mirror credentials apt used."""
    patterns = [
        'var/cache/apt/archives/*.deb', 'var/cache/apt/archives/partial/*', 'var/cache/apt/*.bin',
        'var/lib/apt/lists/*', 'var/log/apt/*', 'var/log/dpkg.log', 'var/log/bootstrap.log',
        'tmp/*', 'var/tmp/*', 'etc/ssh/ssh_host_*', 'usr/sbin/policy-rc.d', 'root/.bash_history',
        'etc/apt/apt.conf.d/99mmdebstrap', APT_AUTH_PATH.lstrip('/'),
    ]
    for pattern in patterns:
        for path in glob.glob(os.path.join(root, pattern)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                remove_file(path)
    for path in ('etc/resolv.conf', 'etc/machine-id'):
        full = os.path.join(root, path)
        if os.path.lexists(full):
            os.remove(full)
        write_file(full, b'', 0o644)
    os.makedirs(os.path.join(root, 'var/lib/apt/lists/partial'), exist_ok=True)


def remove_tree(path):
    """Remove a build folder, first unmounting anything a failed step left mounted inside it."""
    real = os.path.realpath(path)
    try:
        with open('/proc/mounts') as f:
            mounts = [line.split()[1] for line in f]
    except IOError:
        mounts = []
    for mount in sorted((m for m in mounts if m == real or m.startswith(real + '/')), reverse=True):
        subprocess.call(['umount', '-l', mount])
    shutil.rmtree(path, ignore_errors=True)


def main():
    module = fleet_module(dict(
        name=dict(type='str', required=True),
        tag=dict(type='str', default='latest'),
        kind=dict(type='str', default='media', choices=list(BUILD_KINDS)),
        suite=dict(type='str', default='bookworm'),
        builder=dict(type='str', default=BUILDERS[0], choices=list(BUILDERS)),
        variant=dict(type='str', default='minbase', choices=list(VARIANTS)),
        components=dict(type='list', elements='str', default=['main']),
        packages=dict(type='list', elements='str', default=[]),
        mirror=dict(type='str'),
        apt_sources=dict(type='list', elements='path', default=['/etc/apt/sources.list', '/etc/apt/sources.list.d']),
        security_updates=dict(type='bool', default=True),
        files=dict(type='list', elements='dict', default=[], options=dict(
            dest=dict(type='str', required=True),
            content=dict(type='str'),
            src=dict(type='path'),
            mode=dict(type='str', default='0644'),
        )),
        keyring=dict(type='path', default='/usr/share/keyrings/debian-archive-keyring.gpg'),
        arch=dict(type='str'),
        labels=dict(type='dict', default={}),
        force=dict(type='bool', default=False),
        work_dir=dict(type='path', default='/var/tmp/poscloud-fleet/build'),
        package_cache=dict(type='path'),
        download_timeout=dict(type='int', default=60),
        download_tries=dict(type='int', default=3),
        evidence_dir=dict(type='path'),
        progress_file=dict(type='path'),
        **docker_argument_spec()
    ))
    MediaBuilder(module).run()


if __name__ == '__main__':
    main()
