"""Timeouts of the docker command line wrapper."""
import os
import subprocess

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import docker_cli
from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerCLI, DockerError


class Recorder(object):
    def __init__(self, answer=(0, '20.10.24\n', '')):
        self.answer = answer
        self.calls = []

    def __call__(self, cmd, **kwargs):
        self.calls.append(cmd)
        return self.answer


def test_every_command_runs_under_coreutils_timeout():
    rec = Recorder()
    cli = DockerCLI(rec, host='unix:///run/d.sock', timeout=45)
    assert cli.ping() == '20.10.24'
    cli.run(['image', 'save', '--output', '/tmp/x', 'a'], long_call=True)
    first, second = rec.calls
    assert os.path.basename(first[0]) == 'timeout'
    assert first[1:3] == ['--kill-after=%d' % docker_cli.KILL_AFTER, '45']
    assert first[3:] == ['docker', '--host', 'unix:///run/d.sock', 'version', '--format', '{{.Server.Version}}']
    assert second[2] == str(45 * docker_cli.LONG_FACTOR)


@pytest.mark.parametrize('rc', docker_cli.TIMEOUT_CODES)
def test_a_command_that_times_out_raises_a_clear_error_even_unchecked(rc):
    cli = DockerCLI(Recorder((rc, '', '')), timeout=9)
    with pytest.raises(DockerError, match=r'docker image inspect did not finish within 9 s.*docker_timeout'):
        cli.run(['image', 'inspect', 'x'], check=False)


@pytest.mark.parametrize('value', [0, -3, 86401, 2.5, None, 'x'])
def test_timeout_out_of_range_is_refused(value):
    with pytest.raises(DockerError, match='docker_timeout: '):
        DockerCLI(Recorder(), timeout=value)


def test_module_timeout_fails_the_module_naming_the_option():
    class Failed(Exception):
        pass

    class Module(object):
        params = {'docker_timeout': -1}

        def fail_json(self, **kw):
            raise Failed(kw['msg'])
    with pytest.raises(Failed, match='docker_timeout: -1'):
        docker_cli.module_timeout(Module())


def test_a_piped_command_that_hangs_is_killed():
    proc = subprocess.Popen(['sleep', '30'], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with pytest.raises(DockerError, match='docker image import did not finish within 0 s'):
        docker_cli.communicate(proc, 0.3, 'docker image import')
    assert proc.poll() is not None


def test_import_of_a_hung_engine_stops(tmp_path, monkeypatch):
    fake = tmp_path / 'docker'
    fake.write_text('#!/bin/sh\nexec sleep 30\n')
    fake.chmod(0o755)
    (tmp_path / 'root').mkdir()
    monkeypatch.setattr(docker_cli, 'LONG_FACTOR', 1)
    cli = DockerCLI(Recorder(), binary=str(fake), timeout=1)
    with pytest.raises(DockerError, match='docker image import did not finish within 1 s'):
        cli.import_tree(str(tmp_path / 'root'), 'x:y')
