"""The swanctl runner: one command line for every caller (a local swanctl, or one behind a prefix such
as ``docker exec``), a time limit on every call, and a failing or unreadable query as DaemonError."""
import os
import pathlib

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerCLI, DockerError
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl import runner
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.runner import DaemonError, Swanctl
from ansible_collections.poscloud.fleet.plugins.modules import store_status

CAPTURES = pathlib.Path(__file__).parent / 'fixtures' / 'swanctl'
NOISE = "plugin 'ldap': failed to load - ldap_plugin_create not found\n"
REFUSED = "Error: connecting to 'default' URI failed: No such file or directory\n"


class Recorder(object):
    """Stands in for run_command: answers by the swanctl option, records command and environment."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        option = [a for a in cmd if a.startswith('--list') or a.startswith('--load')][0]
        return self.answers[option]


def untimed(cmd):
    assert os.path.basename(cmd[0]) == 'timeout' and cmd[1] == '--kill-after=5', cmd
    return int(cmd[2]), cmd[3:]


def healthy():
    return Recorder({'--list-conns': (0, (CAPTURES / 'list-conns-two.pretty').read_text(), NOISE),
                     '--list-sas': (0, (CAPTURES / 'list-sas-two.pretty').read_text(), '')})


def test_a_local_swanctl_runs_with_the_uri_under_a_time_limit():
    rec = healthy()
    swanctl = Swanctl(rec, '/usr/sbin/swanctl', uri='unix:///run/charon.vici')
    assert sorted(swanctl.list_conns()) == ['pcf-badkey', 'pcf-store', 'pcf-store2']
    cmd, kwargs = rec.calls[0]
    assert untimed(cmd) == (runner.COMMAND_TIMEOUT,
                            ['/usr/sbin/swanctl', '--list-conns', '--pretty', '--uri', 'unix:///run/charon.vici'])
    assert kwargs['environ_update'] == {'LC_ALL': 'C'}


def test_the_argv_prefix_comes_before_swanctl():
    rec = healthy()
    swanctl = Swanctl(rec, prefix=['docker', 'exec', '-e', 'LC_ALL=C', 'pos-cloud'], timeout=45)
    sas = swanctl.list_sas('pcf-store2')
    assert sorted(sa['name'] for sa in sas) == ['pcf-store', 'pcf-store2']
    assert untimed(rec.calls[0][0]) == (45, ['docker', 'exec', '-e', 'LC_ALL=C', 'pos-cloud', 'swanctl', '--list-sas',
                                             '--pretty', '--noblock', '--ike', 'pcf-store2'])


def test_a_failing_query_is_a_daemon_error_with_the_command_and_the_daemons_words():
    rec = Recorder({'--list-conns': (1, '', NOISE + REFUSED)})
    with pytest.raises(DaemonError) as e:
        Swanctl(rec).list_conns()
    assert str(e.value) == ("swanctl --list-conns --pretty failed (rc=1): Error: connecting to 'default' URI failed: "
                            "No such file or directory")
    assert e.value.detail == REFUSED.strip()


def test_output_that_cannot_be_read_is_a_daemon_error_not_a_traceback():
    def parse(_out):
        raise ValueError('unexpected line')
    rec = Recorder({'--list-conns': (0, 'list-conns reply {\n', '')})
    with pytest.raises(DaemonError, match=r"swanctl --list-conns printed output that cannot be read \(unexpected line; "
                                          r"last line: list-conns reply \{\)"):
        Swanctl(rec).query(parse, '--list-conns')


@pytest.mark.parametrize('rc', runner.TIMEOUT_CODES)
def test_a_command_that_times_out_calls_on_timeout_and_raises(rc):
    told = []
    swanctl = Swanctl(Recorder({'--load-conns': (rc, '', '')}), swanctl_dir='/etc/swanctl', on_timeout=told.append)
    with pytest.raises(DaemonError, match='swanctl --load-conns did not finish within 60 s'):
        swanctl.load('conns')
    assert told and 'did not finish' in told[0]


def test_store_status_reads_the_tunnels_through_docker_exec():
    rec = healthy()
    docker = DockerCLI(rec, host='unix:///run/cloud.sock', timeout=30)
    tunnels, error = store_status.read_tunnels(docker, 'pos-12345678')
    assert error == ''
    assert sorted(t['name'] for t in tunnels) == ['pcf-badkey', 'pcf-store', 'pcf-store2']
    seconds, cmd = untimed(rec.calls[0][0])
    assert seconds == 30
    assert cmd == ['docker', '--host', 'unix:///run/cloud.sock', 'exec', '-e', 'LC_ALL=C', 'pos-12345678', 'swanctl',
                   '--list-conns', '--pretty']


def test_store_status_reports_a_charon_that_does_not_answer():
    docker = DockerCLI(Recorder({'--list-conns': (1, '', NOISE + REFUSED)}))
    assert store_status.read_tunnels(docker, 'pos-12345678') == (
        [], "Error: connecting to 'default' URI failed: No such file or directory")


def test_store_status_fails_on_a_hung_exec():
    docker = DockerCLI(Recorder({'--list-conns': (124, '', '')}), timeout=20)
    with pytest.raises(DockerError, match='swanctl --list-conns did not finish within 20 s'):
        store_status.read_tunnels(docker, 'pos-12345678')


def test_store_status_reports_output_it_cannot_read():
    garbled = 'list-sa event {\n  pcf-store {\n    established = 5\n    child-sas = [\n  }\n}\n'
    rec = healthy()
    rec.answers['--list-sas'] = (0, garbled, '')
    tunnels, error = store_status.read_tunnels(DockerCLI(rec), 'pos-12345678')
    assert tunnels == [] and error.startswith('swanctl --list-sas --pretty --noblock printed output that cannot be read')
