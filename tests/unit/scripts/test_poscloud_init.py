"""The instance init (roles/pos_stage/files/poscloud_init.py), run for real with two services:
a held service is stopped cleanly and kept down, and starts again when released."""
import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
INIT = os.path.join(ROOT, 'roles', 'pos_stage', 'files', 'poscloud_init.py')


def wait(check, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if check():
                return True
        except (IOError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError('timed out')


def test_hold_stops_a_service_keeps_it_down_and_release_starts_it(tmp_path):
    services = [{'name': 'app', 'command': [sys.executable, '-c', 'import time; time.sleep(600)']},
                {'name': 'infra', 'command': [sys.executable, '-c', 'import time; time.sleep(600)']}]
    (tmp_path / 'services.json').write_text(json.dumps(services))
    hold = tmp_path / 'hold'
    hold.mkdir()
    (hold / 'app').write_text('')
    state = tmp_path / 'state.json'
    env = dict(os.environ, POSCLOUD_SERVICES=str(tmp_path / 'services.json'), POSCLOUD_STATE=str(state),
               POSCLOUD_HOLD_DIR=str(hold))
    log = open(str(tmp_path / "init.log"), "w+")
    proc = subprocess.Popen([sys.executable, INIT], env=env, stderr=log, text=True)
    try:
        def running():
            return dict((s['name'], s['running']) for s in json.loads(state.read_text()))
        wait(lambda: running() == {'app': False, 'infra': True})      # held from the start
        time.sleep(1)
        assert running() == {'app': False, 'infra': True}             # and kept down
        (hold / 'app').unlink()
        wait(lambda: running() == {'app': True, 'infra': True})       # released
        (hold / 'app').write_text('')
        wait(lambda: running() == {'app': False, 'infra': True})      # held again
        assert [s for s in json.loads(state.read_text()) if s['name'] == 'app'][0]['held'] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        log.seek(0)
        out = log.read()
    assert proc.returncode == 0
    assert 'app is held; not starting it' in out and 'app is held; stopping it' in out
    assert 'restarting' not in out


HOLD = os.path.join(ROOT, 'plugins', 'module_utils', 'hold.py')


def test_a_hold_with_a_deadline_is_released_by_the_init_itself_and_a_lasting_one_is_not(tmp_path):
    services = [{'name': 'app', 'command': [sys.executable, '-c', 'import time; time.sleep(600)']},
                {'name': 'other', 'command': [sys.executable, '-c', 'import time; time.sleep(600)']}]
    (tmp_path / 'services.json').write_text(json.dumps(services))
    hold = tmp_path / 'hold'
    state = tmp_path / 'state.json'
    env = dict(os.environ, POSCLOUD_SERVICES=str(tmp_path / 'services.json'), POSCLOUD_STATE=str(state),
               POSCLOUD_HOLD_DIR=str(hold))
    proc = subprocess.Popen([sys.executable, INIT], env=env, stderr=subprocess.DEVNULL)

    def running():
        return dict((s['name'], s['running']) for s in json.loads(state.read_text()))

    def hold_py(want, until=None, *names):
        # hold.py reads the init's state from /run/poscloud; the test points it at this init's file.
        e = dict(env, POSCLOUD_STATE=str(state), HOLD_SERVICES_FILE=str(state))
        e.pop('HOLD_UNTIL', None)
        if until is not None:
            e['HOLD_UNTIL'] = str(until)
        out = subprocess.run([sys.executable, '-c', open(HOLD).read(), str(hold), want] + list(names), env=e,
                             capture_output=True, text=True, check=True, timeout=30).stdout
        return json.loads(out)['changed']
    try:
        wait(lambda: running() == {'app': True, 'other': True})
        # The window's hold: the service stops at once and comes back by itself at the deadline.
        assert hold_py('held', time.time() + 3, 'app') is True
        assert running()['app'] is False
        time.sleep(1)
        assert running()['app'] is False and (hold / 'app').exists()
        wait(lambda: running()['app'] is True, timeout=10)
        assert not (hold / 'app').exists()
        # The commit: a hold without a deadline lasts, and rewriting a deadline hold as lasting changes it.
        assert hold_py('held', time.time() + 2, 'other') is True
        assert hold_py('held', None, 'other') is True
        assert hold_py('held', None, 'other') is False
        time.sleep(4)
        assert running()['other'] is False and (hold / 'other').read_text() == ''
        assert hold_py('released', None, 'other') is True
        wait(lambda: running()['other'] is True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
