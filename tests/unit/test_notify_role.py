"""The notify role against a local HTTP receiver: one POST of JSON per event, a receiver that
refuses or is not there is reported and never fails the play, nothing is sent in check mode, and
the webhook's secret headers never reach the output."""
import http.server
import json
import os
import subprocess
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, '.venv', 'bin')
TOKEN = 'Bearer s3cret-notify-token'

PLAY = '''---
- name: Send events
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Notify
      ansible.builtin.include_role:
        name: poscloud.fleet.notify
      vars:
        notify_events:
          - {operation: fleet update, host: store_1, store: "1", outcome: updated, detail: new snapshot,
             evidence: "%(reports)s/fleet/history/fleet-update.json"}
          - {operation: fleet update, host: store_2, store: "2", outcome: outside window, detail: closed,
             evidence: "%(reports)s/fleet/history/fleet-update.json"}
'''


class Receiver(object):
    def __init__(self, status):
        self.events, self.headers = [], []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                outer.events.append(json.loads(body.decode()))
                outer.headers.append(dict(self.headers))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d/hook' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def play(tmp_path):
    reports = tmp_path / 'reports'
    (reports / 'fleet' / 'history').mkdir(parents=True)
    (reports / 'fleet' / 'history' / 'fleet-update.json').write_text('{}\n')
    path = tmp_path / 'notify.yml'
    path.write_text(PLAY % {'reports': reports})

    def run(*args):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'))
        return subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', str(path),
                               '-e', 'poscloud_reports_dir=%s' % reports,
                               '-e', 'ansible_python_interpreter=%s' % os.path.join(BIN, 'python')] + list(args),
                              cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=240, check=False)
    return run, reports


def notify(run, status, *args):
    """Run the play (with ``args``) against a receiver that answers ``status``, and check that the
    play succeeds; returns its process and the receiver, closed."""
    receiver = Receiver(status)
    try:
        proc = run('-e', 'notify_webhook_url=%s' % receiver.url, *args)
    finally:
        receiver.close()
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc, receiver


def test_one_event_per_host_with_a_link_to_the_evidence(play):
    run, reports = play
    proc, receiver = notify(run, 204, '-e', 'notify_evidence_base_url=https://reports.example.com/fleet-reports/')
    assert [(e['host'], e['outcome']) for e in receiver.events] == [('store_1', 'updated'), ('store_2', 'outside window')]
    first = receiver.events[0]
    assert first['source'] == 'poscloud.fleet' and first['operation'] == 'fleet update' and first['store'] == '1'
    assert first['evidence'] == 'https://reports.example.com/fleet-reports/fleet/history/fleet-update.json'
    assert first['finished'].endswith('Z') and first['downtime_seconds'] is None
    assert 'changed=0' in proc.stdout


def test_without_a_base_url_the_evidence_is_its_path_on_the_controller(play):
    run, reports = play
    proc, receiver = notify(run, 200)
    assert receiver.events[0]['evidence'] == str(reports / 'fleet' / 'history' / 'fleet-update.json')


def test_a_receiver_that_refuses_or_is_gone_is_reported_and_the_play_goes_on(play):
    run, dummy = play
    proc, receiver = notify(run, 500)
    assert len(receiver.events) == 2
    assert proc.stdout.count('The webhook did not take the event') == 2 and '(500 ' in proc.stdout
    # nothing listens there any more
    proc = run('-e', 'notify_webhook_url=%s' % receiver.url, '-e', 'notify_timeout=3')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert proc.stdout.count('The webhook did not take the event') == 2 and '(-1 ' in proc.stdout


def test_check_mode_and_no_url_send_nothing(play):
    run, dummy = play
    receiver = Receiver(204)
    try:
        assert run('--check', '-e', 'notify_webhook_url=%s' % receiver.url).returncode == 0
        assert run().returncode == 0
    finally:
        receiver.close()
    assert receiver.events == []


def test_secret_headers_reach_the_receiver_and_never_the_output(play):
    run, dummy = play
    proc, receiver = notify(run, 204, '-v', '-e', '{"notify_webhook_headers": {"Authorization": "%s"}}' % TOKEN)
    assert [h.get('Authorization') for h in receiver.headers] == [TOKEN, TOKEN]
    assert 's3cret' not in proc.stdout + proc.stderr
