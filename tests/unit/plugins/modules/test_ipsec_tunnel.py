"""Module-level tests of ipsec_tunnel and ipsec_tunnel_info against a fake charon.

swanctl is replaced by ``Daemon``, which answers like strongSwan 5.9.8 does: it loads the connection
files the module writes, lists connections and SAs in swanctl's --pretty format, initiates and
terminates. Files live in tmp_path.
"""
import fcntl
import glob
import json
import os
import re
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.poscloud.fleet.plugins.module_utils import fileops
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.parse import parse_vici_pretty
from ansible_collections.poscloud.fleet.plugins.modules import ipsec_tunnel, ipsec_tunnel_info
from ansible_collections.poscloud.fleet.tests.unit.harness import run_module

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'module_utils', 'fixtures', 'swanctl')
PSK = 'Unit-test "key" \\ with #chars 0123456789'
OTHER_PSK = 'another-unit-test-key-0123456789'


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


class Clock(object):
    """Replaces the module's time: sleep() advances time() without waiting."""

    def __init__(self):
        self.now = 1795000000.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(ipsec_tunnel, 'time', c)
    return c


_DPD_LISTED = {'clear': 'none', 'trap': 'trap', 'restart': 'start'}


class Daemon(object):
    """A fake charon behind a fake swanctl."""

    def __init__(self, swanctl_dir):
        self.dir = swanctl_dir
        self.loaded = {}
        self.secrets = set()
        self.sas = []
        self.calls = []
        self.timeouts = []
        self.next_id = 1
        self.reachable = True
        self.initiate_answer = None
        self.load_conns_answer = None
        self.on_load = None
        self.override = None

    # -- helpers
    def ops(self):
        return [c[1] for c in self.calls]

    def add_sa(self, name, state='ESTABLISHED', child_state='INSTALLED', tasks=None):
        sa = {'name': name, 'uniqueid': self.next_id, 'state': state, 'child_state': child_state,
              'tasks': tasks or []}
        self.next_id += 1
        self.sas.append(sa)
        return sa

    def read_confs(self):
        conns = {}
        secrets = set()
        for path in sorted(glob.glob(os.path.join(self.dir, 'conf.d', '*.conf'))):
            with open(path) as f:
                text = f.read()
            for m in re.finditer(r'ike-(\S+) \{', text):
                secrets.add('ike-' + m.group(1))
            m = re.search(r'^connections \{\n    (\S+) \{', text, re.M)
            if not m:
                continue

            def value(key):
                found = re.search(r'^\s*%s = (.*)$' % key, text, re.M)
                return found.group(1) if found else ''
            ids = re.findall(r'^\s*id = "(.*)"$', text, re.M)
            conns[m.group(1)] = {
                'local_addrs': value('local_addrs').split(','),
                'remote_addrs': value('remote_addrs').split(','),
                'local_id': ids[0], 'remote_id': ids[1],
                'local_ts': value('local_ts').split(','), 'remote_ts': value('remote_ts').split(','),
                'dpd_delay': value('dpd_delay').rstrip('s'), 'dpd_action': value('dpd_action'),
            }
        return conns, secrets

    def render_conns(self):
        out = []
        for name, c in sorted(self.loaded.items()):
            out += ['list-conn event {', '  %s {' % name, '    local_addrs = ['] + \
                ['      %s' % a for a in c['local_addrs']] + ['    ]', '    remote_addrs = ['] + \
                ['      %s' % a for a in c['remote_addrs']] + ['    ]', '    version = IKEv2']
            if c['dpd_delay'] not in ('', '0'):
                out.append('    dpd_delay = %s' % c['dpd_delay'])
            out += ['    local-1 {', '      id = %s' % c['local_id'], '      class = pre-shared key', '    }',
                    '    remote-1 {', '      id = %s' % c['remote_id'], '      class = pre-shared key', '    }',
                    '    children {', '      %s {' % name, '        mode = TUNNEL',
                    '        dpd_action = %s' % _DPD_LISTED[c['dpd_action']], '        local-ts = ['] + \
                ['          %s' % t for t in c['local_ts']] + ['        ]', '        remote-ts = ['] + \
                ['          %s' % t for t in c['remote_ts']] + ['        ]', '      }', '    }', '  }', '}']
        out += ['list-conns reply {', '}']
        return '\n'.join(out) + '\n'

    def render_sas(self, only=None):
        out = []
        for sa in self.sas:
            if only and sa['name'] != only:
                continue
            out += ['list-sa event {', '  %s {' % sa['name'], '    uniqueid = %d' % sa['uniqueid'],
                    '    version = 2', '    state = %s' % sa['state'], '    local-host = 198.51.100.10',
                    '    remote-host = 203.0.113.42', '    established = 5']
            if sa['tasks']:
                out += ['    tasks-active = ['] + ['      %s' % t for t in sa['tasks']] + ['    ]']
            out += ['    child-sas {']
            if sa['child_state']:
                out += ['      %s-%d {' % (sa['name'], sa['uniqueid']), '        name = %s' % sa['name'],
                        '        uniqueid = %d' % sa['uniqueid'], '        state = %s' % sa['child_state'],
                        '        bytes-in = 84', '        packets-in = 1', '      }']
            out += ['    }', '  }', '}']
        out += ['list-sas reply {', '}']
        return '\n'.join(out) + '\n'

    # -- swanctl
    def __call__(self, cmd, **kwargs):
        seconds, cmd = untimed(cmd)
        self.timeouts.append(seconds)
        self.calls.append(cmd)
        assert cmd[0] == '/usr/sbin/swanctl'
        args = list(cmd[1:])
        if '--uri' in args:
            i = args.index('--uri')
            del args[i:i + 2]
        if not self.reachable:
            return 1, '', ("plugin 'ldap': failed to load - ldap_plugin_create not found\n"
                           "connecting to 'unix:///var/run/charon.vici' failed: No such file or directory\n"
                           "Error: connecting to 'default' URI failed: No such file or directory\n")
        if self.override is not None:
            answer = self.override(args)
            if answer is not None:
                return answer
        op = args[0]
        if op == '--list-conns':
            return 0, self.render_conns(), "plugin 'ldap': failed to load\n"
        if op == '--list-sas':
            only = args[args.index('--ike') + 1] if '--ike' in args else None
            return 0, self.render_sas(only), ''
        if op == '--load-creds':
            _conns, secrets = self.read_confs()
            self.secrets = secrets
            return 0, ''.join("loaded ike secret '%s'\n" % s for s in sorted(secrets)), ''
        if op == '--load-conns':
            if self.load_conns_answer:
                return self.load_conns_answer
            conns, _unused = self.read_confs()
            unloaded = [n for n in self.loaded if n not in conns]
            self.loaded = conns
            if self.on_load:
                self.on_load(self)
            text = ''.join("loaded connection '%s'\n" % n for n in sorted(conns))
            return 0, text + 'successfully loaded %d connections, %d unloaded\n' % (len(conns), len(unloaded)), ''
        if op == '--initiate':
            name = args[args.index('--child') + 1]
            if self.initiate_answer:
                return self.initiate_answer
            if name not in self.loaded:
                return 1, '', "initiate failed: CHILD_SA config '%s' not found\n" % name
            self.add_sa(name)
            return 0, '[IKE] CHILD_SA %s{1} established\ninitiate completed successfully\n' % name, ''
        if op == '--terminate':
            if '--ike-id' in args:
                ident = int(args[args.index('--ike-id') + 1])
                gone = [sa for sa in self.sas if sa['uniqueid'] == ident]
            else:
                name = args[args.index('--ike') + 1]
                gone = [sa for sa in self.sas if sa['name'] == name]
            if not gone:
                return 1, '', 'terminate failed: no matching SAs to terminate found\n'
            self.sas = [sa for sa in self.sas if sa not in gone]
            return 0, 'terminate completed successfully\n', ''
        raise AssertionError('unexpected swanctl call %r' % (cmd,))


