import json
import os
import subprocess
import sys
import threading

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import lock


def owner(run_id, **kw):
    o = {'run_id': run_id, 'controller': 'ctl', 'pid': 1, 'pid_start': '1', 'user': 'root',
         'operation': 'cutover', 'started': '2026-12-03T09:00:00Z', 'started_epoch': 1000.0}
    o.update(kw)
    return o


def test_the_first_run_takes_the_lock_and_a_second_is_refused(tmp_path):
    path = lock.lock_path(str(tmp_path), '12345678')
    assert lock.acquire(path, owner('a')) == ('acquired', None)
    with open(os.path.join(path, 'owner.json')) as f:
        assert json.load(f)['run_id'] == 'a'
    outcome, holder = lock.acquire(path, owner('b'))
    assert outcome == 'held' and holder['run_id'] == 'a'
    # The refused run changed nothing.
    assert lock.read_owner(path)['run_id'] == 'a'
    assert sorted(os.listdir(os.path.dirname(path))) == ['lock']


def test_the_same_run_takes_it_again_and_only_the_holder_gives_it_back(tmp_path):
    path = lock.lock_path(str(tmp_path), '12345678')
    lock.acquire(path, owner('a'))
    assert lock.acquire(path, owner('a'))[0] == 'ours'
    assert lock.release(path, 'b')[0] is False and os.path.isdir(path)
    assert lock.release(path, 'a')[0] is True and not os.path.exists(path)
    assert lock.release(path, 'a') == (False, None)


def test_check_mode_takes_nothing(tmp_path):
    path = lock.lock_path(str(tmp_path), '12345678')
    assert lock.acquire(path, owner('a'), check_mode=True) == ('would_acquire', None)
    assert not os.path.exists(path)


def test_takeover_needs_the_holders_run_id(tmp_path):
    path = lock.lock_path(str(tmp_path), '12345678')
    lock.acquire(path, owner('dead'))
    assert lock.acquire(path, owner('new'), takeover_of='someone-else')[0] == 'held'
    outcome, holder = lock.acquire(path, owner('new'), takeover_of='dead')
    assert outcome == 'taken_over' and holder['run_id'] == 'dead'
    assert lock.read_owner(path)['run_id'] == 'new'


def test_a_lock_folder_without_a_readable_owner_is_held_by_an_unknown_owner(tmp_path):
    path = lock.lock_path(str(tmp_path), '12345678')
    os.makedirs(path)
    outcome, holder = lock.acquire(path, owner('a'))
    assert outcome == 'held' and holder['run_id'] == ''
    assert lock.owner_alive(holder, 'ctl') is None
    # An unknown owner can be taken over explicitly (its run id is the empty string).
    assert lock.acquire(path, owner('a'), takeover_of='')[0] == 'taken_over'


def test_many_runs_at_once_exactly_one_wins(tmp_path):
    path = lock.lock_path(str(tmp_path), '12345678')
    outcomes = []
    barrier = threading.Barrier(16)

    def take(i):
        barrier.wait()
        outcomes.append(lock.acquire(path, owner('run%d' % i))[0])
    threads = [threading.Thread(target=take, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ['acquired'] + ['held'] * 15
    assert [n for n in os.listdir(os.path.dirname(path)) if n != 'lock'] == []


@pytest.mark.parametrize('store', ['store\n', '', '../x', 'a/b', 'x' * 65, 12345678])
def test_store_ids_that_are_no_path_component_are_refused(tmp_path, store):
    with pytest.raises(lock.LockError, match='store'):
        lock.lock_path(str(tmp_path), store)


def test_a_running_process_is_alive_and_a_finished_one_is_gone():
    me = lock.process_start(os.getpid())
    assert me is not None
    assert lock.owner_alive(owner('x', pid=os.getpid(), pid_start=me), 'ctl') is True
    # Same process id, other start time: the id was reused by another process.
    assert lock.owner_alive(owner('x', pid=os.getpid(), pid_start=str(int(me) + 1)), 'ctl') is False
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()
    assert lock.owner_alive(owner('x', pid=child.pid, pid_start='1'), 'ctl') is False
    # A holder on another controller cannot be checked from here.
    assert lock.owner_alive(owner('x', pid=os.getpid(), pid_start=me), 'other') is None


def test_process_start_reads_a_command_name_with_spaces_and_parentheses(tmp_path):
    (tmp_path / '42').mkdir()
    fields = ['S'] + [str(i) for i in range(4, 30)]
    (tmp_path / '42' / 'stat').write_text('42 (a) b (c) ' + ' '.join(fields) + '\n')
    assert lock.process_start(42, proc=str(tmp_path)) == '22'
    assert lock.process_start(43, proc=str(tmp_path)) is None


def test_describe_names_who_and_since_when():
    text = lock.describe(owner('a', controller='ctl1', pid=4211), now=1042.0)
    assert text == 'cutover by root on ctl1 (pid 4211), since 2026-12-03T09:00:00Z (42 s ago)'


def test_the_run_is_the_controllers_running_playbook_process():
    from ansible_collections.poscloud.fleet.plugins.action.store_lock import this_run
    run = this_run('backup')
    # Task workers are forked from ansible-playbook: the run is this process's parent, with its start time.
    assert run['pid'] == os.getppid() and run['pid_start'] == lock.process_start(os.getppid())
    assert run['run_id'] == '%s:%d:%s' % (run['controller'], run['pid'], run['pid_start'])
    assert run['operation'] == 'backup' and run['started'].endswith('Z')
    assert lock.owner_alive(run, run['controller']) is True
