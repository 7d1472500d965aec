#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: cutover_cloud
short_description: The cloud host's side of a store's data copy and cutover window, in one call
version_added: 0.3.0
description:
  - Runs on a store's cloud host and does, in one connection round trip, the steps of a cutover
    that happen there, in the order given in O(steps), so that the window (the time the store
    cannot sell) is spent on the work and not on task overhead.
  - V(link) opens the copy's connection to the physical server ahead of the window, in a container
    named O(copy_container) on the instance's network namespace, made afresh, that holds an SSH
    master connection (multiplexing) which a later V(copy) reuses, so the final sync does not wait for a
    container or an SSH handshake. It fails, before anything is stopped, when the server cannot be
    reached through the tunnel. V(unlink) removes that container and with it the connection.
  - V(copy) copies the store's data from its physical server into the instance's data volumes with
    rsync over SSH, in a short-lived container on the instance's network namespace (so through the
    store's tunnel), with the copy's own key, which may only read the data folder. A copy left
    running by an interrupted run is removed first. An interrupted copy is resumed by the next one.
    When the container of V(link) runs, the copy runs in it over its connection instead (a new
    connection is made when that one has gone).
  - V(manifest) makes the manifest of the instance's data volumes on the host, with a hash cache
    (O(manifest_cache)), so that a later manifest reads only what changed.
  - V(verify) makes that manifest and compares its digest with O(expect_digest) (the physical
    server's); when they are equal, it reads the application's summary in the instance
    (O(summary_command)) and compares the keys in O(summary_compare) with O(expect_summary). A
    different digest is returned (RV(data_matches=false)), not failed, so that the caller can name
    the entries that differ; a different summary fails.
  - V(release) records the move on the instance's state volume (O(marker)), then the cutover state
    (O(state_file), O(state_update)), then releases the application's services in the instance and
    polls its health check every 50 ms until it answers as expected.
extends_documentation_fragment: [poscloud.fleet.attributes, poscloud.fleet.docker_engine]
attributes:
  check_mode:
    support: partial
    details: Copies, writes and releases nothing; reports the steps as a change.
  diff_mode:
    support: none
options:
  store:
    description:
      - The store id (labels the copy's container).
    type: str
    required: true
  instance:
    description:
      - The store's POS instance container.
    type: str
    required: true
  steps:
    description:
      - What to do, in this order.
    type: list
    elements: str
    choices: [link, copy, manifest, verify, release, unlink]
    required: true
  volumes:
    description:
      - The instance's data volumes, by data path (C(/usr2/pos) to C(pos_12345678_usr2_pos)).
      - Required by V(copy), V(manifest) and V(verify).
    type: dict
    default: {}
  exclude:
    description:
      - Glob patterns left out of the copy and the manifest.
    type: list
    elements: str
    default: []
  copy_phase:
    description:
      - V(pre) copies while the store sells, comparing every file by checksum; V(final) copies the
        delta after the application stopped (by checksum too with O(copy_checksum)).
    type: str
    choices: [pre, final]
    default: final
  copy_source:
    description:
      - The physical server as C(user@address), reached from the instance's network.
    type: str
  copy_source_root:
    description:
      - The folder the copy's key is limited to on the server (rrsync's root); the data paths are
        asked for relative to it.
    type: str
    default: /
  copy_key:
    description:
      - The copy's private key on the cloud host.
    type: path
  copy_known_hosts:
    description:
      - The server's pinned host key (a known_hosts file) on the cloud host.
    type: path
  copy_container:
    description:
      - Name of the copy's container.
    type: str
  copy_image:
    description:
      - Image of the copy's container (it needs rsync and ssh); the instance's own image by default.
    type: str
  copy_link_seconds:
    description:
      - Seconds the container of V(link) lives. It ends and is removed by itself then, so a run that
        dies inside the window leaves no connection open for long; give it more than the stop's
        deadline (a copy after that is refused anyway).
    type: int
    default: 600
  copy_io_timeout:
    description:
      - Seconds without progress before the copy gives up (a dropped tunnel).
    type: int
    default: 30
  copy_bwlimit:
    description:
      - Bandwidth limit of the copy in KiB/s (0 for none).
    type: int
    default: 0
  copy_checksum:
    description:
      - Compare by checksum in a V(final) copy too.
    type: bool
    default: false
  manifest_cache:
    description:
      - Hash cache of the instance's manifest on the cloud host.
    type: path
  expect_digest:
    description:
      - The physical server's manifest digest that V(verify) compares with.
    type: str
  summary_command:
    description:
      - Command printing the application's summary as a JSON object, run in the instance by V(verify).
        Empty to compare the manifest only.
    type: list
    elements: str
    default: []
  summary_user:
    description:
      - User the summary command runs as in the instance.
    type: str
    default: root
  expect_summary:
    description:
      - The physical server's summary that V(verify) compares with.
    type: dict
    default: {}
  summary_compare:
    description:
      - Keys of the summary that must be equal.
    type: list
    elements: str
    default: []
  state_volume:
    description:
      - The instance's state volume (its hold folder and the record of the move). Required by V(release).
    type: str
  marker:
    description:
      - The record of the move, written by V(release) to O(marker_name) on the state volume.
    type: dict
  marker_name:
    description:
      - File name of the record on the state volume.
    type: str
    default: cutover.json
  state_file:
    description:
      - The store's cutover state file on the cloud host, updated by V(release) with O(state_update)
        before the application starts.
    type: path
  state_update:
    description:
      - Keys merged into O(state_file).
    type: dict
    default: {}
  services:
    description:
      - The application's services, released in the instance by V(release).
    type: list
    elements: str
    default: []
  health_url:
    description:
      - The application's health URL inside the instance.
    type: str
  health_expect:
    description:
      - Keys and values the health answer must contain.
    type: dict
    default: {}
  health_timeout:
    description:
      - Seconds V(release) waits for the services to run and the health check to answer.
    type: float
    default: 60
seealso:
  - module: poscloud.fleet.cutover_source
  - module: poscloud.fleet.data_manifest
notes:
  - The timings are measured on the cloud host; they are durations, so its clock need not agree
    with the controller's.
'''

EXAMPLES = r'''
- name: Copy the delta and verify it against the physical server's manifest and summary
  poscloud.fleet.cutover_cloud:
    store: "12345678"
    instance: pos_12345678
    steps: [copy, verify]
    volumes: {/usr2/pos: pos_12345678_usr2_pos}
    copy_source: root@192.168.22.10
    copy_source_root: /usr2/pos
    copy_key: /var/lib/poscloud-fleet/stores/12345678/sync_ed25519
    copy_known_hosts: /var/lib/poscloud-fleet/stores/12345678/known_hosts
    copy_container: posdata_12345678
    manifest_cache: /var/lib/poscloud-fleet/stores/12345678/cloud-manifest-cache.json
    expect_digest: "{{ source.manifest.digest }}"
    summary_command: [/usr/local/bin/pos-summary]
    summary_user: pos
    expect_summary: "{{ source.summary }}"
    summary_compare: [transactions, digest]

- name: Record the move, start the application and wait until it is healthy
  poscloud.fleet.cutover_cloud:
    store: "12345678"
    instance: pos_12345678
    steps: [release]
    state_volume: pos_12345678_state
    marker: {store: "12345678", moved_to: cloud}
    state_file: /var/lib/poscloud-fleet/stores/12345678/cutover.json
    state_update: {phase: released}
    services: [posd]
    health_url: http://127.0.0.1:8080/health
    health_expect: {status: ok}
'''

RETURN = r'''
transfer:
  description: The copy's figures (V(copy)).
  returned: when copy is in steps
  type: dict
  contains:
    bytes:
      description: Size of the files transferred.
      type: int
    wire_bytes:
      description: Bytes received over the network.
      type: int
    files:
      description: Files transferred.
      type: int
    deleted:
      description: Files deleted.
      type: int
manifest:
  description: The instance's manifest (V(manifest), V(verify)).
  returned: when manifest or verify is in steps
  type: dict
  contains:
    digest:
      description: SHA-256 of the manifest's canonical text, which V(verify) compares with O(expect_digest).
      type: str
    entries:
      description: How many entries (files, folders and links) the manifest lists.
      type: int
    files:
      description: How many of them are files.
      type: int
    bytes:
      description: The files' total size in bytes.
      type: int
data_matches:
  description: Whether the manifest's digest equals O(expect_digest) (V(verify)).
  returned: when verify is in steps
  type: bool
summary:
  description: The application's summary in the instance (V(verify)), read before the manifest is made.
  returned: when verify is in steps
  type: dict
health:
  description: The health check's answer (V(release)).
  returned: when release is in steps
  type: dict
timings:
  description: Seconds each step took, measured on the cloud host; V(release) is split into
    C(start) (until the services run) and C(health) (until the health check answers), and
    C(healthy_at) is the cloud host's time of the first healthy answer (seconds since the epoch).
  returned: always
  type: dict
  sample: {"copy": 0.62, "verify": 0.31}
'''

import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.poscloud.fleet.plugins.module_utils import manifest as mf
from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError, cli_for, docker_argument_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_write

# How the copy reaches the server: its own key, the pinned host key, and a dropped tunnel noticed.
SSH_OPTIONS = ['-i', '/run/poscloud-sync/key', '-o', 'UserKnownHostsFile=/run/poscloud-sync/known_hosts',
               '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10',
               '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=3']
# The master connection's socket in the copy container (V(link)).
CONTROL = '/tmp/poscloud-copy.ctl'

STATS = {
    'bytes': r'Total transferred file size: ([0-9,]+)',
    'wire_bytes': r'Total bytes received: ([0-9,]+)',
    'files': r'Number of regular files transferred: ([0-9,]+)',
    'deleted': r'Number of deleted files: ([0-9,]+)',
}

# Run in the instance: wait until the services run, then poll the health check every 50 ms.
# Prints the seconds to each, and the answer.
HEALTH_POLL = r'''
import http.client, json, sys, time
from urllib.parse import urlsplit
names, url, expect, timeout = json.loads(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
t0 = time.time()
started, last = None, 'the services did not start'
while True:
    if started is None:
        try:
            with open('/run/poscloud/services.json') as f:
                run = dict((s['name'], s['running']) for s in json.load(f))
        except Exception:
            run = {}
        if all(run.get(n) for n in names):
            started, last = time.time() - t0, 'no answer'
    if started is not None:
        try:
            u = urlsplit(url)
            conn = (http.client.HTTPSConnection if u.scheme == 'https' else http.client.HTTPConnection)(
                u.hostname, u.port, timeout=3)
            try:
                conn.request('GET', (u.path or '/') + ('?' + u.query if u.query else ''))
                r = conn.getresponse()
                if not 200 <= r.status < 300:
                    raise ValueError('HTTP %d' % r.status)
                body = json.load(r)
            finally:
                conn.close()
            if isinstance(body, dict) and all(body.get(k) == v for k, v in expect.items()):
                now = time.time()
                print(json.dumps({'start': started, 'health': now - t0 - started, 'at': now, 'answer': body}))
                raise SystemExit(0)
            last = json.dumps(body, sort_keys=True)
        except Exception as e:
            last = str(e)
    if time.time() - t0 > timeout:
        print(json.dumps({'start': started, 'last': last[:300]}))
        raise SystemExit(3)
    time.sleep(0.05)
'''


def rsync_stats(text):
    out = {}
    for key, pattern in STATS.items():
        m = re.findall(pattern, text)
        out[key] = int(m[0].replace(',', '')) if m else 0
    return out


def require(module, p, step, names):
    for name in names:
        if not p[name]:
            module.fail_json(msg='%s is required by the %s step' % (name, step))


def copy_image(module, docker, p):
    if p['copy_image']:
        return p['copy_image']
    rc, out, err = docker.run(['inspect', '--format', '{{.Image}}', p['instance']], check=False)
    if rc != 0:
        module.fail_json(msg='instance: %s does not exist on this host; the data is copied through its network '
                             '(the store\'s tunnel). Start it with playbooks/pos_start.yml.' % p['instance'])
    return out.strip()


def container_args(p):
    """The copy container's name, network, labels and mounts (its key, the pinned host key, the volumes)."""
    args = ['--name', p['copy_container'], '--network', 'container:' + p['instance'],
            '--label', 'poscloud.fleet.store=' + p['store'], '--label', 'poscloud.fleet.role=data-copy',
            '--volume', p['copy_key'] + ':/run/poscloud-sync/key:ro',
            '--volume', p['copy_known_hosts'] + ':/run/poscloud-sync/known_hosts:ro']
    for path, volume in sorted(p['volumes'].items()):
        args += ['--volume', '%s:%s' % (volume, path)]
    return args


def link(module, docker, p):
    """A fresh copy container holding an SSH master connection to the server; fails when it cannot be opened."""
    require(module, p, 'link', ('copy_source', 'copy_key', 'copy_known_hosts', 'copy_container'))
    image = copy_image(module, docker, p)
    docker.run(['rm', '--force', p['copy_container']], check=False)
    # It ends and is removed by itself after copy_link_seconds, also when no one comes to remove it.
    docker.run(['run', '--detach', '--rm'] + container_args(p) + ['--label', 'poscloud.fleet.copy=link',
                                                                  '--entrypoint', 'sleep', image, str(p['copy_link_seconds'])])
    # The master goes to the background once it is logged in; its output goes to a file, so that
    # docker exec does not wait for it.
    rc, out, err = docker.run(['exec', p['copy_container'], 'sh', '-c',
                               'exec "$@" </dev/null >/dev/null 2>/tmp/poscloud-link.err || { cat /tmp/poscloud-link.err >&2; exit 1; }',
                               'link', 'ssh'] + SSH_OPTIONS + ['-M', '-N', '-f', '-S', CONTROL, '-o', 'ControlPersist=yes',
                                                               p['copy_source']], check=False)
    if rc == 0:
        rc, out, err = docker.run(['exec', p['copy_container'], 'ssh', '-S', CONTROL, '-O', 'check', p['copy_source']],
                                  check=False)
    if rc != 0:
        docker.run(['rm', '--force', p['copy_container']], check=False)
        module.fail_json(msg='The copy\'s connection to %s cannot be opened through the store\'s tunnel: %s. Nothing '
                             'was stopped; check the tunnel (vpn.yml) and that the server answers SSH.'
                             % (p['copy_source'].split('@')[-1], ' '.join((err or out).split())[-400:]))


def linked(docker, p):
    rc, out, err = docker.run(['inspect', '--format', '{{.State.Running}} {{index .Config.Labels "poscloud.fleet.copy"}}',
                               p['copy_container']], check=False)
    return rc == 0 and out.split() == ['true', 'link']


def unlink(docker, p):
    if p['copy_container']:
        docker.run(['rm', '--force', p['copy_container']], check=False)


def copy(module, docker, p):
    require(module, p, 'copy', ('copy_source', 'copy_key', 'copy_known_hosts', 'copy_container'))
    over_link = linked(docker, p)
    if not over_link:
        image = copy_image(module, docker, p)
        docker.run(['rm', '--force', p['copy_container']], check=False)
    root = p['copy_source_root'].rstrip('/')
    total = dict((k, 0) for k in STATS)
    ssh = ' '.join(['ssh'] + SSH_OPTIONS + (['-S', CONTROL, '-o', 'ControlMaster=no'] if over_link else []))
    for path in sorted(p['volumes']):
        rel = path[len(root):] if root and path.startswith(root) else path
        if over_link:
            args = ['exec', p['copy_container']]
        else:
            args = ['run', '--rm'] + container_args(p) + [image]
        args += ['rsync', '-a', '--delete', '--stats', '--partial', '--partial-dir=.rsync-partial',
                 '--timeout=%d' % p['copy_io_timeout']]
        if p['copy_phase'] == 'pre' or p['copy_checksum']:
            args.append('--checksum')
        if p['copy_bwlimit'] > 0:
            args.append('--bwlimit=%d' % p['copy_bwlimit'])
        args += ['--exclude=' + x for x in p['exclude']]
        args += ['-e', ssh, '%s:%s' % (p['copy_source'], rel or '/'), path + '/']
        rc, out, err = docker.run(args, check=False, long_call=p['copy_phase'] == 'pre')
        if rc != 0:
            module.fail_json(msg='The %s-sync from %s failed: %s. Check the store\'s tunnel (vpn.yml) and that the '
                                 'server answers SSH; a re-run resumes the copy.'
                                 % (p['copy_phase'], p['copy_source'].split('@')[-1], ' '.join((err or out).split())[-400:]))
        for k, v in rsync_stats(out).items():
            total[k] += v
    return total


def make_manifest(module, docker, p):
    if not p['volumes']:
        module.fail_json(msg='volumes: the instance\'s data volumes by data path are required to make its manifest')
    try:
        where = docker.volume_mountpoints(list(p['volumes'].values()))
    except DockerError as e:
        module.fail_json(msg='The instance\'s data: %s' % e)
    trees = [(where[volume], path) for path, volume in sorted(p['volumes'].items())]
    try:
        entries = mf.cached_tree_entries(trees, p['exclude'], p['manifest_cache'], module)
    except mf.ManifestError as e:
        module.fail_json(msg='The instance\'s manifest failed: %s' % e)
    return mf.summarize(entries)


def start_summary(docker, p):
    """Start reading the application's summary in the instance (``summary`` waits for it)."""
    return docker.start(['exec', '--user', p['summary_user'], p['instance']] + p['summary_command'])


def summary(module, docker, p, proc):
    rc, out, err = docker.finish(proc, 'the application\'s summary')
    try:
        data = json.loads(out) if rc == 0 else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        module.fail_json(msg='The application\'s summary in %s (%s) failed: %s'
                         % (p['instance'], ' '.join(p['summary_command']), ' '.join((err or out).split())[:300]))
    return data


def release(module, docker, p, result):
    if not p['state_volume'] or not p['services']:
        module.fail_json(msg='state_volume and services are required by the release step')
    try:
        state_dir = docker.volume_mountpoints([p['state_volume']])[p['state_volume']]
    except DockerError as e:
        module.fail_json(msg='The instance\'s state volume: %s' % e)
    if p['marker'] is not None:
        atomic_write(module, os.path.join(state_dir, p['marker_name']),
                     json.dumps(p['marker'], indent=4, sort_keys=True) + '\n', 0o600)
    if p['state_file']:
        try:
            with open(p['state_file']) as f:
                state = json.load(f)
        except (IOError, OSError, ValueError):
            state = {}
        state.update(p['state_update'])
        atomic_write(module, p['state_file'], json.dumps(state, indent=4, sort_keys=True) + '\n', 0o600)
        result['state_written'] = True
    hold_dir = os.path.join(state_dir, 'hold')
    for name in p['services']:
        if os.path.exists(os.path.join(hold_dir, name)):
            os.remove(os.path.join(hold_dir, name))
    rc, out, err = docker.run(['exec', p['instance'], 'python3', '-c', HEALTH_POLL, json.dumps(p['services']),
                               p['health_url'] or '', json.dumps(p['health_expect']), str(p['health_timeout'])],
                              check=False)
    try:
        answer = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        answer = {}
    if rc != 0 or 'answer' not in answer:
        module.fail_json(msg='The POS instance %s did not pass its health check (%s) within %ss: %s'
                         % (p['instance'], p['health_url'], p['health_timeout'],
                            answer.get('last') or ' '.join((err or out).split())[:300]), **result)
    result['timings']['start'] = round(answer['start'], 3)
    result['timings']['health'] = round(answer['health'], 3)
    result['timings']['healthy_at'] = answer['at']
    result['health'] = answer['answer']


def main():
    argument_spec = dict(
        store=dict(type='str', required=True),
        instance=dict(type='str', required=True),
        steps=dict(type='list', elements='str', required=True,
                   choices=['link', 'copy', 'manifest', 'verify', 'release', 'unlink']),
        volumes=dict(type='dict', default={}),
        exclude=dict(type='list', elements='str', default=[]),
        copy_phase=dict(type='str', default='final', choices=['pre', 'final']),
        copy_source=dict(type='str'),
        copy_source_root=dict(type='str', default='/'),
        copy_key=dict(type='path', no_log=False),
        copy_known_hosts=dict(type='path'),
        copy_container=dict(type='str'),
        copy_image=dict(type='str'),
        copy_io_timeout=dict(type='int', default=30),
        copy_link_seconds=dict(type='int', default=600),
        copy_bwlimit=dict(type='int', default=0),
        copy_checksum=dict(type='bool', default=False),
        manifest_cache=dict(type='path'),
        expect_digest=dict(type='str'),
        summary_command=dict(type='list', elements='str', default=[]),
        summary_user=dict(type='str', default='root'),
        expect_summary=dict(type='dict', default={}),
        summary_compare=dict(type='list', elements='str', default=[]),
        state_volume=dict(type='str'),
        marker=dict(type='dict'),
        marker_name=dict(type='str', default='cutover.json'),
        state_file=dict(type='path'),
        state_update=dict(type='dict', default={}),
        services=dict(type='list', elements='str', default=[]),
        health_url=dict(type='str'),
        health_expect=dict(type='dict', default={}),
        health_timeout=dict(type='float', default=60),
    )
    argument_spec.update(docker_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    order = ['link', 'copy', 'manifest', 'verify', 'release', 'unlink']
    steps = p['steps']
    if not steps or steps != sorted(set(steps), key=order.index):
        module.fail_json(msg='steps: %s; give each step once, in the order %s' % (', '.join(steps), ', '.join(order)))
    if 'link' in steps and not 0 < p['copy_link_seconds'] <= 86400:
        module.fail_json(msg='copy_link_seconds: %s; give the connection\'s lifetime in seconds, 1 to 86400 (more than '
                             'the stop\'s deadline)' % p['copy_link_seconds'])
    if 'verify' in steps and not p['expect_digest']:
        module.fail_json(msg='expect_digest: the physical server\'s manifest digest is required by the verify step')
    timings = {}
    result = {'changed': False, 'timings': timings}
    if module.check_mode:
        result['changed'] = bool(set(steps) & set(['link', 'copy', 'release']))
        module.exit_json(**result)
    docker = cli_for(module)
    try:
        for step in steps:
            t = time.time()
            if step == 'link':
                link(module, docker, p)
                result['changed'] = True
            elif step == 'unlink':
                unlink(docker, p)
            elif step == 'copy':
                result['transfer'] = copy(module, docker, p)
                result['changed'] = (result['changed'] or result['transfer']['files'] > 0
                                     or result['transfer']['deleted'] > 0)
            elif step in ('manifest', 'verify'):
                # The application's summary first, then the manifest: a reader such as SQLite's opens
                # side files next to the database (a write-ahead log) and removes them when it ends,
                # and a manifest made meanwhile would list them.
                if step == 'verify' and p['summary_command']:
                    result['summary'] = summary(module, docker, p, start_summary(docker, p))
                result['manifest'] = make_manifest(module, docker, p)
                if step == 'verify':
                    result['data_matches'] = result['manifest']['digest'] == p['expect_digest']
                    if not result['data_matches']:
                        timings[step] = round(time.time() - t, 3)
                        module.exit_json(**result)
                    if 'summary' in result:
                        keys = p['summary_compare']
                        cloud = dict((k, result['summary'].get(k)) for k in keys)
                        source = dict((k, p['expect_summary'].get(k)) for k in keys)
                        if cloud != source:
                            module.fail_json(msg='Verification failed: the application\'s summary differs (%s): '
                                                 'physical server %s, instance %s.'
                                                 % (', '.join(keys), json.dumps(source, sort_keys=True),
                                                    json.dumps(cloud, sort_keys=True)), **result)
            elif step == 'release':
                result['changed'] = True
                release(module, docker, p, result)
            timings.setdefault(step, round(time.time() - t, 3))
    except DockerError as e:
        module.fail_json(msg=str(e), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