def untimed(cmd):
    """(seconds, command) of a command run under coreutils' timeout; every swanctl call has one."""
    assert os.path.basename(cmd[0]) == 'timeout' and cmd[1].startswith('--kill-after='), cmd
    return int(cmd[2]), cmd[3:]


@pytest.fixture
def daemon(tmp_path, monkeypatch):
    swanctl_dir = tmp_path / 'swanctl'
    (swanctl_dir / 'conf.d').mkdir(parents=True)
    (swanctl_dir / 'swanctl.conf').write_text('include conf.d/*.conf\n')
    d = Daemon(str(swanctl_dir))
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, cmd, **kw: d(cmd, **kw))
    return d


def params(daemon, **kw):
    p = dict(name='store-0042', local_addrs=['198.51.100.10'], remote_addrs=['203.0.113.42'],
             local_id='pos-cloud.example.com', remote_id='store-0042.example.com', local_ts=['10.201.0.0/24'],
             remote_ts=['10.42.0.0/24'], psk=PSK, swanctl_dir=daemon.dir, swanctl_path='/usr/sbin/swanctl')
    p.update(kw)
    return p


def run(daemon, check_mode=False, diff=False, module=ipsec_tunnel, **kw):
    p = params(daemon, **kw) if module is ipsec_tunnel else dict(kw, swanctl_path='/usr/sbin/swanctl')
    return run_module(module.main, p, check_mode, diff)


def conf_file(daemon, name='store-0042'):
    return os.path.join(daemon.dir, 'conf.d', name + '.conf')


def secrets_file(daemon, name='store-0042'):
    return os.path.join(daemon.dir, 'conf.d', name + '.secrets.conf')


def assert_no_psk(result, *secrets):
    text = json.dumps(result)
    for secret in secrets or (PSK, OTHER_PSK):
        assert secret not in text
        assert json.dumps(secret)[1:-1] not in text


def writes(daemon):
    return [op for op in daemon.ops() if op in ('--load-conns', '--load-creds', '--initiate', '--terminate')]


# ---------------------------------------------------------------------------------------------
# ipsec_tunnel


def test_check_mode_writes_and_loads_nothing_and_redacts_the_diff(daemon):
    out = run(daemon, check_mode=True, diff=True, state='started')
    assert out.kind == 'exit', out.result
    r = out.result
    assert r['changed'] is True
    assert r['actions'] == ['write conf.d/store-0042.conf', 'write conf.d/store-0042.secrets.conf',
                            'load-creds', 'load-conns', 'initiate']
    assert not os.path.exists(conf_file(daemon))
    assert not os.path.exists(secrets_file(daemon))
    assert writes(daemon) == []
    conf_diff, secrets_diff = r['diff']
    assert 'remote_ts = 10.42.0.0/24' in conf_diff['after']
    assert 'secret = <redacted>' in secrets_diff['after']
    assert_no_psk(r)


def test_first_run_writes_loads_and_initiates_then_second_run_does_nothing(daemon):
    out = run(daemon, state='started', wait=True)
    assert out.kind == 'exit', out.result
    r = out.result
    assert r['changed'] is True
    assert r['actions'] == ['write conf.d/store-0042.conf', 'write conf.d/store-0042.secrets.conf',
                            'load-creds', 'load-conns', 'initiate']
    assert r['status']['up'] is True
    assert stat.S_IMODE(os.stat(conf_file(daemon)).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(secrets_file(daemon)).st_mode) == 0o600
    with open(secrets_file(daemon)) as f:
        assert 'secret = "Unit-test \\"key\\" \\\\ with #chars 0123456789"' in f.read()
    assert 'store-0042' in daemon.loaded and 'ike-store-0042' in daemon.secrets
    assert_no_psk(r)
    initiate = [c for c in daemon.calls if c[1] == '--initiate'][0]
    assert initiate[1:7] == ['--initiate', '--child', 'store-0042', '--timeout', '30', '--loglevel']
    sas_before = [dict(sa) for sa in daemon.sas]

    daemon.calls = []
    again = run(daemon, state='started', wait=True)
    assert again.kind == 'exit', again.result
    assert again.result['changed'] is False
    assert again.result['actions'] == []
    assert writes(daemon) == []
    assert daemon.sas == sas_before
    assert not [f for f in os.listdir(os.path.join(daemon.dir, 'conf.d')) if f.startswith('.')]


