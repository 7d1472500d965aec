#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: cutover_source
short_description: The physical server's side of a cutover window, in one call each
version_added: 0.3.0
description:
  - Runs on a store's physical POS server. Each call is one step of the cutover window, done in one
    connection round trip, so that the window (the time the store cannot sell) is spent on the work
    and not on task overhead.
  - V(stopped) stops the application's services with a deadline (O(hold_seconds)) after which the
    server starts them again by itself, then reads the application's summary (O(summary_command))
    and makes the manifest of the data (O(manifest_paths)), both with the application stopped.
  - V(ready) changes nothing. It checks, before the window, that the step V(stopped) can work on
    this server (the services are known to its service manager, the data paths and the summary
    command exist), so that a window never starts only to fail at once. Run first, it also opens the
    connection that the window's calls reuse.
  - V(committed) makes that stop lasting (the deadline is cancelled) and writes the record of the
    move (O(marker)). It fails, changing nothing, when the deadline has passed or ends within
    O(commit_margin) seconds, since the server may have sold again in between.
  - Starting the application again (a rollback) is not a step of this module; the role
    C(poscloud.fleet.pos_data) does it (C(tasks_from=source_app)).
extends_documentation_fragment: [poscloud.fleet.attributes]
attributes:
  check_mode:
    support: partial
    details: Stops and records nothing and makes no manifest; reports the step as a change. V(ready) runs as usual.
  diff_mode:
    support: none
