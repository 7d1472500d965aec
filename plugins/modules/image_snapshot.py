#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: image_snapshot
short_description: Snapshot a container into an image, keep N snapshots, export and import them
version_added: 0.1.0
description:
  - With O(state=present), commits a container into an image (C(docker commit)), optionally with
    Dockerfile O(changes), pausing it or not while the commit runs. The image is tagged
    C(<repository>:<UTC timestamp>) (for example C(20261123T104501Z)) and C(<repository>:latest) is
    moved to it.
  - Labels on the snapshot record the source container, the store id, the application profile and
    version, the install media checksum, the parent image and the time.
  - Idempotent. A snapshot of an unchanged container (the same container, no file added, removed or
    written in its writable layer since the last snapshot, and the same changes and labels asked
    for) is not taken again.
  - Retention (O(keep)) removes the oldest snapshots of the repository beyond N, but never the newest
    one and never one a container was created from.
  - With O(state=exported), writes an image to a tarball (C(docker image save)) with a C(.sha256)
    file beside it; with O(state=imported), verifies a tarball against its checksum before loading
    it, and refuses (loading nothing) when they differ. O(state=pruned) applies retention only.
extends_documentation_fragment: [poscloud.fleet.attributes, poscloud.fleet.docker_engine]
attributes:
  check_mode:
    support: full
    details: Reports whether a snapshot would be taken, what retention would remove, and whether an
      export or import would happen, without changing anything.
  diff_mode:
    support: full
    details: Shows the repository's tags before and after.
  platform:
    details: Detecting an unchanged container reads its overlay2 writable layer, so the module must
      run on the Docker host as root; elsewhere it falls back to C(docker diff), which cannot see a
      file written again after an earlier snapshot.
options:
  state:
    description:
      - V(present) takes a snapshot of O(container) (and applies O(keep)).
      - V(pruned) only applies O(keep) to O(repository).
      - V(exported) saves O(image) to O(path) and writes C(<path>.sha256).
      - V(imported) loads O(path) after checking it against O(sha256) or C(<path>.sha256).
    type: str
    choices: [present, pruned, exported, imported]
    default: present
  container:
    description:
      - Name or id of the container to snapshot. Required with O(state=present).
    type: str
  repository:
    description:
      - Repository of the snapshots, for example C(poscloud/store-12345678). Required with
        O(state=present) and O(state=pruned).
    type: str
  changes:
    description:
      - Dockerfile instructions applied to the snapshot, as C(docker commit --change) takes them. Only
        C(CMD), C(ENTRYPOINT), C(ENV), C(EXPOSE), C(LABEL), C(USER), C(WORKDIR) and C(VOLUME) are
        accepted.
    type: list
    elements: str
    default: []
  pause:
    description:
      - Pause the container while it is committed, so that the snapshot is consistent.
    type: bool
    default: true
  store:
    description: Store id, recorded in the C(poscloud.fleet.store) label.
    type: str
  profile:
    description: Application profile, recorded in the C(poscloud.fleet.profile) label.
    type: str
  app_version:
    description: Application version, recorded in the C(poscloud.fleet.app-version) label.
    type: str
  media_sha256:
    description: SHA-256 of the install media, recorded in the C(poscloud.fleet.media-sha256) label.
    type: str
  labels:
    description: More labels for the snapshot.
    type: dict
    default: {}
  keep:
    description:
      - Number of snapshots of O(repository) to keep; older ones are removed. The newest snapshot and
        snapshots that containers were created from are always kept (and count towards O(keep)).
      - C(0) keeps every snapshot.
    type: int
    default: 0
  image:
    description: Image to export (reference or id). Required with O(state=exported).
    type: str
  path:
    description:
      - Tarball to write (O(state=exported)) or read (O(state=imported)).
    type: path
  sha256:
    description:
      - Expected SHA-256 of the tarball with O(state=imported). When not given, C(<path>.sha256) is
        read.
    type: str
  force:
    description:
      - With O(state=present), take a snapshot even when the container is unchanged. With
        O(state=exported), write the tarball again even when it holds the same image.
    type: bool
    default: false
notes:
  - An export writes C(<path>.json) too, recording which image the tarball holds; this is how a
    second export of the same image is recognised as a no-op.
seealso:
  - module: poscloud.fleet.image_info
  - module: poscloud.fleet.image_remove