def test_unchanged_files_but_connection_not_loaded_is_reloaded(daemon):
    run(daemon)
    daemon.loaded = {}
    daemon.calls = []
    out = run(daemon)
    assert out.result['changed'] is True
    assert out.result['drift'] == ['connection store-0042 is not loaded']
    assert writes(daemon) == ['--load-creds', '--load-conns']


def test_key_change_is_marked_in_the_redacted_diff(daemon):
    run(daemon)
    out = run(daemon, diff=True, psk=OTHER_PSK)
    assert out.result['changed'] is True
    assert out.result['actions'] == ['write conf.d/store-0042.secrets.conf', 'load-creds', 'load-conns']
    secrets_diff = out.result['diff'][1]
    assert 'secret = <redacted>' in secrets_diff['before']
    assert 'secret = <redacted, changed>' in secrets_diff['after']
    assert_no_psk(out.result)


def test_validation_error_changes_nothing_and_hides_the_key(daemon):
    bad_psk = 'short-key'
    out = run(daemon, psk=bad_psk, remote_ts=['10.201.0.0/16'], ike_proposals=['3des-sha1-modp1024'],
              state='started')
    assert out.kind == 'fail'
    r = out.result
    assert r['changed'] is False
    assert r['msg'].startswith('invalid tunnel store-0042: ')
    fields = [e.split(':', 1)[0] for e in r['errors']]
    assert {'psk', 'local_ts/remote_ts', 'ike_proposals'} <= set(fields)
    assert not os.listdir(os.path.join(daemon.dir, 'conf.d'))
    assert writes(daemon) == []
    assert_no_psk(r, bad_psk)


def test_overlap_with_a_loaded_tunnel_is_refused(daemon):
    run(daemon, name='store-0043', remote_ts=['10.43.0.0/16'], remote_id='store-0043.example.com',
        remote_addrs=['203.0.113.43'])
    out = run(daemon, remote_ts=['10.43.2.0/24'])
    assert out.kind == 'fail'
    assert "tunnel 'store-0043'" in out.result['msg']
    assert not os.path.exists(conf_file(daemon))


def test_started_needs_a_concrete_peer(daemon):
    out = run(daemon, state='started', remote_addrs=['%any'])
    assert out.kind == 'fail'
    assert out.result['msg'].startswith('state: started initiates the tunnel')
    assert not os.path.exists(conf_file(daemon))


def test_weak_crypto_override_warns(daemon):
    out = run(daemon, ike_proposals=['aes256-sha1-modp1024'], esp_proposals=['aes256-sha1-modp1024'],
              allow_weak_crypto=True)
    assert out.kind == 'exit'
    assert out.result['changed'] is True
    assert out.result['tunnel']['ike_proposals'] == ['aes256-sha1-modp1024']
    assert 'psk' not in out.result['tunnel']


def test_wait_failure_reports_the_daemon_log_without_the_key(daemon):
    daemon.initiate_answer = (1, fixture('initiate-authfail.txt'), '')
    out = run(daemon, state='started', wait=True, wait_timeout=10)
    assert out.kind == 'fail'
    r = out.result
    assert r['msg'].startswith('tunnel store-0042 did not come up within 10s: ')
    assert 'AUTHENTICATION_FAILED' in r['msg']
    assert r['log'][-1] == '[IKE] received AUTHENTICATION_FAILED notify error'
    assert not any(line.startswith("plugin '") for line in r['log'])
    assert r['changed'] is True  # the files were written and loaded before the initiation failed
    assert r['status']['up'] is False
    # the peer's refusal in words, before the raw log lines
    assert r['peer_refusal'].startswith('the peer answered AUTHENTICATION_FAILED to IKE_AUTH: the peer did not accept '
                                        'our authentication: the pre-shared key or the IDs differ')
    assert r['msg'].index(r['peer_refusal']) < r['msg'].index('last daemon log lines')
    assert_no_psk(r)


def test_wait_failure_prefers_the_file_log(daemon, tmp_path):
    log = tmp_path / 'charon.log'
    log.write_text('Nov 23 12:00:00 01[CFG] <other|1> unrelated\n')
    daemon.initiate_answer = (1, '', "initiate failed: establishing CHILD_SA 'pcf-badkey' failed\n")

    def append_log(d):
        with open(str(log), 'a') as f:
            f.write(fixture('charon-authfail.log'))
    daemon.on_load = append_log
    out = run(daemon, name='pcf-badkey', state='started', wait=True, log_path=str(log),
              remote_addrs=['203.0.113.2'])
    assert out.kind == 'fail'
    assert out.result['log'][0].endswith("vici initiate CHILD_SA 'pcf-badkey'")
    assert not any('unrelated' in line for line in out.result['log'])
    assert 'MAC' not in out.result['msg'] and 'AUTHENTICATION_FAILED' in out.result['msg']


def test_initiation_without_wait_that_times_out_is_not_an_error(daemon):
    daemon.initiate_answer = (1, fixture('initiate-noreply.txt'), '')
    out = run(daemon, state='started')
    assert out.kind == 'exit', out.result
    assert 'initiate' in out.result['actions']
    initiate = [c for c in daemon.calls if c[1] == '--initiate'][0]
    assert initiate[initiate.index('--timeout') + 1] == '2'


def test_initiation_under_way_is_waited_for_not_duplicated(daemon, monkeypatch):
    run(daemon)
    sa = daemon.add_sa('store-0042', state='CONNECTING', child_state=None, tasks=['IKE_INIT', 'CHILD_CREATE'])
    polls = []

    def list_sas_then_up(self, cmd, **kw):
        if untimed(cmd)[1][1] == '--list-sas':
            polls.append(1)
            if len(polls) == 3:
                sa.update(state='ESTABLISHED', child_state='INSTALLED', tasks=[])
        return daemon(cmd, **kw)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', list_sas_then_up)
    taps = []
    monkeypatch.setattr(ipsec_tunnel, 'ViciLogTap', fake_tap(taps, ''))
    out = run(daemon, state='started', wait=True)
    assert out.kind == 'exit', out.result
    assert out.result['actions'] == ['wait for the initiation under way']
    assert '--initiate' not in daemon.ops()
    assert out.result['changed'] is False
    assert out.result['status']['up'] is True
    assert taps and taps[0].stopped


