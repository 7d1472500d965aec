"""The operator's console, `poscloud`, against the lab: driven headless with Textual's own harness
(store list, search, store 12345678's header with its real values, POS status and a test print with
the live task view, a purge refused until the id is typed, check mode offered, a VPN create that
leaves no secret in the console's logs), in a real terminal through tmux, and as the plain
`poscloud status` a script runs."""
import asyncio
import glob
import os
import subprocess
import time

import pytest

from conftest import BIN, LAB, ROOT, ansible_env, instance_current
from test_secrets import hits, password_hashes, psk

from poscloud_console.app import ActionDialog, ConsoleApp, HostScreen, RunScreen
from poscloud_console.project import load_hosts

STORE = 'store_12345678'
STORE_ID = '12345678'
CONSOLE_STATE = os.path.join(ROOT, '.state', 'console')


def playbook(name, *args):
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', LAB, os.path.join(ROOT, 'playbooks', name),
                           '-l', STORE] + list(args), cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default'),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


@pytest.fixture(scope='module')
def store_up(lab):
    """Store 12345678 selling in the cloud with its tunnels up (what the other tests of this stream
    leave; made here when they did not run)."""
    if not instance_current(STORE_ID):
        playbook('lab.yml')
        playbook('stage_pos.yml')
        playbook('pos_start.yml')
    playbook('vpn.yml', '-e', 'vpn_action=create')
    return lab


def runs():
    return set(glob.glob(os.path.join(CONSOLE_STATE, 'runs', '*')))


