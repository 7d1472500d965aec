"""The tunnel modules' I/O: LocalHost and ContainerHost do the same things. ContainerHost runs its
real shell scripts here through a stand-in ``docker`` that runs ``docker exec``'s command on this
machine (in a folder of the test), so what it would do inside a container is done for real."""
import os
import stat
import subprocess
import threading
import time

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerCLI
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl import host as hostmod
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.host import (
    ContainerHost, HostError, LocalHost, LockTimeout)

FAKE_DOCKER = r'''#!/bin/sh
# docker exec [-i] [-e VAR=value]... CONTAINER COMMAND...: the command runs here
[ "$1" = exec ] || exit 2
shift
while :; do
  case "$1" in
    -i) shift ;;
    -e) export "$2"; shift 2 ;;
    *) break ;;
  esac
done
[ "$1" = pos_gone ] && { echo "Error response from daemon: No such container: pos_gone" >&2; exit 1; }
echo "$*" >> "$(dirname "$0")/calls"
shift
exec "$@"
'''


class Module(object):
    """What the hosts use of AnsibleModule: run_command (as Ansible runs commands: no shell)."""

    def __init__(self):
        self.commands = []

    def run_command(self, args, data=None, binary_data=False, environ_update=None):
        self.commands.append(args)
        env = dict(os.environ, **(environ_update or {}))
        proc = subprocess.run(args, input=data, capture_output=True, env=env, check=False)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    @staticmethod
    def selinux_enabled():
        return False


@pytest.fixture(params=['local', 'container'])
def on(request, tmp_path):
    module = Module()
    if request.param == 'local':
        return LocalHost(module)
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    docker = bin_dir / 'docker'
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    return ContainerHost(module, DockerCLI(module.run_command, binary=str(docker)), 'pos_12345678')


def test_files_are_read_in_one_go_with_their_modes(on, tmp_path):
    (tmp_path / 'a.conf').write_text('connections {\n}\n')
    (tmp_path / 'a.conf').chmod(0o640)
    (tmp_path / 'empty').write_text('')
    found = on.read_many([str(tmp_path / 'a.conf'), str(tmp_path / 'missing'), str(tmp_path), str(tmp_path / 'empty')])
    assert found[str(tmp_path / 'a.conf')] == ('connections {\n}\n', 0o640)
    assert found[str(tmp_path / 'missing')] == (None, None)
    assert found[str(tmp_path)] == (None, 'dir')
    assert found[str(tmp_path / 'empty')] == ('', 0o644)
    assert on.isdir(str(tmp_path)) and not on.isdir(str(tmp_path / 'a.conf'))
    if isinstance(on, ContainerHost):
        # one docker exec for all four
        assert len([c for c in on.module.commands if 'exec' in c]) == 3


def test_a_write_replaces_the_file_atomically_with_its_mode_and_leaves_no_temporary_file(on, tmp_path):
    target = tmp_path / 'x.secrets.conf'
    target.write_text('old\n')
    text = 'secret = "a key with \\"quotes\\" and $dollars `and` ünïcode"\n'
    on.write(str(target), text, 0o600)
    assert target.read_text() == text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith('.')] == []
    on.remove(str(target))
    on.remove(str(target))  # gone already: nothing to do
    assert not target.exists()


def test_a_write_makes_a_missing_folder_and_a_write_that_cannot_be_made_fails_naming_the_file(on, tmp_path):
    on.write(str(tmp_path / 'new' / 'x.conf'), 'x\n', 0o644)
    assert (tmp_path / 'new' / 'x.conf').read_text() == 'x\n'
    (tmp_path / 'plain').write_text('')
    with pytest.raises(HostError) as e:
        on.write(str(tmp_path / 'plain' / 'x.conf'), 'x\n', 0o644)
    assert str(tmp_path / 'plain' / 'x.conf') in str(e.value)


def test_folders_globs_sizes_and_tails(on, tmp_path):
    on.makedirs(str(tmp_path / 'conf.d'))
    (tmp_path / 'conf.d' / 'b.conf').write_text('b')
    (tmp_path / 'conf.d' / 'a.conf').write_text('a')
    assert on.glob(str(tmp_path / 'conf.d' / '*.conf')) == [str(tmp_path / 'conf.d' / n) for n in ('a.conf', 'b.conf')]
    assert on.glob(str(tmp_path / 'none' / '*.conf')) == []
    log = tmp_path / 'charon.log'
    log.write_text('one\ntwo\n')
    assert on.size(str(log)) == 8 and on.size(str(tmp_path / 'nolog')) is None
    assert on.tail(str(log), 4) == 'two\n'


def test_commands_run_where_the_host_is(on):
    rc, out, err = on.run(['sh', '-c', 'echo "$LC_ALL"; cat'], data=b'in')
    assert rc == 0 and out == 'C\nin'


def test_the_lock_is_exclusive_and_released(on, tmp_path):
    folder = str(tmp_path)
    on.lock([folder], 5)
    other = subprocess.run(['flock', '-n', folder, 'true'], check=False)
    assert other.returncode == 1, 'the folder was not locked'
    on.unlock()
    assert subprocess.run(['flock', '-n', folder, 'true'], check=False).returncode == 0


def test_the_lock_takes_the_first_folder_there_and_reads_under_it(on, tmp_path):
    (tmp_path / 'a.conf').write_text('a\n')
    files = [str(tmp_path / 'a.conf'), str(tmp_path / 'none')]
    found = on.lock([str(tmp_path / 'missing'), str(tmp_path)], 5, read=files)
    assert found == {files[0]: ('a\n', 0o644), files[1]: (None, None)}
    assert subprocess.run(['flock', '-n', str(tmp_path), 'true'], check=False).returncode == 1
    on.unlock()
    # no folder there: nothing to lock, the files are read all the same
    assert on.lock([str(tmp_path / 'missing')], 5, read=files[:1]) == {files[0]: ('a\n', 0o644)}
    on.unlock()
    if isinstance(on, ContainerHost):
        assert len([c for c in on.module.commands if 'exec' in c]) == 0  # the lock's exec is its own process


def test_a_lock_held_elsewhere_times_out(on, tmp_path):
    folder = str(tmp_path)
    holder = subprocess.Popen(['flock', folder, 'sleep', '5'])
    try:
        time.sleep(0.3)
        with pytest.raises(LockTimeout):
            on.lock([folder], 1)
    finally:
        holder.kill()
        holder.wait()


def test_a_container_that_is_gone_says_so(tmp_path):
    module = Module()
    docker = tmp_path / 'docker'
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    gone = ContainerHost(module, DockerCLI(module.run_command, binary=str(docker)), 'pos_gone')
    with pytest.raises(HostError) as e:
        gone.read_many(['/etc/hostname'])
    assert 'pos_gone' in str(e.value)
    assert hostmod.ContainerHost is ContainerHost and threading  # the module under test is the one imported