def test_initiation_under_way_that_fails_reports_the_stream(daemon, monkeypatch):
    run(daemon)
    daemon.add_sa('store-0042', state='CONNECTING', child_state=None, tasks=['IKE_INIT'])
    taps = []
    monkeypatch.setattr(ipsec_tunnel, 'ViciLogTap', fake_tap(taps, fixture('log-authfail-initiator.pretty')))
    out = run(daemon, state='started', wait=True, wait_timeout=3, name='store-0042')
    assert out.kind == 'fail'
    assert out.result['msg'].startswith('the initiation under way did not bring tunnel store-0042 up within 3s')
    assert '--initiate' not in daemon.ops()


def fake_tap(taps, pretty_log):
    """A ViciLogTap stand-in that 'receives' the log events of a --log --pretty capture."""
    class Tap(object):
        def __init__(self, uri):
            self.uri = uri
            self.polls = 0
            self.stopped = False
            taps.append(self)

        def start(self):
            return self

        def poll(self):
            self.polls += 1

        def stop(self):
            self.stopped = True
            return parse_vici_pretty(pretty_log)
    return Tap


def test_present_with_wait_fails_with_the_streamed_log(daemon, monkeypatch):
    taps = []
    monkeypatch.setattr(ipsec_tunnel, 'ViciLogTap', fake_tap(taps, fixture('log-authfail-responder.pretty')))
    out = run(daemon, name='pcf-badkey', remote_addrs=['203.0.113.1'], wait=True, wait_timeout=5)
    assert out.kind == 'fail'
    assert out.result['msg'].startswith('tunnel pcf-badkey was not brought up by the peer within 5s')
    assert any('MAC mismatched' in line for line in out.result['log'])
    assert taps[0].stopped and taps[0].polls >= 1
    assert taps[0].uri is None


def test_present_with_wait_returns_when_the_peer_brings_it_up(daemon, monkeypatch):
    run(daemon)
    daemon.add_sa('store-0042')
    taps = []
    monkeypatch.setattr(ipsec_tunnel, 'ViciLogTap', fake_tap(taps, ''))
    out = run(daemon, wait=True)
    assert out.kind == 'exit'
    assert out.result['changed'] is False
    assert out.result['status']['up'] is True


def test_settings_change_with_an_sa_up_restarts_it(daemon):
    run(daemon, state='started')
    old = daemon.sas[0]['uniqueid']
    daemon.calls = []
    out = run(daemon, state='started', remote_ts=['10.42.0.0/24', '10.142.0.0/24'])
    assert out.kind == 'exit', out.result
    assert out.result['actions'] == ['write conf.d/store-0042.conf', 'load-creds', 'load-conns',
                                     'terminate IKE SA #%d' % old, 'initiate']
    assert [sa['uniqueid'] for sa in daemon.sas] != [old]
    assert daemon.loaded['store-0042']['remote_ts'] == ['10.42.0.0/24', '10.142.0.0/24']


def test_new_key_alone_does_not_restart_an_established_sa(daemon):
    run(daemon, state='started')
    sas = [dict(sa) for sa in daemon.sas]
    out = run(daemon, state='started', psk=OTHER_PSK)
    assert out.result['actions'] == ['write conf.d/store-0042.secrets.conf', 'load-creds', 'load-conns']
    assert daemon.sas == sas
    assert_no_psk(out.result)


def test_settings_change_without_restart_warns(daemon, monkeypatch):
    run(daemon, state='started')
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    out = run(daemon, state='started', restart_on_change=False, dpd_delay=60)
    assert out.result['actions'] == ['write conf.d/store-0042.conf', 'load-creds', 'load-conns']
    assert any('previous settings' in w for w in warnings)


def test_stopped_terminates_only_when_up(daemon):
    run(daemon, state='started')
    out = run(daemon, state='stopped')
    assert out.result['changed'] is True
    assert out.result['actions'] == ['terminate']
    assert daemon.sas == []
    daemon.calls = []
    again = run(daemon, state='stopped')
    assert again.result['changed'] is False
    assert writes(daemon) == []


def test_absent_unloads_removes_and_terminates(daemon):
    run(daemon, state='started')
    run(daemon, name='store-0043', remote_ts=['10.43.0.0/24'], remote_id='store-0043.example.com',
        remote_addrs=['203.0.113.43'], psk=OTHER_PSK)
    check = run(daemon, check_mode=True, state='absent')
    assert check.result['changed'] is True
    assert os.path.exists(conf_file(daemon))
    out = run(daemon, state='absent')
    assert out.result['actions'] == ['remove conf.d/store-0042.conf', 'remove conf.d/store-0042.secrets.conf',
                                     'load-creds', 'load-conns', 'terminate']
    assert not os.path.exists(conf_file(daemon)) and not os.path.exists(secrets_file(daemon))
    assert list(daemon.loaded) == ['store-0043']
    assert daemon.secrets == {'ike-store-0043'}
    assert [sa['name'] for sa in daemon.sas] == []
    daemon.calls = []
    again = run(daemon, state='absent')
    assert again.result['changed'] is False
    assert writes(daemon) == []


def test_absent_without_daemon_still_removes_the_files(daemon, monkeypatch):
    run(daemon)
    daemon.reachable = False
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    out = run(daemon, state='absent')
    assert out.kind == 'exit'
    assert out.result['changed'] is True
    assert not os.path.exists(conf_file(daemon))
    assert warnings and 'cannot talk to charon' in warnings[0]


