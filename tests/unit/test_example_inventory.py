"""The production-shaped example inventory (inventories/example) runs as documented, and host keys
are verified everywhere but in the lab inventory.

The plays run in check mode against the example's hosts, which do not exist: they must get as far
as connecting to the first host (UNREACHABLE), never stop on a variable that is undefined or
unreadable."""
import configparser
import json
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, '.venv', 'bin')
EXAMPLE = os.path.join(ROOT, 'inventories', 'example')
LAB = os.path.join(ROOT, 'inventories', 'lab')
# The password the example's vault values are encrypted with, as README.md and
# inventories/example/group_vars/stores/vault.yml document it.
EXAMPLE_VAULT_PASSWORD = 'example-only-vault-password'
STORE = 'store_12345678'


def ansible(args, tmp_path, **env):
    full = dict(os.environ, PATH='%s:%s' % (BIN, os.environ.get('PATH', '/usr/bin:/bin')),
                ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
                ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
                ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'),
                ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                POSCLOUD_VAULT_PASSWORD=EXAMPLE_VAULT_PASSWORD)
    full.update(env)
    return subprocess.run(args, cwd=ROOT, env=full, capture_output=True, text=True, timeout=240, check=False)


def example_playbook(playbook, tmp_path, *extra):
    return ansible([os.path.join(BIN, 'ansible-playbook'), '-i', EXAMPLE,
                    '--vault-password-file', os.path.join(EXAMPLE, 'vault-password.sh'),
                    os.path.join(ROOT, 'playbooks', playbook), '-l', STORE, '--check'] + list(extra), tmp_path)


def recap(output, host):
    found = re.search(r'^%s\s*:\s*(.*)$' % re.escape(host), output, re.MULTILINE)
    assert found, 'no PLAY RECAP line for %s in:\n%s' % (host, output[-3000:])
    return dict((key, int(value)) for key, value in re.findall(r'(\w+)=(\d+)', found.group(1)))


def assert_stops_at_the_unreachable_host(proc):
    output = proc.stdout + proc.stderr
    counts = recap(proc.stdout, STORE)
    assert counts['unreachable'] == 1 and counts['failed'] == 0, output[-3000:]
    assert 'UNREACHABLE!' in proc.stdout, output[-3000:]
    # ansible-playbook exits 4 when a host was unreachable and nothing else failed.
    assert proc.returncode == 4, output[-3000:]
    for variable_error in ('is undefined', 'undefined variable', 'Decryption failed',
                           'no vault secrets', 'argument_spec', 'Validating arguments'):
        assert variable_error not in output.replace('Validating arguments against arg spec', ''), output[-3000:]


@pytest.mark.parametrize('playbook,extra', [
    ('deploy_pos.yml', []),
    ('vpn.yml', ['-e', 'vpn_action=create']),
], ids=['deploy_pos', 'vpn-create'])
def test_example_check_run_gets_to_the_first_unreachable_host(tmp_path, playbook, extra):
    proc = example_playbook(playbook, tmp_path, *extra)
    assert_stops_at_the_unreachable_host(proc)
    # It tried the store's cloud host, with the inventory's own known_hosts file.
    assert 'cloud01.example.com' in proc.stdout, proc.stdout[-3000:]


def test_the_recap_parser_tells_a_variable_error_from_an_unreachable_host(tmp_path):
    """The check above must be able to fail: a play that stops on an undefined variable."""
    playbook = tmp_path / 'undefined.yml'
    playbook.write_text('- hosts: %s\n  gather_facts: false\n  tasks:\n'
                        '    - ansible.builtin.debug:\n        msg: "{{ no_such_variable_anywhere }}"\n' % STORE)
    proc = ansible([os.path.join(BIN, 'ansible-playbook'), '-i', EXAMPLE,
                    '--vault-password-file', os.path.join(EXAMPLE, 'vault-password.sh'), str(playbook)], tmp_path)
    assert recap(proc.stdout, STORE)['failed'] == 1
    with pytest.raises(AssertionError):
        assert_stops_at_the_unreachable_host(proc)