options:
  state:
    description:
      - V(ready) checks that V(stopped) can work (and changes nothing); V(stopped) stops the services
        with a deadline and reads the summary and manifest; V(committed) makes the stop lasting and
        records the move.
    type: str
    choices: [ready, stopped, committed]
    required: true
  services:
    description:
      - The application's services (the profile's C(app_services)).
    type: list
    elements: str
    required: true
  service_manager:
    description:
      - How the services are stopped. V(systemd) stops and masks units of these names, and gives the
        stop its deadline with a transient timer (O(release_unit)) that unmasks and starts them.
        V(poscloud-init) writes hold files in O(hold_dir) that carry the deadline.
    type: str
    choices: [systemd, poscloud-init]
    default: systemd
  hold_dir:
    description:
      - The hold folder of poscloud-init.
    type: path
    default: /var/lib/poscloud/hold
  hold_seconds:
    description:
      - With V(stopped), the stop's deadline in seconds from now. Must be more than 0.
    type: float
    default: 300
  hold_timeout:
    description:
      - Seconds to wait for the services to stop.
    type: float
    default: 60
  commit_margin:
    description:
      - With V(committed), refuse when the deadline ends within this many seconds.
    type: float
    default: 10
  release_unit:
    description:
      - Name of the transient systemd timer that ends the stop (V(systemd) only), without C(.timer).
    type: str
    default: poscloud-release
  summary_command:
    description:
      - With V(stopped), a command printing the application's summary as a JSON object, run after
        the stop and before the manifest is made (a reader's side files, such as SQLite's write-ahead
        log, are gone again by then). Leave empty when the profile has none.
    type: list
    elements: str
    default: []
  summary_user:
    description:
      - User the summary command runs as.
    type: str
    default: root
  manifest_paths:
    description:
      - With V(stopped), the data paths to make the manifest of (absolute folders). Empty makes none.
    type: list
    elements: path
    default: []
  manifest_exclude:
    description:
      - Glob patterns left out of the manifest (the copy's excludes).
    type: list
    elements: str
    default: []
  manifest_dest:
    description:
      - Write the manifest here (atomically, mode 0600), for comparing entry by entry when digests differ.
    type: path
  manifest_cache:
    description:
      - Hash cache of the manifest (see M(poscloud.fleet.data_manifest) O(poscloud.fleet.data_manifest#module:cache)).
    type: path
  marker:
    description:
      - With V(committed), the record of the move, written as JSON to O(marker_path).
    type: dict
  marker_path:
    description:
      - Where the record of the move is written (its folder is made, mode 0700).
    type: path
seealso:
  - module: poscloud.fleet.cutover_cloud
  - module: poscloud.fleet.data_manifest
notes:
  - A controller that dies after V(stopped) leaves the stop with its deadline; the server starts its
    application by itself when it passes. Only V(committed) makes the stop lasting, and only in
    time.
'''

EXAMPLES = r'''
- name: Check, before the window, that the stop can work here
  poscloud.fleet.cutover_source:
    state: ready
    services: [posd]
    summary_command: [/usr/local/bin/pos-summary]
    manifest_paths: [/usr2/pos]

- name: Stop the POS for the window (it starts by itself after 300 s) and read its data
  poscloud.fleet.cutover_source:
    state: stopped
    services: [posd]
    hold_seconds: 300
    release_unit: poscloud-release-12345678
    summary_command: [/usr/local/bin/pos-summary]
    summary_user: pos
    manifest_paths: [/usr2/pos]
    manifest_dest: /var/lib/poscloud/manifests/manifest-12345678.jsonl
    manifest_cache: /var/lib/poscloud/manifests/cache-12345678.json
  register: source

- name: Make the stop lasting and record the move
  poscloud.fleet.cutover_source:
    state: committed
    services: [posd]
    release_unit: poscloud-release-12345678
    marker_path: /var/lib/poscloud/moved-to-cloud.json
    marker:
      store: "12345678"
      moved_to: cloud
'''

RETURN = r'''
summary:
  description: The application's summary read with it stopped (V(stopped) with O(summary_command)).
  returned: success
  type: dict
  sample: {"transactions": 31954, "digest": "571c7e3073a2ebdf"}
manifest:
  description: The manifest's figures (V(stopped) with O(manifest_paths)).
  returned: success
  type: dict
  contains:
    digest:
      description: SHA-256 of the manifest's canonical text.
      type: str
    entries:
      description: Entries (files, folders and links).
      type: int
    files:
      description: Files.
      type: int
    bytes:
      description: Total size of the files.
      type: int
timings:
  description: The server's time (seconds since the epoch) at the end of each part, C(stopped) and C(read)
    (the summary, then the manifest) for V(stopped), C(committed) for V(committed).
  returned: success
  type: dict
  sample: {"stopped": 1764755733.12, "read": 1764755733.51}
'''

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.poscloud.fleet.plugins.module_utils import hold
from ansible_collections.poscloud.fleet.plugins.module_utils import manifest as mf
from ansible_collections.poscloud.fleet.plugins.module_utils import process
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_write


def _systemctl(module, *args, **kwargs):
    rc, out, err = module.run_command(['systemctl'] + list(args))
    if rc != 0 and kwargs.get('check', True):
        module.fail_json(msg='systemctl %s failed (rc=%s): %s' % (' '.join(args), rc, (err or out).strip()))
    return rc, out


def stop(module, p):
    """Stop the services with their deadline. Returns whether anything changed."""
    names = p['services']
    if p['service_manager'] == 'poscloud-init':
        try:
            changed = hold.set_holds(p['hold_dir'], 'held', names, time.time() + p['hold_seconds'])
            hold.wait_for(names, False, p['hold_timeout'], hold.SERVICES_FILE)
        except (hold.HoldError, IOError, OSError) as e:
            module.fail_json(msg='Stopping %s failed: %s' % (', '.join(names), e))
        return changed
    # systemd: the deadline first, so that a stop never exists without it.
    timer = p['release_unit']
    _systemctl(module, 'stop', timer + '.timer', check=False)
    rc, out, err = module.run_command(
        ['systemd-run', '--unit=' + timer, '--on-active=%ds' % max(1, int(p['hold_seconds'])),
         '--timer-property=AccuracySec=1s', '/bin/sh', '-c', 'systemctl unmask "$@" && systemctl start "$@"',
         'poscloud-release'] + names)
    if rc != 0:
        module.fail_json(msg='Giving the stop its deadline failed (systemd-run, rc=%s): %s; nothing was stopped'
                         % (rc, (err or out).strip()))
    _systemctl(module, 'mask', *names)
    _systemctl(module, 'stop', *names)
    return True


def commit(module, p):
    """Make the stop lasting; fail, changing nothing the store needs, when its deadline passed."""
    names = p['services']
    if p['service_manager'] == 'poscloud-init':
        try:
            changed = hold.set_holds(p['hold_dir'], 'commit', names, margin=p['commit_margin'])
            hold.wait_for(names, False, p['hold_timeout'], hold.SERVICES_FILE)
        except (hold.HoldError, IOError, OSError) as e:
            module.fail_json(msg='Committing the stop failed: %s' % e)
        return changed
    # systemd: cancel the deadline first, then make sure no unit started again before that.
    timer = p['release_unit']
    _systemctl(module, 'stop', timer + '.timer', check=False)
    rc, out = _systemctl(module, 'is-active', *names, check=False)
    active = [n for n, s in zip(names, out.split()) if s.strip() in ('active', 'activating', 'reloading')]
    if active:
        module.fail_json(msg='Committing the stop failed: %s started again (the stop\'s deadline passed); '
                             'nothing was committed' % ', '.join(active))
    return True


def start_summary(p):
    """Start the application's summary command (``summary`` waits for it)."""
    return process.start(['runuser', '-u', p['summary_user'], '--'] + p['summary_command'])


def summary(module, p, proc):
    try:
        rc, out, err = process.finish(proc, p['hold_timeout'])
    except process.CommandTimeout as e:
        module.fail_json(msg='The application\'s summary (%s) %s' % (' '.join(p['summary_command']), e))
    if rc != 0:
        module.fail_json(msg='The application\'s summary (%s) failed (rc=%s): %s'
                         % (' '.join(p['summary_command']), rc, (err or out).strip()[:400]))
    try:
        data = json.loads(out)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        module.fail_json(msg='The application\'s summary (%s) did not print a JSON object: %s'
                         % (' '.join(p['summary_command']), out.strip()[:200]))
    return data


def make_manifest(module, p):
    trees = []
    for path in p['manifest_paths']:
        path = os.path.normpath(path)
        if not path.startswith('/') or path == '/' or not os.path.isdir(path):
            module.fail_json(msg='manifest_paths: %s is not a data folder on this server' % path)
        trees.append((path, path))
    for f in (p['manifest_dest'], p['manifest_cache']):
        if f and not os.path.isdir(os.path.dirname(f)):
            os.makedirs(os.path.dirname(f), 0o700)
    try:
        entries = mf.cached_tree_entries(trees, p['manifest_exclude'], p['manifest_cache'], module)
    except mf.ManifestError as e:
        module.fail_json(msg='The manifest failed: %s' % e)
    if p['manifest_dest']:
        atomic_write(module, p['manifest_dest'], mf.manifest_text(entries), 0o600)
    return mf.summarize(entries)


def ready(module, p):
    """Fail naming what V(stopped) would miss on this server."""
    problems = []
    names = p['services']
    if p['service_manager'] == 'poscloud-init':
        known = hold.running_services(hold.SERVICES_FILE)
        missing = [n for n in names if n not in known]
        if missing:
            problems.append('poscloud-init does not run %s (%s lists %s)'
                            % (', '.join(missing), hold.SERVICES_FILE, ', '.join(sorted(known)) or 'nothing'))
    else:
        for name in names:
            rc, out, err = module.run_command(['systemctl', 'cat', '--', name + '.service'])
            if rc != 0:
                problems.append('systemd has no unit %s.service' % name)
    for path in p['manifest_paths']:
        if not os.path.isdir(path):
            problems.append('the data folder %s does not exist' % path)
    if p['summary_command'] and not module.get_bin_path(p['summary_command'][0]) \
            and not os.access(p['summary_command'][0], os.X_OK):
        problems.append('the summary command %s is not there' % p['summary_command'][0])
    if problems:
        module.fail_json(msg='This server is not ready for the cutover window: %s. Nothing was stopped.'
                         % '; '.join(problems))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', required=True, choices=['ready', 'stopped', 'committed']),
            services=dict(type='list', elements='str', required=True),
            service_manager=dict(type='str', default='systemd', choices=['systemd', 'poscloud-init']),
            hold_dir=dict(type='path', default='/var/lib/poscloud/hold'),
            hold_seconds=dict(type='float', default=300),
            hold_timeout=dict(type='float', default=60),
            commit_margin=dict(type='float', default=10),
            release_unit=dict(type='str', default='poscloud-release'),
            summary_command=dict(type='list', elements='str', default=[]),
            summary_user=dict(type='str', default='root'),
            manifest_paths=dict(type='list', elements='path', default=[]),
            manifest_exclude=dict(type='list', elements='str', default=[]),
            manifest_dest=dict(type='path'),
            manifest_cache=dict(type='path'),
            marker=dict(type='dict'),
            marker_path=dict(type='path'),
        ),
        required_if=[('state', 'committed', ('marker', 'marker_path'))],
        supports_check_mode=True,
    )
    p = module.params
    if not p['services']:
        module.fail_json(msg='services: name at least one of the application\'s services (the profile\'s app_services)')
    if p['state'] == 'stopped' and p['hold_seconds'] <= 0:
        module.fail_json(msg='hold_seconds: %s; the stop needs a deadline of more than 0 seconds, after which the '
                             'server starts its application by itself' % p['hold_seconds'])
    if p['state'] == 'ready':
        ready(module, p)
        module.exit_json(changed=False, summary={}, manifest={}, timings={})
    if module.check_mode:
        module.exit_json(changed=True, summary={}, manifest={}, timings={})
    timings = {}
    result = {'changed': False, 'summary': {}, 'manifest': {}, 'timings': timings}
    if p['state'] == 'stopped':
        result['changed'] = stop(module, p)
        timings['stopped'] = time.time()
        # The application's summary first, then the manifest: a reader such as SQLite's opens side
        # files next to the database (a write-ahead log) and removes them when it ends, and a
        # manifest made meanwhile would list them.
        if p['summary_command']:
            try:
                proc = start_summary(p)
            except OSError as e:
                module.fail_json(msg='The application\'s summary (%s) cannot be run: %s' % (' '.join(p['summary_command']), e))
            result['summary'] = summary(module, p, proc)
        if p['manifest_paths']:
            result['manifest'] = make_manifest(module, p)
        timings['read'] = time.time()
    else:
        result['changed'] = commit(module, p)
        folder = os.path.dirname(p['marker_path'])
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o700)
        atomic_write(module, p['marker_path'], json.dumps(p['marker'], indent=4, sort_keys=True) + '\n', 0o600)
        result['changed'] = True
        timings['committed'] = time.time()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
