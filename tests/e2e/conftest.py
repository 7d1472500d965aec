"""Helpers for the end-to-end tests: they drive the real playbooks and modules against the lab."""
import contextlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import testinfra

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lablib import BIN, LAB, ROOT, ansible_env, json_output as _json  # noqa: E402,F401 pylint: disable=wrong-import-position,unused-import


def _children():
    """pid -> the pids of its children, from /proc."""
    tree = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def kill_controller(pid):
    """Kill a playbook run the way the controller's death would: the process and everything under
    it. Ansible's workers and the module processes they start run in sessions of their own, so
    killing the run's process group would leave them running. Each process found is stopped first
    (a stopped process starts nothing more), the tree is read again until nothing new appears, then
    every process in it is killed."""
    found = set()
    for dummy in range(10):
        tree = _children()
        todo, new = [pid], []
        while todo:
            p = todo.pop()
            if p not in found:
                new.append(p)
            todo.extend(tree.get(p, []))
        new = [p for p in new if p not in found]
        if not new:
            break
        for p in new:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        found.update(new)
    for p in found:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


OUTPUT = os.path.join(ROOT, 'tests', 'output', 'e2e')


def keep_output(playbook, stdout):
    """Keep a playbook's JSON output under tests/output/e2e, named by the test that ran it, so
    scripts/suite_time.py can say where the suite's time goes."""
    test = os.environ.get('PYTEST_CURRENT_TEST', 'none').split(' ')[0]
    name = '%.3f-%s-%s.json' % (time.time(), test.replace('/', '.').replace('::', '--'), os.path.basename(playbook))
    os.makedirs(OUTPUT, exist_ok=True)
    with open(os.path.join(OUTPUT, name[:240]), 'w') as f:
        f.write(stdout)


@contextlib.contextmanager
def webhook(status=204):
    """A local HTTP receiver for the collection's notifications: yields (url, events), events being the
    JSON bodies POSTed to it, in order."""
    events = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the name http.server calls)
            length = int(self.headers.get('Content-Length', 0))
            events.append(json.loads(self.rfile.read(length).decode()))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d/events' % server.server_address[1], events
    finally:
        server.shutdown()
        server.server_close()


class Lab(object):
    root = ROOT

    def module(self, name, args, check=False, host='lab_build'):
        """Run one module on a lab host; returns the module's result dict."""
        cmd = [os.path.join(BIN, 'ansible'), host, '-i', LAB, '-m', name, '-a', json.dumps(args)]
        if check:
            cmd.append('--check')
        proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(), capture_output=True, text=True, check=False)
        data = _json(proc.stdout)
        return data['plays'][0]['tasks'][0]['hosts'][host]

    def playbook(self, playbook, *args, **extra_env):
        """Run a playbook with the JSON callback; returns (rc, parsed output)."""
        cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', LAB, os.path.join(ROOT, playbook)] + list(args)
        proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(**extra_env), capture_output=True, text=True, check=False)
        keep_output(playbook, proc.stdout)
        if '{' not in proc.stdout:
            raise AssertionError('%s gave no JSON output (rc %s): %s' % (playbook, proc.returncode, proc.stderr[-3000:]))
        return proc.returncode, _json(proc.stdout)

    @staticmethod
    def docker(*args):
        return subprocess.run(['docker'] + list(args), capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope='session')
def lab():
    return Lab()


def lab_host(container):
    """A lab container as a testinfra host (its docker backend): its files, packages, processes and
    sockets read as such, and commands run in it with ``run`` and ``check_output``."""
    return testinfra.get_host('docker://' + container)


def answers_health(container):
    """True when the POS application in the container answers its health URL."""
    return lab_host(container).run(
        'python3 -c "import urllib.request; urllib.request.urlopen(\'http://127.0.0.1:8080/health\', timeout=3)"').rc == 0


def instance_current(store_id):
    """True when the store's router, physical server and cloud instance run, the instance runs the
    store's latest snapshot and its application answers: what lab.yml, stage_pos.yml and
    pos_start.yml would make, so a fixture that needs only that state can skip them (the tests
    that prove those playbooks run them)."""
    def out(*args):
        return subprocess.run(['docker'] + list(args), capture_output=True, text=True, check=False).stdout.strip()
    running = out('ps', '--format', '{{.Names}}').split()
    if not all(c % store_id in running for c in ('router_%s', 'posserver_%s', 'pos_%s')):
        return False
    latest = out('image', 'inspect', '-f', '{{.Id}}', 'poscloud/store-%s:latest' % store_id)
    if out('inspect', '-f', '{{.Image}}', 'pos_%s' % store_id) != latest:
        return False
    return answers_health('pos_%s' % store_id)


def task_results(output, name_part):
    """All host results of the tasks whose name contains ``name_part``."""
    found = []
    for play in output['plays']:
        for task in play['tasks']:
            if name_part in task['task']['name']:
                found.extend(task['hosts'].values())
    return found


def failures(out):
    """The messages of every failed task result (and failed loop item) in a playbook's output."""
    msgs = []
    for play in out['plays']:
        for task in play['tasks']:
            for result in task['hosts'].values():
                if result.get('failed'):
                    msgs.append(str(result.get('msg', '')))
                    msgs.extend(str(i.get('msg', '')) for i in result.get('results', []) if i.get('failed'))
    return '\n'.join(msgs)
