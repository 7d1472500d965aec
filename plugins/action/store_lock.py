# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names the run that takes a store's lock (the controller's running ansible-playbook: host, process
id and start time), runs the store_lock module on the store's cloud host, and when another run holds
the lock decides on the controller whether that run still runs, takes over a stale lock only when
asked, and fails with a message that names the holder."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import getpass
import os
import socket
import time

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.poscloud.fleet.plugins.module_utils.lock import describe, owner_alive, process_start


def this_run(operation):
    """The running ansible-playbook: task workers are forked from it, so it is this worker's parent."""
    pid = os.getppid()
    controller = socket.gethostname()
    start = process_start(pid) or '0'
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    now = time.time()
    return {
        'run_id': '%s:%d:%s' % (controller, pid, start),
        'controller': controller,
        'pid': pid,
        'pid_start': start,
        'user': user,
        'operation': operation,
        'started': datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'started_epoch': now,
    }


class ActionModule(ActionBase):
    # ActionBase's defaults: no files to transfer; the module runs through the host's connection.

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        takeover = boolean(args.get('takeover', False), strict=False)
        owner = this_run(args.get('operation') or 'operation')
        args['owner'] = owner
        args.pop('takeover_of', None)
        res = self._execute_module(module_name='poscloud.fleet.store_lock', module_args=args, task_vars=task_vars)
        if res.get('failed') or args.get('state', 'present') != 'present' or res.get('outcome') != 'held':
            result.update(res)
            return result

        holder = res.get('holder') or {}
        alive = owner_alive(holder, owner['controller'])
        store = args.get('store')
        who = describe(holder)
        if alive is not True and takeover:
            args['takeover_of'] = holder.get('run_id', '')
            again = self._execute_module(module_name='poscloud.fleet.store_lock', module_args=args, task_vars=task_vars)
            result.update(again)
            if again.get('outcome') == 'taken_over':
                result['holder_alive'] = alive
                result.setdefault('warnings', []).append(
                    'store %s: took over the lock of %s, as asked (takeover)' % (store, who))
            elif not again.get('failed'):
                result.update(failed=True, msg='store %s: the lock changed hands while it was being taken over; '
                                               'run again' % store)
            return result

        result.update(res)
        result['holder_alive'] = alive
        result['failed'] = True
        if alive:
            result['msg'] = ('store %s is locked by another run: %s, which is still running. Nothing was changed. '
                             'Wait for it to end and run again.' % (store, who))
        elif alive is False:
            result['msg'] = ('store %s is locked by a run that is gone: %s (no such process runs now). Nothing was '
                             'changed. Look at what that run left (docs/cutover.md says what each step leaves), then '
                             'run again with -e poscloud_lock_takeover=true to take its lock over.' % (store, who))
        else:
            result['msg'] = ('store %s is locked by another run: %s; it runs on another controller, so whether it still '
                             'runs cannot be told from here. Nothing was changed. When you know it has ended, run again '
                             'with -e poscloud_lock_takeover=true.' % (store, who))
        return result
