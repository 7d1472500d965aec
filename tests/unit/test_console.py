"""The operator's console (console/poscloud_console): its pure parts. The screens are driven against
the lab by tests/e2e/test_console.py."""
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.poscloud.fleet.plugins.filter.tunnels import tunnel_summary
from ansible.errors import AnsibleFilterError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'console'))

from poscloud_console import actions, cli, header, project, runner  # noqa: E402  (needs the path above)

STORE = project.Host(name='store_12345678', kind='store', ident='12345678', title="Mike's Store of Stuff",
                     pos_ip='192.168.222.222')


def test_every_guarded_action_deletes_or_interrupts_and_every_playbook_exists():
    keys = [a.key for a in actions.ACTIONS if a.kind == 'store']
    assert len(keys) == len(set(keys))
    guarded = {a.label for a in actions.ACTIONS if a.guarded and a.kind == 'store'}
    for label in ('Stop POS', 'Purge All', 'Delete POS Data', 'Delete VPN(s)', 'Deploy POS (cutover)'):
        assert label in guarded
    for a in actions.ACTIONS:
        if a.playbook:
            assert os.path.isfile(os.path.join(ROOT, 'playbooks', a.playbook)), a.playbook
    # the old menu's numbers
    assert [actions.by_key(k).label for k in ('1', '2', '3', '11', '12', '13', '15', '111', '112', '115', 'p')] == [
        'POS Status', 'Start POS', 'Stop POS', 'List Images', 'Build OS Media', 'Stage POS', 'Test Print',
        'VPN Status', 'Create VPN', 'Delete VPN(s)', 'Purge All']


def test_a_purge_names_the_typed_store_in_the_playbooks_own_confirmation():
    request = actions.run_request(actions.by_key('p'), STORE)
    assert request == {'playbook': 'purge.yml', 'limit': 'store_12345678',
                       'extravars': {'pos_instance_purge_confirm': '12345678'}, 'cmdline': []}
    check = actions.run_request(actions.by_key('112'), STORE, check=True)
    assert check['cmdline'] == ['--check', '--diff'] and check['extravars'] == {'vpn_action': 'create'}
    assert actions.run_request(actions.by_key('11'), STORE)['limit'] is None


@pytest.mark.parametrize('typed, ok', [('12345678', True), (' 12345678 ', True), ('1234567', False),
                                       ('', False), ('23456789', False), ('store_12345678', False)])
def test_a_guarded_action_needs_the_exact_id(typed, ok):
    assert actions.confirmed(STORE, typed) is ok


def test_the_inventory_gives_stores_and_machines_and_leaves_templates_out():
    data = {
        '_meta': {'hostvars': {
            'store_12345678': {'store_id': '12345678', 'store_name': "Mike's Store of Stuff", 'store_pos_ip': '192.168.222.222'},
            'store_90000001': {'store_id': '90000001', 'store_name': '{{ lookup("x") }}'},
            'machine01': {'ansible_host': '127.0.0.1'}}},
        'all': {'children': ['stores', 'machines']},
        'stores': {'hosts': ['store_12345678'], 'children': ['fleet_stores']},
        'fleet_stores': {'hosts': ['store_90000001']},
        'machines': {'hosts': ['machine01']},
    }
    hosts = project.parse_inventory(data)
    assert [(h.kind, h.ident, h.title) for h in hosts] == [
        ('store', '12345678', "Mike's Store of Stuff"), ('store', '90000001', ''), ('machine', 'machine01', '')]
    assert [h.ident for h in hosts if h.matches('mike')] == ['12345678']
    assert [h.ident for h in hosts if h.matches('9000')] == ['90000001']
    assert project.find_store(hosts, 'store_12345678').ident == '12345678'
    with pytest.raises(project.ConsoleError, match='no store 11111111 in the inventory; its stores are: 12345678, 90000001'):
        project.find_store(hosts, '11111111')


def test_runner_events_become_task_lines():
    start = {'event': 'playbook_on_task_start', 'event_data': {'task': 'Apply each tunnel'}}
    ok = {'event': 'runner_on_ok', 'event_data': {
        'task': 'Apply each tunnel', 'host': 'store_12345678', 'task_action': 'poscloud.fleet.ipsec_tunnel',
        'res': {'changed': True}}}
    failed = {'event': 'runner_on_failed', 'event_data': {
        'task': 'Stop', 'host': 'store_12345678', 'res': {'msg': 'pos_instance_purge_confirm: refused'}}}
    debug = {'event': 'runner_on_ok', 'event_data': {
        'task': 'POS status', 'host': 'store_12345678', 'task_action': 'ansible.builtin.debug', 'res': {'msg': ['a', 'b']}}}
    assert runner.task_line(start).status == 'started'
    assert runner.task_line(ok) == runner.TaskLine('Apply each tunnel', 'store_12345678', 'changed', '')
    assert runner.task_line(failed).message == 'pos_instance_purge_confirm: refused'
    assert runner.task_line(debug).message == 'a\nb'
    assert runner.task_line({'event': 'verbose', 'event_data': {}}) is None
    fact = {'event': 'runner_on_ok', 'event_data': {'res': {'ansible_facts': {'pos_status_header': {'store': '1'}}}}}
    assert runner.facts_of(fact, 'pos_status_header') == {'store': '1'}
    assert runner.facts_of(ok, 'pos_status_header') is None
    assert runner.recap_line({'h': {'ok': 3, 'changed': 1}}) == ['h : ok=3 changed=1 failed=0 unreachable=0 skipped=0']
    assert runner.run_dir_name('store_1/x', '112').endswith('-store_1_x-112')