def host_vars(inventory, tmp_path, *names):
    """The named variables of the store host, rendered as a play would see them."""
    query = '{"msg": "{{ {%s} | to_json }}"}' % ', '.join("'%s': %s" % (name, name) for name in names)
    proc = ansible([os.path.join(BIN, 'ansible'), '-i', inventory, STORE,
                    '--vault-password-file', os.path.join(EXAMPLE, 'vault-password.sh'),
                    '-m', 'ansible.builtin.debug', '-a', query], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index('{'):])[0]
    return json.loads(result['msg'])


def test_example_maps_its_vaulted_psk_to_the_vpn_role(tmp_path):
    proc = ansible([os.path.join(BIN, 'ansible'), '-i', EXAMPLE, STORE,
                    '--vault-password-file', os.path.join(EXAMPLE, 'vault-password.sh'),
                    '-m', 'ansible.builtin.debug', '-a',
                    '{"msg": "{{ (ipsec_vpn_psk | length) ~ \' \' ~ (ipsec_vpn_psk == vault_ipsec_psk_12345678) }}"}'],
                   tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"40 True"' in proc.stdout, proc.stdout
    # The value is encrypted in the file: the file itself never holds the key in clear text.
    with open(os.path.join(EXAMPLE, 'group_vars', 'stores', 'vault.yml'), encoding='utf-8') as handle:
        text = handle.read()
    assert text.count('!vault |') == 2 and '$ANSIBLE_VAULT;1.1;AES256' in text


def test_host_keys_are_verified_except_in_the_lab(tmp_path):
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, 'ansible.cfg'))
    assert config.getboolean('defaults', 'host_key_checking') is True

    example = host_vars(EXAMPLE, tmp_path, 'ansible_host_key_checking', 'ansible_ssh_common_args')
    assert example['ansible_host_key_checking'] is True
    args = example['ansible_ssh_common_args']
    assert 'StrictHostKeyChecking=yes' in args and 'StrictHostKeyChecking=no' not in args
    known = re.search(r'UserKnownHostsFile=(\S+)', args).group(1)
    assert known.startswith(EXAMPLE) and os.path.isfile(known), known

    assert host_vars(LAB, tmp_path, 'ansible_host_key_checking')['ansible_host_key_checking'] is False


def test_the_example_windows_report_reads_each_store_in_its_own_time_zone(tmp_path):
    # Saturday 2027-02-06 19:45 UTC: 13:45 in Chicago, the store's lunch break, but it opens again
    # at 14:00, sooner than the 30 minutes its updates need; the next window is that evening, up to
    # the blackout week that starts at midnight. The store without hours is always in its window.
    proc = ansible([os.path.join(BIN, 'ansible-playbook'), '-i', EXAMPLE,
                    '--vault-password-file', os.path.join(EXAMPLE, 'vault-password.sh'),
                    os.path.join(ROOT, 'playbooks', 'windows.yml'), '-e', 'poscloud_reports_dir=%s' % tmp_path,
                    '-e', 'maintenance_window_now=2027-02-06T19:45:00Z'], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(str(tmp_path / 'fleet' / 'windows.json')) as f:
        report = json.load(f)
    rows = dict((r['host'], r) for r in report['hosts'])
    assert report['in_window'] == ['store_12345678'] and 'store_23456789' in report['outside']
    downtown = rows['store_23456789']
    assert downtown['now_local'] == '2027-02-06 13:45 CST'
    assert downtown['reason'].startswith('closed now (2027-02-06 13:45 CST), but it opens at 2027-02-06 14:00 CST')
    assert (downtown['window_start_local'], downtown['window_end_local']) == ('2027-02-06 18:00 CST', '2027-02-07 00:00 CST')
    assert (tmp_path / 'fleet' / 'windows.md').read_text().count('| store_') == len(rows)