async def until(pilot, condition, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if condition():
            return
        await pilot.pause(0.2)
    raise AssertionError('the console did not show %s within %d s; screen: %s' % (what, timeout, pilot.app.screen))


def text_of(screen, selector):
    return str(screen.query_one(selector).content)


async def run_to_end(pilot, timeout=240):
    """Wait for the run screen's playbook to end; returns the run."""
    await until(pilot, lambda: isinstance(pilot.app.screen, RunScreen), 10, 'the run screen')
    screen = pilot.app.screen
    await until(pilot, lambda: screen.run is not None and screen.run.rc is not None, timeout, 'the end of the run')
    await pilot.pause(0.5)
    return screen


def test_the_console_drives_the_store_menu_headless(store_up):
    hosts = load_hosts(ROOT, LAB)

    async def scenario():
        app = ConsoleApp(ROOT, LAB, hosts)
        async with app.run_test(size=(80, 24)) as pilot:
            # The store list, and searching by name.
            table = app.screen.query_one('#stores')
            assert table.row_count >= 3
            await pilot.press('/', *'mike')
            assert table.row_count == 1
            await pilot.press('enter')
            await until(pilot, lambda: isinstance(app.screen, HostScreen), 5, "the store's screen")
            store = app.screen
            assert "Mike's Store of Stuff 12345678" in text_of(store, '#title')
            # The header, with the lab's real values, read by the POS status playbook.
            await until(pilot, lambda: 'POS IP' in text_of(store, '#header'), 120, 'the header')
            head = text_of(store, '#header')
            assert 'POS IP: 192.168.222.222' in head, head
            assert 'Status: Up' in head and 'Type  : demo profile' in head, head
            assert 'phonehome: ESTABLISHED since' in head and 'backoffice: ESTABLISHED since' in head, head

            # POS status: typing 1 moves to the item, Enter runs it with the live task view.
            await pilot.press('1')
            assert text_of(store, '#selection') == 'Enter selection: 1'
            await pilot.press('enter')
            run = await run_to_end(pilot)
            assert run.run.rc == 0
            assert any(line.task == 'POS status' and line.status == 'ok' for line in run.run.lines)
            shown = '\n'.join(str(strip.text) for strip in run.query_one('#tasks').lines)
            assert 'ok' in shown and 'POS status' in shown and 'PLAY RECAP' in shown and 'failed=0' in shown, shown
            assert text_of(run, '#counts').startswith('done, rc 0')
            await pilot.press('escape')

            # Test print: 15, no dialog (it changes nothing on the store's data).
            await pilot.press('1', '5')
            assert text_of(store, '#selection') == 'Enter selection: 15'
            await pilot.press('enter')
            run = await run_to_end(pilot)
            assert run.run.rc == 0, [(line.task, line.message) for line in run.run.lines if line.status == 'failed']
            assert any('test page' in line.task.lower() and line.status in ('ok', 'changed') for line in run.run.lines)
            await pilot.press('escape')

            # Purge: refused until the store id is typed; nothing runs.
            before = runs()
            await pilot.press('p', 'enter')
            await until(pilot, lambda: isinstance(app.screen, ActionDialog), 5, 'the purge dialog')
            dialog = app.screen
            await pilot.click('#run')
            assert 'Refused: type 12345678 exactly' in text_of(dialog, '#refusal')
            await pilot.click('#typed')
            await pilot.press(*'23456789')
            await pilot.click('#run')
            assert "typed: '23456789'" in text_of(dialog, '#refusal')
            assert app.screen is dialog and runs() == before
            assert dialog.query('#check'), 'check mode is offered for a purge'
            await pilot.press('escape')
            assert app.screen is store and runs() == before

            # Check mode is offered for Start POS; it runs with --check and changes nothing.
            await pilot.press('2', 'enter')
            await until(pilot, lambda: isinstance(app.screen, ActionDialog), 5, 'the start dialog')
            assert not app.screen.query('#typed'), 'Start POS needs no typed id'
            await pilot.click('#check')
            run = await run_to_end(pilot)
            assert run.check and run.request['cmdline'] == ['--check', '--diff']
            assert 'check mode' in text_of(run, '#title')
            assert run.run.rc == 0 and all(s.get('changed', 0) == 0 for s in run.run.stats.values()), run.run.stats
            await pilot.press('escape')

            # Create VPN, through the console.
            await pilot.press('1', '1', '2', 'enter')
            await until(pilot, lambda: isinstance(app.screen, ActionDialog), 5, 'the VPN dialog')
            await pilot.click('#run')
            run = await run_to_end(pilot)
            assert run.run.rc == 0
            await pilot.press('escape')

    asyncio.run(scenario())

    # No pre-shared key and no password hash in anything the console kept.
    secrets = [psk()] + password_hashes()
    found = []
    for base, _dirs, files in os.walk(CONSOLE_STATE):
        for name in files:
            with open(os.path.join(base, name), 'rb') as f:
                found += [(h, os.path.join(base, name)) for h in hits(secrets, f.read())]
    assert not found, found
    with open(os.path.join(CONSOLE_STATE, 'console.log')) as f:
        assert '"action": "112"' in f.read()


def test_poscloud_status_prints_the_header_for_scripts(store_up):
    proc = subprocess.run([os.path.join(BIN, 'poscloud'), 'status', '--store', STORE_ID], capture_output=True,
                          text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["Mike's Store of Stuff", STORE_ID], proc.stdout
    assert 'POS IP: 192.168.222.222' in lines and any(line.startswith('    phonehome: ESTABLISHED') for line in lines)
    proc = subprocess.run([os.path.join(BIN, 'poscloud'), 'status', '--store', '11111111'], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 2 and 'no store 11111111 in the inventory' in proc.stderr


def test_the_console_in_a_real_terminal(store_up):
    """tmux runs the console at 80x24 as a technician's SSH session would; keys are sent and the pane
    captured."""
    session = 'poscloud-console-test'
    subprocess.run(['tmux', 'kill-session', '-t', session], capture_output=True, check=False)
    subprocess.run(['tmux', 'new-session', '-d', '-s', session, '-x', '80', '-y', '24',
                    '%s --store %s' % (os.path.join(BIN, 'poscloud'), STORE_ID)], check=True, env=dict(os.environ, TERM='xterm-256color'))

    def pane():
        return subprocess.run(['tmux', 'capture-pane', '-p', '-t', session], capture_output=True, text=True,
                              check=False).stdout

    def wait_for(text, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if text in pane():
                return pane()
            time.sleep(0.5)
        raise AssertionError('%r not on the screen within %d s:\n%s' % (text, timeout, pane()))

    try:
        header = wait_for('POS IP: 192.168.222.222', 120)
        assert "Mike's Store of Stuff 12345678" in header and 'Enter selection' in header
        keep('console-store.txt', header)
        # POS Status, caught while it runs: the live task view and the progress line.
        subprocess.run(['tmux', 'send-keys', '-t', session, '1', 'Enter'], check=True)
        running, end = None, time.time() + 120
        while time.time() < end and running is None:
            screen = pane()
            if 'done, rc' in screen or 'FAILED, rc' in screen:
                break
            if 'running, ' in screen and ' | ' in screen:
                running = screen
            time.sleep(0.1)
        assert running, 'POS Status was never seen running with a task line:\n' + pane()
        assert 'POS Status - store 12345678' in running
        keep('console-pos-status-running.txt', running)
        wait_for('done, rc 0', 120)
        subprocess.run(['tmux', 'send-keys', '-t', session, 'Escape'], check=True)
        wait_for('Enter selection', 10)
        subprocess.run(['tmux', 'send-keys', '-t', session, '1', '1', '1', 'Enter'], check=True)
        result = wait_for('done, rc 0', 120)
        result = wait_for('PLAY RECAP', 10)
        keep('console-vpn-status.txt', result)
        assert 'VPN Status - store 12345678' in result
        subprocess.run(['tmux', 'send-keys', '-t', session, 'Escape'], check=True)
        wait_for('Enter selection', 10)
        subprocess.run(['tmux', 'send-keys', '-t', session, 'x'], check=True)
        end = time.time() + 10
        while time.time() < end and subprocess.run(['tmux', 'has-session', '-t', session], capture_output=True,
                                                   check=False).returncode == 0:
            time.sleep(0.3)
    finally:
        subprocess.run(['tmux', 'kill-session', '-t', session], capture_output=True, check=False)


def keep(name, text):
    """The pane as captured, for the docs' text screenshots (tests/output/console/)."""
    out = os.path.join(ROOT, 'tests', 'output', 'console')
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, name), 'w') as f:
        f.write(text)