def test_unreachable_daemon_fails_after_validation(daemon):
    daemon.reachable = False
    out = run(daemon, state='started')
    assert out.kind == 'fail'
    assert out.result['msg'].startswith('cannot talk to charon: swanctl --list-conns --pretty failed (rc=1)')
    assert 'plugin' not in out.result['msg']
    assert not os.path.exists(conf_file(daemon))
    bad = run(daemon, psk='short')
    assert bad.result['msg'].startswith('invalid tunnel')


# -- a swanctl query that fails or answers what cannot be read ends the task with a message ---------------

GONE = (1, '', "plugin 'ldap': failed to load\n"
               "connecting to 'unix:///var/run/charon.vici' failed: Connection refused\n"
               "Error: connecting to 'default' URI failed: Connection refused\n")


def fail_nth(daemon, op, n, answer=GONE):
    """From the n-th call (1-based, counted from now) of ``op`` on, swanctl answers ``answer``."""
    seen = []

    def override(args):
        if args[0] == op:
            seen.append(args)
            if len(seen) >= n:
                return answer
        return None
    daemon.override = override


def assert_clear_failure(out, command):
    assert out.kind == 'fail', out.result
    msg = out.result['msg']
    assert command + ' failed (rc=1): ' in msg
    assert "Error: connecting to 'default' URI failed: Connection refused" in msg
    assert 'plugin' not in msg and 'connecting to \'unix' not in msg
    assert 'swanctl --stats' in msg and 'run the task again' in msg


def test_sas_that_cannot_be_listed_after_a_load_fail_clearly(daemon):
    fail_nth(daemon, '--list-sas', 2)  # the first lists the SAs before the load
    out = run(daemon)
    assert_clear_failure(out, 'swanctl --list-sas --pretty --noblock --ike store-0042')
    assert out.result['changed'] is True and 'load-conns' in out.result['actions']
    assert 'store-0042' in daemon.loaded


@pytest.mark.parametrize('state', ['started', 'stopped'])
def test_sas_that_cannot_be_listed_for_started_or_stopped_fail_clearly(daemon, state):
    run(daemon)
    daemon.add_sa('store-0042')
    daemon.calls = []
    # nothing to load: the SAs are read once, before anything else, and that answer decides
    fail_nth(daemon, '--list-sas', 1)
    out = run(daemon, state=state)
    assert_clear_failure(out, 'swanctl --list-sas --pretty --noblock --ike store-0042')
    assert out.result['changed'] is False
    assert writes(daemon) == []


def test_connections_that_cannot_be_listed_after_absent_unloads_fail_clearly(daemon):
    run(daemon)
    fail_nth(daemon, '--list-conns', 2)  # the first lists them before the files are removed
    out = run(daemon, state='absent')
    assert_clear_failure(out, 'swanctl --list-conns --pretty')
    assert out.result['changed'] is True
    assert not os.path.exists(conf_file(daemon)) and 'store-0042' not in daemon.loaded


@pytest.mark.parametrize('op, garbage', [
    ('--list-sas', 'list-sa event {\n  store-0042 {\n    child-sas = broken\n  }\n}\n'),
    ('--list-sas', 'list-sa event {\n  store-0042 {\n    established = 99999999999999999\n  }\n}\n'),
    ('--list-conns', 'list-conn event {\n  store-0042 {\n    children = none\n  }\n}\n'),
])
def test_output_that_cannot_be_read_fails_naming_the_command(daemon, op, garbage):
    fail_nth(daemon, op, 1, answer=(0, garbage, ''))
    out = run(daemon, state='started')
    assert out.kind == 'fail', out.result
    msg = out.result['msg']
    assert 'swanctl %s --pretty' % op in msg and 'printed output that cannot be read' in msg
    assert 'vici_uri' in msg
    assert not os.path.exists(conf_file(daemon)) and writes(daemon) == []


def test_syntax_error_elsewhere_stops_before_anything_is_written(daemon):
    with open(os.path.join(daemon.dir, 'conf.d', 'zz-broken.conf'), 'w') as f:
        f.write('connections {\n  broken {\n    version = 2\n')
    out = run(daemon, state='started')
    assert out.kind == 'fail'
    assert 'would unload every connection' in out.result['msg']
    assert 'zz-broken.conf:1' in out.result['msg']
    assert not os.path.exists(conf_file(daemon))
    assert writes(daemon) == []


def test_failed_load_restores_the_previous_files(daemon):
    run(daemon)
    with open(conf_file(daemon)) as f:
        before = f.read()
    daemon.load_conns_answer = (22, "loading connection 'store-0042' failed: invalid value for: proposals, "
                                    "config discarded\nloaded 0 of 1 connections, 1 failed to load, 0 unloaded\n", '')
    out = run(daemon, remote_ts=['10.142.0.0/24'])
    assert out.kind == 'fail'
    assert "loading connection 'store-0042' failed" in out.result['msg']
    assert 'restored' in out.result['msg']
    with open(conf_file(daemon)) as f:
        assert f.read() == before


def test_new_secrets_file_is_never_world_readable(daemon, monkeypatch):
    seen = []
    real_rename = os.rename

    def spy(src, dest):
        seen.append((dest, stat.S_IMODE(os.stat(src).st_mode)))
        real_rename(src, dest)
        seen.append((dest, stat.S_IMODE(os.stat(dest).st_mode)))
    monkeypatch.setattr(fileops.os, 'rename', spy)
    old = os.umask(0o022)
    try:
        run(daemon)
    finally:
        os.umask(old)
    assert [m for d, m in seen if d.endswith('.secrets.conf')] == [0o600, 0o600]


def test_a_secrets_file_that_others_could_read_is_rewritten_0600(daemon):
    run(daemon)
    os.chmod(secrets_file(daemon), 0o644)
    out = run(daemon)
    assert out.kind == 'exit' and out.result['changed']
    assert stat.S_IMODE(os.stat(secrets_file(daemon)).st_mode) == 0o600


def test_a_symlinked_secrets_file_is_written_at_its_target(daemon, tmp_path):
    target = tmp_path / 'vault' / 'store-0042.secrets.conf'
    target.parent.mkdir()
    target.write_text('# old\n')
    os.symlink(str(target), secrets_file(daemon))
    out = run(daemon)
    assert out.kind == 'exit'
    assert os.path.islink(secrets_file(daemon))
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o600
    assert 'secrets {' in target.read_text() and 'store-0042.example.com' in target.read_text()