'''

EXAMPLES = r'''
- name: Snapshot the staged container as the store's image, keeping three snapshots
  poscloud.fleet.image_snapshot:
    container: stage_12345678
    repository: poscloud/store-12345678
    store: "12345678"
    profile: demo
    app_version: 1.0.0
    media_sha256: "{{ media_checksum }}"
    changes:
      - 'CMD ["/usr/local/sbin/poscloud-init"]'
      - EXPOSE 8080/tcp
      - ENV TZ=America/Chicago
    keep: 3
  register: snap

- name: Snapshot a running instance without pausing it
  poscloud.fleet.image_snapshot:
    container: pos_12345678
    repository: poscloud/store-12345678
    pause: false

- name: Keep only the two newest snapshots (the one in use is never removed)
  poscloud.fleet.image_snapshot:
    state: pruned
    repository: poscloud/store-12345678
    keep: 2

- name: Export the newest snapshot with a checksum file
  poscloud.fleet.image_snapshot:
    state: exported
    image: poscloud/store-12345678:latest
    path: /srv/snapshots/store-12345678.tar

- name: Import it on another host; a corrupt tarball is refused and nothing is loaded
  poscloud.fleet.image_snapshot:
    state: imported
    path: /srv/snapshots/store-12345678.tar
'''

RETURN = r'''
image:
  description: The snapshot (taken, found unchanged, exported or imported).
  returned: success, except with O(state=pruned)
  type: dict
  contains:
    id:
      description: Image id.
      type: str
    tags:
      description: Its tags.
      type: list
      elements: str
    labels:
      description: Its labels.
      type: dict
  sample: {id: sha256:1b69b029b807..., tags: [poscloud/store-12345678:20261123T104501Z, poscloud/store-12345678:latest]}
taken:
  description: Whether a new snapshot was committed.
  returned: state=present
  type: bool
tag:
  description: The timestamp tag of the snapshot.
  returned: state=present
  type: str
  sample: 20261123T104501Z
removed:
  description: Ids of the snapshots retention removed (or would remove).
  returned: state=present or state=pruned
  type: list
  elements: str
path:
  description: The tarball.
  returned: state=exported or state=imported
  type: str
sha256:
  description: SHA-256 of the tarball.
  returned: state=exported or state=imported
  type: str