def test_each_run_gets_its_own_private_folder_made_before_ansible_runner_starts(tmp_path):
    request = {'playbook': 'pos_status.yml', 'limit': 'store_12345678'}
    first = runner.PlaybookRun(str(tmp_path), 'inv', request, 'status')
    second = runner.PlaybookRun(str(tmp_path), 'inv', request, 'status')
    assert os.path.isdir(first.private_dir) and os.path.isdir(second.private_dir)
    assert first.private_dir != second.private_dir
    assert oct(os.stat(first.private_dir).st_mode & 0o777) == '0o700'


def test_the_header_has_a_line_per_field_and_per_tunnel():
    lines = header.header_lines({
        'store': '12345678', 'name': "Mike's Store of Stuff", 'status': 'Up 3 minutes', 'type': 'demo profile',
        'image': 'poscloud/store-12345678:20261204T205000Z (0123456789ab)', 'pos_ip': '192.168.222.222',
        'free': '12.3G on /data', 'patched': '20261204', 'health': 'ok', 'tunnels_note': '',
        'tunnels': [{'name': 'phonehome', 'line': 'phonehome: ESTABLISHED since x'}]})
    assert lines[:3] == ["Mike's Store of Stuff", '12345678', 'Status: Up 3 minutes']
    assert 'POS IP: 192.168.222.222' in lines and 'Type  : demo profile' in lines
    assert lines[-2:] == ['VPNs  :', '    phonehome: ESTABLISHED since x']
    assert header.header_lines({'store': '1', 'tunnels_note': 'none configured'})[-1] == 'VPNs  : none configured'


def test_tunnel_summary_sums_the_installed_children_of_established_sas():
    tunnel = {'name': 'phonehome', 'loaded': True, 'state': 'ESTABLISHED', 'up': True, 'ike_sas': [
        {'state': 'ESTABLISHED', 'established_since': '2026-12-04T20:51:02Z', 'child_sas': [
            {'state': 'INSTALLED', 'bytes_in': 100, 'bytes_out': 200},
            {'state': 'REKEYED', 'bytes_in': 999, 'bytes_out': 999}]},
        {'state': 'CONNECTING', 'child_sas': [{'state': 'INSTALLED', 'bytes_in': 5, 'bytes_out': 5}]}]}
    s = tunnel_summary(tunnel)
    assert (s['bytes_in'], s['bytes_out'], s['since'], s['up']) == (100, 200, '2026-12-04T20:51:02Z', True)
    assert s['line'] == 'phonehome: ESTABLISHED since 2026-12-04T20:51:02Z, CHILD_SA installed, 100 bytes in, 200 bytes out'
    assert tunnel_summary({'name': 'bo', 'state': 'DOWN', 'loaded': False})['line'] == 'bo: DOWN (not loaded)'
    with pytest.raises(AnsibleFilterError, match='expects a tunnel'):
        tunnel_summary({'state': 'DOWN'})


def test_connect_is_a_local_shell_in_the_lab_and_ssh_to_the_cloud_host_elsewhere():
    from poscloud_console.app import connect_argv
    assert connect_argv(STORE, {'ansible_connection': 'local'})[:4] == ['docker', 'exec', '-it', 'pos_12345678']
    argv = connect_argv(STORE, {'ansible_host': 'cloud1.example.net', 'support_user': 'support'})
    assert argv[:3] == ['ssh', '-t', 'support@cloud1.example.net'] and 'pos_12345678' in argv


def test_status_of_an_unknown_store_fails_with_the_known_ones(capsys):
    assert cli.main(['status', '--store', '99999999']) == 2
    err = capsys.readouterr().err
    assert 'poscloud: no store 99999999 in the inventory; its stores are: 12345678' in err
    assert cli.main(['status']) == 2
    assert 'status needs --store ID' in capsys.readouterr().err


def test_the_console_is_installed_as_an_entry_point_of_the_venv():
    exe = os.path.join(os.path.dirname(sys.executable), 'poscloud')
    assert os.access(exe, os.X_OK), 'make setup installs the console as .venv/bin/poscloud'
    proc = subprocess.run([exe, 'stores'], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.dumps("Mike's Store of Stuff")[1:-1] in proc.stdout