def test_swanctl_conf_is_created_when_missing(daemon):
    os.unlink(os.path.join(daemon.dir, 'swanctl.conf'))
    out = run(daemon)
    assert out.result['actions'][0] == 'create %s/swanctl.conf' % daemon.dir
    with open(os.path.join(daemon.dir, 'swanctl.conf')) as f:
        assert 'include conf.d/*.conf' in f.read()


def test_vici_uri_is_passed_to_every_call(daemon):
    run(daemon, vici_uri='unix:///run/lab/charon.vici')
    assert daemon.calls and all(c[-2:] == ['--uri', 'unix:///run/lab/charon.vici'] for c in daemon.calls)


def test_wait_timeout_is_checked(daemon):
    out = run(daemon, wait_timeout=0)
    assert out.kind == 'fail' and out.result['msg'].startswith('wait_timeout:')


def test_certificate_auth_writes_no_secrets_file(daemon):
    out = run(daemon, auth='certificate', psk=None, local_cert='pos-cloud.pem', remote_cacert='stores-ca.pem')
    assert out.kind == 'exit', out.result
    assert not os.path.exists(secrets_file(daemon))
    with open(conf_file(daemon)) as f:
        assert 'auth = pubkey' in f.read()


# ---------------------------------------------------------------------------------------------
# ipsec_tunnel_info


@pytest.fixture
def real_daemon_output(daemon, monkeypatch):
    answers = {'--list-conns': fixture('list-conns-two.pretty'), '--list-sas': fixture('list-sas-two.pretty')}

    def answer(self, cmd, **kw):
        cmd = untimed(cmd)[1]
        daemon.calls.append(cmd)
        return 0, answers[cmd[1]], ''
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', answer)
    return daemon


def test_info_reports_every_connection(real_daemon_output):
    out = run(real_daemon_output, module=ipsec_tunnel_info)
    assert out.kind == 'exit'
    r = out.result
    assert r['changed'] is False
    assert r['connections'] == ['pcf-badkey', 'pcf-store', 'pcf-store2']
    by_name = dict((t['name'], t) for t in r['tunnels'])
    assert by_name['pcf-store']['up'] is True
    assert by_name['pcf-badkey']['state'] == 'DOWN'
    sa = by_name['pcf-store2']['ike_sas'][0]
    assert sa['remote_id'] == 'store-b2.example.net'
    assert sa['established_since'] is not None
    child = sa['child_sas'][0]
    assert child['local_ts'] == ['10.211.0.0/24'] and child['remote_ts'] == ['10.212.0.0/24']
    assert child['bytes_in'] == 168 and child['packets_out'] == 2
    assert ['--list-sas', '--pretty', '--noblock'] == real_daemon_output.calls[1][1:4]


def test_info_filters_by_name_in_check_mode(real_daemon_output):
    out = run(real_daemon_output, module=ipsec_tunnel_info, check_mode=True, name=['pcf-store2', 'missing'])
    names = [t['name'] for t in out.result['tunnels']]
    assert names == ['missing', 'pcf-store2']
    assert out.result['tunnels'][0]['loaded'] is False


def test_info_fails_clearly_without_daemon(daemon):
    daemon.reachable = False
    out = run(daemon, module=ipsec_tunnel_info, vici_uri='unix:///nowhere.vici')
    assert out.kind == 'fail'
    assert 'Is the strongSwan daemon running' in out.result['msg']


def test_info_fails_cleanly_on_output_it_cannot_read(daemon, monkeypatch):
    garbled = 'list-sa event {\n  pcf-store {\n    established = 5\n    child-sas = [\n  }\n}\n'

    def answer(self, cmd, **kw):
        cmd = untimed(cmd)[1]
        return 0, (garbled if cmd[1] == '--list-sas' else fixture('list-conns-two.pretty')), ''
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', answer)
    out = run(daemon, module=ipsec_tunnel_info)
    assert out.kind == 'fail'
    assert 'swanctl --list-sas --pretty --noblock printed output that cannot be read' in out.result['msg']


def test_vici_log_tap_follows_log_events_on_a_unix_socket():
    import shutil
    import socket
    import tempfile
    import threading

    def kv(name, value):
        raw = value.encode()
        return bytes([3, len(name)]) + name.encode() + len(raw).to_bytes(2, 'big') + raw

    body = kv('group', 'IKE') + kv('thread', '13') + kv('ikesa-name', 'store-0042') + kv('msg', 'hello from charon')
    event = bytes([7, 3]) + b'log' + body
    folder = tempfile.mkdtemp(prefix='pcf-vici-', dir='/tmp')
    path = os.path.join(folder, 'charon.vici')
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    received = []

    def serve():
        conn, _unused = server.accept()
        received.append(conn.recv(64))
        conn.sendall(b'\x00\x00\x00\x01\x05')
        conn.sendall(len(event).to_bytes(4, 'big') + event)
        conn.close()
    thread = threading.Thread(target=serve)
    thread.start()
    try:
        tap = ipsec_tunnel.ViciLogTap('unix://' + path).start()
        thread.join(5)
        events = tap.stop()
    finally:
        server.close()
        shutil.rmtree(folder)
    assert received == [b'\x00\x00\x00\x05\x03\x03log']
    assert events == [('log', {'group': 'IKE', 'thread': '13', 'ikesa-name': 'store-0042', 'msg': 'hello from charon'})]


def test_vici_log_tap_without_socket_records_nothing():
    tap = ipsec_tunnel.ViciLogTap('unix:///nonexistent/charon.vici').start()
    assert tap.stop() == []
    assert ipsec_tunnel.ViciLogTap('tcp://127.0.0.1:4502').start().stop() == []


# -- timeouts -------------------------------------------------------------------------------------

def test_every_swanctl_call_has_a_timeout(daemon):
    out = run(daemon, state='started', wait=True, wait_timeout=40)
    assert out.kind == 'exit', out.result
    assert daemon.timeouts and all(t >= 60 for t in daemon.timeouts)
    initiate = daemon.ops().index('--initiate')
    assert daemon.timeouts[initiate] == 40 + 60