'''

import json
import os
from datetime import datetime, timezone

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError, cli_for, docker_argument_spec, label_change
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_file, atomic_write
from ansible_collections.poscloud.fleet.plugins.module_utils.common import LABEL_PREFIX, sha256_bytes, sha256_file
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.media import MediaError, validate_repository
from ansible_collections.poscloud.fleet.plugins.module_utils.snapshot import (
    SnapshotError,
    parse_sha256_file,
    parse_timestamp_tag,
    retention_plan,
    source_digest,
    tree_digest,
    unique_timestamp_tag,
    validate_changes,
)


def describe(image):
    return {'id': image['Id'], 'tags': sorted(image.get('RepoTags') or []),
            'labels': (image.get('Config') or {}).get('Labels') or {}}


class Snapshots(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.docker = cli_for(module)
        self.result = {'changed': False}

    def fail(self, msg):
        self.module.fail_json(msg=msg, **self.result)

    def repository_images(self, repository):
        ids = self.docker.image_ids(filters=['reference=%s:*' % repository])
        return self.docker.inspect_images(ids)

    def retention(self, repository):
        keep = self.p['keep']
        if not keep:
            return []
        images = self.repository_images(repository)
        snapshots = [{'id': i['Id'], 'created': i.get('Created', '')} for i in images
                     if ((i.get('Config') or {}).get('Labels') or {}).get(LABEL_PREFIX + 'kind') == 'snapshot']
        in_use = set(self.docker.containers_by_image().keys())
        remove = retention_plan(snapshots, keep, in_use)
        if remove and not self.module.check_mode:
            by_id = dict((i['Id'], i) for i in images)
            for image_id in remove:
                tags = list(by_id[image_id].get('RepoTags') or [])
                if tags:
                    self.docker.run(['image', 'rm'] + tags)
                if self.docker.inspect_image(image_id) is not None:
                    self.docker.remove_image(image_id)
        if remove:
            self.result['changed'] = True
        return remove

    # -- present -----------------------------------------------------------------------------
    def fs_digest(self, container):
        upper = ((container.get('GraphDriver') or {}).get('Data') or {}).get('UpperDir')
        if upper and os.path.isdir(upper):
            return 'overlay:' + tree_digest(upper)
        rc, out, err = self.docker.run(['container', 'diff', container['Id']])
        return 'diff:' + sha256_bytes(out)

    def snapshot_labels(self, container):
        labels = dict((str(k), str(v)) for k, v in self.p['labels'].items())
        for option, label in (('store', 'store'), ('profile', 'profile'), ('app_version', 'app-version'),
                              ('media_sha256', 'media-sha256')):
            if self.p[option]:
                labels[LABEL_PREFIX + label] = self.p[option]
        labels[LABEL_PREFIX + 'kind'] = 'snapshot'
        # A snapshot inherits its parent's labels; the parent's build input hash is not the
        # snapshot's own, so it is kept under another name and blanked.
        parent_labels = (container.get('Config') or {}).get('Labels') or {}
        if parent_labels.get(LABEL_PREFIX + 'input-hash'):
            labels.setdefault(LABEL_PREFIX + 'media-input-hash', parent_labels[LABEL_PREFIX + 'input-hash'])
            labels[LABEL_PREFIX + 'input-hash'] = ''
        labels[LABEL_PREFIX + 'source-container'] = container['Id']
        labels[LABEL_PREFIX + 'source-name'] = container.get('Name', '').lstrip('/')
        labels[LABEL_PREFIX + 'parent-image'] = container.get('Image', '')
        return labels

    def present(self):
        p = self.p
        for option in ('container', 'repository'):
            if not p[option]:
                self.fail('%s: required with state=present' % option)
        try:
            validate_repository(p['repository'])
            changes = validate_changes(p['changes'])
        except (MediaError, SnapshotError) as e:
            self.fail(to_native(e))
        found = self.docker.inspect_containers([p['container']])
        if not found:
            self.fail('container: %s does not exist; create or start it first' % p['container'])
        container = found[0]
        labels = self.snapshot_labels(container)
        digest = source_digest(container['Id'], self.fs_digest(container), changes, labels)
        existing = self.docker.image_ids(filters=['label=%ssource-digest=%s' % (LABEL_PREFIX, digest),
                                                  'reference=%s:*' % p['repository']])
        before_tags = sorted(t for i in self.repository_images(p['repository']) for t in i.get('RepoTags') or [])
        if existing and not p['force']:
            image = self.docker.inspect_image(existing[0])
            stamps = sorted(t.rsplit(':', 1)[1] for t in image.get('RepoTags') or []
                            if parse_timestamp_tag(t.rsplit(':', 1)[1]))
            self.result.update(image=describe(image), taken=False, tag=stamps[-1] if stamps else None,
                               msg='container %s is unchanged since snapshot %s' % (p['container'], image['Id'][7:19]))
            latest = '%s:latest' % p['repository']
            if latest not in (image.get('RepoTags') or []):
                self.result['changed'] = True
                if not self.module.check_mode:
                    self.docker.tag(image['Id'], latest)
            self.result['removed'] = self.retention(p['repository'])
            return
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        tag = unique_timestamp_tag(now, set(t.split(':')[-1] for t in before_tags))
        reference = '%s:%s' % (p['repository'], tag)
        labels[LABEL_PREFIX + 'source-digest'] = digest
        labels[LABEL_PREFIX + 'snapshot-time'] = now.strftime('%Y-%m-%dT%H:%M:%SZ')
        self.result.update(changed=True, taken=True, tag=tag,
                           diff={'before': {'tags': before_tags},
                                 'after': {'tags': sorted(set(before_tags + [reference, '%s:latest' % p['repository']]))}})
        if self.module.check_mode:
            self.result['msg'] = 'would snapshot %s as %s' % (p['container'], reference)
            self.result['removed'] = []
            return
        args = ['container', 'commit', '--pause=%s' % ('true' if p['pause'] else 'false')]
        for change in changes + label_change(labels):
            args += ['--change', change]
        rc, out, err = self.docker.run(args + [container['Id'], reference], long_call=True)
        image_id = out.strip()
        try:
            self.docker.tag(image_id, '%s:latest' % p['repository'])
        except DockerError:
            self.docker.run(['image', 'rm', '--force', image_id], check=False)
            raise
        self.result['image'] = describe(self.docker.inspect_image(image_id))
        self.result['msg'] = 'snapshot of %s taken as %s' % (p['container'], reference)
        self.result['removed'] = self.retention(p['repository'])

    # -- pruned ------------------------------------------------------------------------------
    def pruned(self):
        if not self.p['repository']:
            self.fail('repository: required with state=pruned')
        if not self.p['keep']:
            self.fail('keep: give the number of snapshots to keep (1 or more) with state=pruned')
        self.result['removed'] = self.retention(self.p['repository'])

    # -- exported ----------------------------------------------------------------------------
    def exported(self):
        p = self.p
        if not p['image'] or not p['path']:
            self.fail('image and path: both are required with state=exported')
        image = self.docker.inspect_image(p['image'])
        if image is None:
            self.fail('image: %s does not exist' % p['image'])
        path = p['path']
        meta_path, sum_path = path + '.json', path + '.sha256'
        self.result.update(image=describe(image), path=path)
        if not p['force'] and os.path.isfile(path) and os.path.isfile(meta_path) and os.path.isfile(sum_path):
            with open(meta_path) as f:
                meta = json.load(f)
            with open(sum_path) as f:
                recorded = parse_sha256_file(f.read(), path)
            if meta.get('image_id') == image['Id'] and meta.get('sha256') == recorded:
                self.result.update(sha256=recorded, msg='%s already holds %s' % (path, p['image']))
                return
        self.result['changed'] = True
        if self.module.check_mode:
            self.result['msg'] = 'would export %s to %s' % (p['image'], path)
            return
        with atomic_file(path, 0o640, module=self.module, prefix='.export-') as tmp:
            self.docker.run(['image', 'save', '--output', tmp, p['image']], long_call=True)
            digest = sha256_file(tmp)
        atomic_write(self.module, sum_path, '%s  %s\n' % (digest, os.path.basename(path)))
        meta = {'image_id': image['Id'], 'tags': image.get('RepoTags') or [], 'sha256': digest}
        atomic_write(self.module, meta_path, json.dumps(meta, indent=2, sort_keys=True) + '\n')
        self.result.update(sha256=digest, msg='exported %s to %s' % (p['image'], path))

    # -- imported ----------------------------------------------------------------------------
    def imported(self):
        p = self.p
        path = p['path']
        if not path:
            self.fail('path: required with state=imported')
        if not os.path.isfile(path):
            self.fail('path: %s does not exist' % path)
        expected = (p['sha256'] or '').lower()
        if not expected:
            try:
                with open(path + '.sha256') as f:
                    expected = parse_sha256_file(f.read(), path)
            except (IOError, OSError):
                self.fail('sha256: not given and %s.sha256 cannot be read; an image is only imported after its '
                          'checksum is verified' % path)
            except SnapshotError as e:
                self.fail('%s.sha256: %s' % (path, to_native(e)))
        actual = sha256_file(path)
        self.result.update(path=path, sha256=actual)
        if actual != expected:
            self.fail('%s does not match its checksum (expected %s, found %s): the tarball is corrupt or was '
                      'changed; nothing was imported' % (path, expected, actual))
        meta = {}
        if os.path.isfile(path + '.json'):
            with open(path + '.json') as f:
                meta = json.load(f)
        present = self.docker.inspect_image(meta['image_id']) if meta.get('image_id') else None
        if present is not None and set(meta.get('tags') or []) <= set(present.get('RepoTags') or []):
            self.result.update(image=describe(present), msg='%s is already loaded' % meta['image_id'][7:19])
            return
        self.result['changed'] = True
        if self.module.check_mode:
            self.result['msg'] = 'would import %s' % path
            return
        rc, out, err = self.docker.run(['image', 'load', '--input', path], long_call=True)
        loaded = [line.split(':', 1)[1].strip() for line in out.splitlines() if line.startswith('Loaded image')]
        image = self.docker.inspect_image(meta.get('image_id') or loaded[0]) if (meta.get('image_id') or loaded) else None
        if image:
            self.result['image'] = describe(image)
        self.result['msg'] = 'imported %s (checksum verified)' % path

    def run(self):
        try:
            self.docker.ping()
            getattr(self, self.p['state'])()
        except (DockerError, SnapshotError) as e:
            self.fail(to_native(e))
        self.module.exit_json(**self.result)


def main():
    module = fleet_module(dict(
        state=dict(type='str', default='present', choices=['present', 'pruned', 'exported', 'imported']),
        container=dict(type='str'),
        repository=dict(type='str'),
        changes=dict(type='list', elements='str', default=[]),
        pause=dict(type='bool', default=True),
        store=dict(type='str'),
        profile=dict(type='str'),
        app_version=dict(type='str'),
        media_sha256=dict(type='str'),
        labels=dict(type='dict', default={}),
        keep=dict(type='int', default=0),
        image=dict(type='str'),
        path=dict(type='path'),
        sha256=dict(type='str'),
        force=dict(type='bool', default=False),
        **docker_argument_spec()
    ))
    Snapshots(module).run()


if __name__ == '__main__':
    main()
