# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one playbook through ansible-runner and turn its events into task lines.

Each run keeps ansible-runner's own artefacts (stdout, events) under .state/console/runs/<run>/,
and .state/console/console.log gets one line per run (when, who, what, where, how it ended): every
action leaves the playbook's log. Secrets stay out of both: the pre-shared keys and password hashes
reach the playbooks through inventory and vault, never as extra vars or environment, and the tasks
that handle them are no_log, so ansible-runner censors their results."""
import datetime
import getpass
import json
import os
import re
import threading
from dataclasses import dataclass

from poscloud_console.project import environment

# The events a task line is made of, and the status each gives it.
RESULT_EVENTS = {
    'runner_on_ok': 'ok',
    'runner_on_failed': 'failed',
    'runner_on_skipped': 'skipped',
    'runner_on_unreachable': 'unreachable',
    'runner_item_on_failed': 'failed',
}


@dataclass
class TaskLine:
    task: str
    host: str
    status: str            # ok, changed, failed, skipped, unreachable, started
    message: str = ''      # a failure's message, or a debug task's output


def _debug_lines(res):
    msg = res.get('msg')
    if isinstance(msg, list):
        return [str(m) for m in msg]
    if isinstance(msg, str) and msg:
        return msg.splitlines()
    return []


def task_line(event):
    """An ansible-runner event -> a TaskLine, or None for events that are not a task's start or result."""
    data = event.get('event_data') or {}
    name = event.get('event')
    if name == 'playbook_on_task_start':
        return TaskLine(task=data.get('task') or data.get('name') or '', host='', status='started')
    if name not in RESULT_EVENTS:
        return None
    res = data.get('res') or {}
    status = RESULT_EVENTS[name]
    if status == 'ok' and res.get('changed'):
        status = 'changed'
    if data.get('ignore_errors') and status == 'failed':
        status = 'failed (ignored)'
    message = ''
    if status.startswith('failed') or status == 'unreachable':
        message = str(res.get('msg') or '')
    elif (data.get('task_action') or '').endswith('debug'):
        message = '\n'.join(_debug_lines(res))
    return TaskLine(task=data.get('task') or '', host=data.get('host') or '', status=status, message=message)


def facts_of(event, name):
    """The value of the fact `name` set by a set_fact result in this event, else None."""
    if event.get('event') != 'runner_on_ok':
        return None
    facts = ((event.get('event_data') or {}).get('res') or {}).get('ansible_facts') or {}
    return facts.get(name)


def run_dir_name(host, key, when=None):
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return '%s-%s-%s' % (when.strftime('%Y%m%dT%H%M%SZ'), re.sub(r'[^A-Za-z0-9_.-]', '_', host or 'all'),
                         re.sub(r'[^A-Za-z0-9]', '_', key))


class PlaybookRun(object):
    """One playbook run; start() returns at once, on_line is called (from the runner's thread) for
    every task start and result, on_done once with the return code and the per-host recap."""

    def __init__(self, root, inventory, request, label, on_line=None, on_done=None, watch_fact=None):
        self.root = root
        self.inventory = inventory
        self.request = request
        self.label = label
        self.on_line = on_line or (lambda line: None)
        self.on_done = on_done or (lambda rc, stats: None)
        self.watch_fact = watch_fact
        self.fact = None
        self.lines = []
        self.stats = {}
        self.rc = None
        self.status = 'new'
        runs = os.path.join(root, '.state', 'console', 'runs')
        os.makedirs(runs, mode=0o700, exist_ok=True)
        base = os.path.join(runs, run_dir_name(request.get('limit'), label))
        self.private_dir, n = base, 1
        while True:  # ansible-runner wants the folder to exist; two runs in one second get their own
            try:
                os.mkdir(self.private_dir, 0o700)
                break
            except FileExistsError:
                n += 1
                self.private_dir = '%s-%d' % (base, n)
        self.done = threading.Event()
        self._cancel = False

    def _event(self, event):
        if self.watch_fact:
            value = facts_of(event, self.watch_fact)
            if value is not None:
                self.fact = value
        if event.get('event') == 'playbook_on_stats':
            data = event.get('event_data') or {}
            for key in ('ok', 'changed', 'failures', 'skipped', 'dark', 'rescued', 'ignored'):
                for host, n in (data.get(key) or {}).items():
                    self.stats.setdefault(host, {})[key] = n
        line = task_line(event)
        if line is not None:
            self.lines.append(line)
            self.on_line(line)
        return True

    def _finished(self, runner):
        self.status = runner.status
        self.rc = runner.rc if runner.rc is not None else 1
        self._log()
        self.on_done(self.rc, self.stats)
        self.done.set()

    def _log(self):
        entry = {
            'time': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'user': getpass.getuser(), 'action': self.label, 'playbook': self.request['playbook'],
            'limit': self.request.get('limit'), 'check': '--check' in self.request.get('cmdline', []),
            'extravars': sorted(self.request.get('extravars', {})), 'rc': self.rc, 'status': self.status,
            'artefacts': self.private_dir,
        }
        path = os.path.join(self.root, '.state', 'console', 'console.log')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, 'a') as f:
            f.write(json.dumps(entry, sort_keys=True) + '\n')

    def start(self):
        import ansible_runner  # imported here: the console's list screen starts without it

        req = self.request
        kwargs = dict(
            private_data_dir=self.private_dir,
            playbook=os.path.join(self.root, 'playbooks', req['playbook']),
            inventory=self.inventory,
            extravars=req.get('extravars') or None,
            cmdline=' '.join(req.get('cmdline', [])) or None,
            envvars={k: v for k, v in environment(self.root).items()
                     if k in ('ANSIBLE_CONFIG', 'ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_NOCOLOR')},
            project_dir=self.root,
            quiet=True,
            event_handler=self._event,
            finished_callback=self._finished,
            cancel_callback=lambda: self._cancel,
        )
        if req.get('limit'):
            kwargs['limit'] = req['limit']
        os.environ['PATH'] = environment(self.root)['PATH']
        self.status = 'running'
        self.thread, self.runner = ansible_runner.run_async(**kwargs)
        return self

    def wait(self, timeout=None):
        self.done.wait(timeout)
        return self.rc

    def cancel(self):
        """Ask ansible-runner to stop the playbook (it sends the playbook SIGINT, then waits)."""
        self._cancel = True

    def stdout(self):
        """The playbook's own output as ansible-runner kept it."""
        for base, _dirs, files in os.walk(os.path.join(self.private_dir, 'artifacts')):
            if 'stdout' in files:
                with open(os.path.join(base, 'stdout'), errors='replace') as f:
                    return f.read()
        return ''


def recap_line(stats):
    """The playbook's recap, one host per line: host ok= changed= failed= unreachable= skipped=."""
    out = []
    for host in sorted(stats):
        s = stats[host]
        out.append('%s : ok=%d changed=%d failed=%d unreachable=%d skipped=%d' % (
            host, s.get('ok', 0), s.get('changed', 0), s.get('failures', 0), s.get('dark', 0), s.get('skipped', 0)))
    return out