def test_a_swanctl_call_that_hangs_fails_with_a_clear_message(daemon, monkeypatch):
    def hung(self, cmd, **kw):
        seconds, cmd = untimed(cmd)
        if cmd[1] == '--load-conns':
            return 124, '', ''
        return daemon(['timeout', '--kill-after=5', str(seconds)] + cmd, **kw)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', hung)
    out = run(daemon)
    assert out.kind == 'fail'
    assert 'swanctl --load-conns did not finish within 60 s' in out.result['msg']
    assert PSK not in json.dumps(out.result)


def test_info_fails_with_a_clear_message_when_swanctl_hangs(daemon, monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, cmd, **kw: (137, '', ''))
    out = run(daemon, module=ipsec_tunnel_info)
    assert out.kind == 'fail' and 'swanctl --list-conns did not finish within 60 s' in out.result['msg']


@pytest.mark.parametrize('lock_timeout', [0, 5])
def test_a_lock_held_by_another_run_fails_after_lock_timeout(daemon, lock_timeout):
    fd = os.open(os.path.join(daemon.dir, 'conf.d'), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        out = run(daemon, lock_timeout=lock_timeout)
    finally:
        os.close(fd)
    assert out.kind == 'fail'
    assert 'holds the lock' in out.result['msg'] and '%d s (lock_timeout)' % lock_timeout in out.result['msg']
    assert not os.path.exists(conf_file(daemon))


def test_lock_timeout_is_checked(daemon):
    out = run(daemon, lock_timeout=-1)
    assert out.kind == 'fail' and out.result['msg'].startswith('lock_timeout:')


# ---------------------------------------------------------------------------------------------
# ipsec_tunnel with tunnels: the whole set of a host's tunnels in one call

BACKOFFICE = dict(name='backoffice', local_id='pos-cloud-bo.example.com', remote_id='store-0042-bo.example.com',
                  local_ts=['10.201.0.222/32'], remote_ts=['10.142.0.0/24'])
PHONEHOME = dict(name='store-0042', local_id='pos-cloud.example.com', remote_id='store-0042.example.com',
                 local_ts=['10.201.0.0/24'], remote_ts=['10.42.0.0/24'])


class Host(object):
    """The commands other than swanctl a set runs on the host: the ESP probe and charon's restart."""

    def __init__(self, daemon, esp=False):
        self.daemon = daemon
        self.esp = esp
        self.restarts = 0
        self.probes = 0

    def __call__(self, cmd, **kwargs):
        if cmd[0] == 'sh' and 'esp4' in cmd[2]:
            self.probes += 1
            return (0 if self.esp else 1), '', ''
        if cmd[0] == 'sh' and 'pgrep' in cmd[2]:
            self.restarts += 1
            return 0, '', ''
        return self.daemon(cmd, **kwargs)


@pytest.fixture
def host(daemon, monkeypatch):
    h = Host(daemon)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, cmd, **kw: h(cmd, **kw))
    return h


def run_set(daemon, tunnels=None, check_mode=False, diff=False, **kw):
    p = dict(tunnels=tunnels or [dict(PHONEHOME), dict(BACKOFFICE)], local_addrs=['198.51.100.10'],
             remote_addrs=['203.0.113.42'], psk=PSK, swanctl_dir=daemon.dir, swanctl_path='/usr/sbin/swanctl',
             state='started', wait=True)
    p.update(kw)
    return run_module(ipsec_tunnel.main, p, check_mode, diff)


def swanctl_ops(daemon):
    return [c[1] for c in daemon.calls]


def test_a_set_is_written_loaded_once_initiated_and_reported_then_a_second_run_only_reads(daemon, host):
    out = run_set(daemon)
    assert out.kind == 'exit', out.result
    r = out.result
    assert r['changed'] is True
    assert r['actions'] == ['write conf.d/store-0042.conf', 'write conf.d/store-0042.secrets.conf',
                            'write conf.d/backoffice.conf', 'write conf.d/backoffice.secrets.conf',
                            'load-creds', 'load-conns', 'initiate store-0042', 'initiate backoffice']
    assert swanctl_ops(daemon).count('--load-conns') == 1 and swanctl_ops(daemon).count('--load-creds') == 1
    assert [t['name'] for t in r['tunnels']] == ['backoffice', 'store-0042']
    assert all(t['up'] and t['loaded'] for t in r['tunnels'])
    assert stat.S_IMODE(os.stat(secrets_file(daemon, 'backoffice')).st_mode) == 0o600
    assert_no_psk(r)

    daemon.calls = []
    again = run_set(daemon)
    assert again.kind == 'exit', again.result
    assert again.result['changed'] is False and again.result['actions'] == []
    # a no-op reads the loaded connections and the SAs once each, and nothing else
    assert sorted(swanctl_ops(daemon)) == ['--list-conns', '--list-sas']
    assert all(t['up'] for t in again.result['tunnels'])


def test_a_set_in_check_mode_changes_nothing_and_shows_every_file_with_the_keys_redacted(daemon, host):
    out = run_set(daemon, check_mode=True, diff=True)
    assert out.kind == 'exit', out.result
    assert out.result['changed'] is True
    assert writes(daemon) == []
    assert not os.listdir(os.path.join(daemon.dir, 'conf.d'))
    headers = [d['after_header'] for d in out.result['diff']]
    assert headers == [conf_file(daemon), secrets_file(daemon), conf_file(daemon, 'backoffice'),
                       secrets_file(daemon, 'backoffice')]
    assert all('secret = <redacted>' in d['after'] for d in out.result['diff'][1::2])
    assert_no_psk(out.result)


