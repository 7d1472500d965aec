"""A VPN run that fails leaves no secret behind: the store's pre-shared key (and the support users'
password hashes, when the inventory has any) appear nowhere in the output of vpn.yml at -vvv, run
directly and through ansible-runner as AWX runs it, nor in the runner's artefacts.

The run is made to fail on purpose with a tunnel of its own ("secretprobe") whose peer address
does not answer and whose entry carries the store's key: the tunnels list, the failure message and
the module's invocation are all printed at -vvv. The store's real tunnels are left as they are, and the
probe tunnel is deleted afterwards."""
import glob
import json
import os
import subprocess

import pytest

from conftest import BIN, LAB, ROOT, ansible_env, failures

STORE = 'store_12345678'
STORE_ID = '12345678'
POS = 'pos_%s' % STORE_ID
PROBE = 'secretprobe'
# Extra variables: only the probe tunnel, towards an address of the lab internet that nobody
# holds, with the store's own key on the tunnel entry, and a short wait.
PROBE_VARS = {
    'ipsec_vpn_tunnels': [{
        'name': PROBE,
        'local_ts': ['10.231.1.0/24'],
        'remote_ts': ['10.231.2.0/24'],
        'local_id': 'probe-cloud-%s' % STORE_ID,
        'remote_id': 'probe-router-%s' % STORE_ID,
        'remote_addrs': ['198.51.100.250'],
        'psk': '{{ store_vpn_psk }}',
    }],
    'ipsec_vpn_wait_timeout': 5,
}


def psk():
    with open(os.path.join(ROOT, '.state', 'lab', 'psk-%s' % STORE_ID)) as f:
        secret = f.read().split()[0]
    assert len(secret) >= 20, 'the lab PSK of %s is empty or short' % STORE_ID
    return secret


def password_hashes():
    """The support users' password hashes the lab inventory gives the store (none, today)."""
    query = ('{"msg": "{{ pos_stage_support_users | default([]) | selectattr(\'password_hash\', \'defined\')'
             ' | map(attribute=\'password_hash\') | list | to_json }}"}')
    proc = subprocess.run([os.path.join(BIN, 'ansible'), STORE, '-i', LAB, '-m', 'ansible.builtin.debug', '-a', query],
                          cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default'),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index('{'):])[0]
    return json.loads(result['msg'])


def hits(secrets, text):
    """(secret prefix, where) for every secret found in ``text`` (str or bytes)."""
    found = []
    for secret in secrets:
        needle = secret.encode() if isinstance(text, bytes) else secret
        if needle in text:
            found.append(secret[:4] + '...')
    return found


@pytest.fixture(scope='module')
def instance_up(lab):
    """The store's instance runs charon with the store's tunnels loaded: as test_vpn.py, run just
    before in `make test`, leaves it (then nothing is run again), or brought up here."""
    conns = subprocess.run(['docker', 'exec', POS, 'swanctl', '--list-conns'], capture_output=True, text=True,
                           check=False)
    if conns.returncode == 0 and 'phonehome' in conns.stdout:
        return
    for playbook in ('playbooks/lab.yml', 'playbooks/stage_pos.yml', 'playbooks/pos_start.yml'):
        rc, out = lab.playbook(playbook, '-l', STORE)
        assert rc == 0, '%s: %s' % (playbook, failures(out))
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create')
    assert rc == 0, failures(out)


@pytest.fixture
def probe_vars(tmp_path, lab, instance_up):
    path = tmp_path / 'probe.json'
    path.write_text(json.dumps(PROBE_VARS))
    yield str(path)
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=delete', '-e', '@' + str(path))
    assert rc == 0, failures(out)
    conns = lab.docker('exec', POS, 'swanctl', '--list-conns', '--raw')
    assert PROBE not in conns


def vvv_run(probe_file):
    return subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', LAB, os.path.join(ROOT, 'playbooks', 'vpn.yml'),
                           '-l', STORE, '-vvv', '-e', 'vpn_action=create', '-e', '@' + probe_file],
                          cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default'),
                          capture_output=True, text=True, check=False)


def test_the_grep_finds_a_secret_that_is_printed(lab):
    """The search below can fail: a PSK printed on purpose is found."""
    secret = psk()
    assert hits([secret], 'before %s after' % secret) == [secret[:4] + '...']
    assert hits([secret], ('x' + secret).encode()) == [secret[:4] + '...']
    proc = subprocess.run([os.path.join(BIN, 'ansible'), STORE, '-i', LAB, '-vvv', '-m', 'ansible.builtin.debug',
                           '-a', '{"msg": "{{ store_vpn_psk }}"}'],
                          cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default'),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert hits([secret], proc.stdout)


def test_a_failed_vpn_run_at_vvv_prints_no_secret(lab, probe_vars, tmp_path):
    secrets = [psk()] + password_hashes()

    # 1. ansible-playbook -vvv, directly.
    proc = vvv_run(probe_vars)
    assert proc.returncode != 0, proc.stdout[-3000:]
    output = proc.stdout + proc.stderr
    # It failed where it was meant to: applying the probe tunnel, whose peer never answers.
    applying = output.find("Apply the tunnels and charon's settings, bring them up and report them]")
    assert applying >= 0, output[-3000:]
    assert 'fatal: [%s' % STORE in output[applying:] and PROBE in output[applying:], output[-3000:]
    assert not hits(secrets, output), 'a secret is in the -vvv output'

    # 2. The same through ansible-runner, as AWX runs it; then every artefact it wrote.
    pdd = tmp_path / 'runner'
    (pdd / 'env').mkdir(parents=True)
    (pdd / 'env' / 'envvars').write_text('ANSIBLE_CONFIG: %s\n' % os.path.join(ROOT, 'ansible.cfg'))
    runner = subprocess.run([os.path.join(BIN, 'ansible-runner'), 'run', str(pdd), '--project-dir', ROOT,
                             '-p', 'playbooks/vpn.yml', '--inventory', LAB, '--limit', STORE, '-vvv',
                             '--cmdline', '-e vpn_action=create -e @%s' % probe_vars],
                            cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default'),
                            capture_output=True, text=True, check=False)
    assert runner.returncode != 0, runner.stdout[-3000:]
    assert PROBE in runner.stdout, runner.stdout[-3000:]
    assert not hits(secrets, runner.stdout + runner.stderr), 'a secret is in the runner output'
    artefacts = [f for f in glob.glob(str(pdd / 'artifacts' / '**' / '*'), recursive=True) if os.path.isfile(f)]
    events = [f for f in artefacts if '/job_events/' in f]
    assert artefacts and events, 'ansible-runner wrote no job events'
    leaked = []
    for path in artefacts:
        with open(path, 'rb') as f:
            leaked.extend('%s in %s' % (hit, os.path.relpath(path, str(pdd))) for hit in hits(secrets, f.read()))
    assert not leaked, leaked
    # The failed task's event is there, with its message: the grep read real results.
    failed = []
    for path in events:
        with open(path) as f:
            event = json.load(f)
        if event.get('event') == 'runner_on_failed':
            failed.append(event['event_data'])
    assert failed and any(PROBE in json.dumps(e) for e in failed)