def test_a_tunnel_of_the_set_the_peer_refuses_fails_the_task_after_the_others_came_up(daemon, host):
    def refuse_backoffice(args):
        if args[0] == '--initiate' and args[args.index('--child') + 1] == 'backoffice':
            return 1, fixture('initiate-authfail.txt'), ''
        return None
    daemon.override = refuse_backoffice
    out = run_set(daemon, wait_timeout=10)
    assert out.kind == 'fail'
    r = out.result
    assert r['failed_tunnels'] == ['backoffice']
    assert r['msg'].startswith('tunnel backoffice did not come up within 10s: ')
    assert 'the peer answered AUTHENTICATION_FAILED to IKE_AUTH' in r['msg']
    assert r['peer_refusal'].startswith('the peer answered AUTHENTICATION_FAILED')
    assert set(r['peer_refusals']) == {'backoffice'}
    assert r['logs']['backoffice'][-1] == '[IKE] received AUTHENTICATION_FAILED notify error'
    status = dict((t['name'], t) for t in r['tunnels'])
    assert status['store-0042']['up'] is True and status['backoffice']['up'] is False
    assert_no_psk(r)


def test_each_tunnel_takes_what_it_does_not_give_from_the_task(daemon, host):
    own_key = 'backoffice-own-key-0123456789'
    out = run_set(daemon, tunnels=[dict(PHONEHOME), dict(BACKOFFICE, psk=own_key, dpd_delay=45)])
    assert out.kind == 'exit', out.result
    results = dict((t['name'], t) for t in out.result['results'])
    assert results['backoffice']['tunnel']['dpd_delay'] == 45 and results['store-0042']['tunnel']['dpd_delay'] == 30
    with open(secrets_file(daemon, 'backoffice')) as f:
        assert own_key in f.read()
    assert_no_psk(out.result, PSK, own_key)


def test_tunnels_of_a_set_that_overlap_each_other_are_refused_before_anything_is_written(daemon, host):
    out = run_set(daemon, tunnels=[dict(PHONEHOME), dict(BACKOFFICE, remote_ts=['10.42.0.0/24'])])
    assert out.kind == 'fail'
    assert 'overlaps' in out.result['msg'] and 'backoffice' in out.result['msg']
    assert not os.listdir(os.path.join(daemon.dir, 'conf.d'))
    assert writes(daemon) == []


def test_two_tunnels_of_one_name_are_refused(daemon, host):
    out = run_set(daemon, tunnels=[dict(PHONEHOME), dict(PHONEHOME)])
    assert out.kind == 'fail' and 'twice: store-0042' in out.result['msg']


def test_charon_settings_are_written_and_charon_restarted_only_when_they_change(daemon, host, tmp_path, monkeypatch):
    # this machine's kernel shows no ESP loaded, as the lab's
    monkeypatch.setattr(ipsec_tunnel, 'ESP_SIGNS', (str(tmp_path / 'sys-esp4'), str(tmp_path / 'modules')))
    settings = tmp_path / 'strongswan.d'
    (settings / 'charon').mkdir(parents=True)
    charon = dict(datapath='auto', filelog='/var/log/charon.log', settings_dir=str(settings))
    out = run_set(daemon, charon=charon)
    assert out.kind == 'exit', out.result
    assert out.result['charon'] == {'datapath': 'libipsec', 'restarted': True}
    assert host.restarts == 1 and host.probes == 1
    assert 'load = yes' in (settings / 'charon' / 'kernel-libipsec.conf').read_text()
    assert 'path = /var/log/charon.log' in (settings / 'charon-logging.conf').read_text()
    assert out.result['actions'][:3] == ['write %s' % (settings / 'charon' / 'kernel-libipsec.conf'),
                                         'write %s' % (settings / 'charon-logging.conf'), 'restart charon']

    again = run_set(daemon, charon=charon)
    # libipsec chosen already, and ESP still not loaded: no probe again (it tried to load ESP)
    assert again.result['changed'] is False and host.restarts == 1 and host.probes == 1
    assert again.result['charon'] == {'datapath': 'libipsec', 'restarted': False}

    # the same settings written by an earlier release (another comment) are kept as they are
    path = settings / 'charon' / 'kernel-libipsec.conf'
    path.write_text('# Ansible managed\n# IPsec data path: libipsec\nkernel-libipsec {\n    load = yes\n}\n')
    third = run_set(daemon, charon=charon)
    assert third.result['changed'] is False and host.restarts == 1

    # ESP loaded since: the kernel's data path, at once
    (tmp_path / 'modules').write_text('xfrm_user 45056 1 - Live 0x0\nesp4 24576 0 - Live 0x0\n')
    kernel = run_set(daemon, charon=charon, check_mode=True)
    assert kernel.result['charon']['datapath'] == 'kernel' and host.probes == 1
    assert kernel.result['changed'] is True and host.restarts == 1
    assert 'restart charon' in kernel.result['actions']
    assert 'load = yes' in path.read_text()


def test_a_set_waits_for_a_charon_that_is_starting(daemon, host, clock):
    daemon.reachable = False
    seen = []
    real = daemon.__call__

    def starting(cmd, **kw):
        # charon answers from the third question on
        seen.append(cmd)
        daemon.reachable = len(seen) >= 3
        return real(cmd, **kw)
    host.daemon = starting
    out = run_set(daemon)
    assert out.kind == 'exit', out.result
    assert all(t['up'] for t in out.result['tunnels'])


def test_a_set_says_so_when_charon_never_answers(daemon, host):
    daemon.reachable = False
    out = run_set(daemon, charon=dict(wait_timeout=5))
    assert out.kind == 'fail'
    assert out.result['msg'].startswith('charon did not answer within 5 s: ')


def test_a_set_is_removed_with_one_load(daemon, host):
    run_set(daemon)
    daemon.calls = []
    out = run_set(daemon, state='absent', wait=False)
    assert out.kind == 'exit', out.result
    assert swanctl_ops(daemon).count('--load-conns') == 1
    assert not os.listdir(os.path.join(daemon.dir, 'conf.d'))
    assert daemon.loaded == {} and daemon.sas == []
    assert all(not t['loaded'] for t in out.result['tunnels'])


def test_name_and_tunnels_are_exclusive(daemon, host):
    out = run_set(daemon, name='store-0042')
    assert out.kind == 'fail' and 'mutually exclusive' in out.result['msg']
