"""IPsec tunnels between the store's POS instance and the lab store router, for real."""
import glob
import json
import os
import subprocess
import time

import pytest

from conftest import BIN, LAB, ROOT, ansible_env, failures, instance_current, lab_host, task_results

STORE = 'store_12345678'
STORE_ID = '12345678'
POS = 'pos_%s' % STORE_ID


def status(out):
    facts = [r['ansible_facts']['ipsec_vpn_status'] for p in out['plays'] for t in p['tasks']
             for r in t['hosts'].values() if 'ipsec_vpn_status' in r.get('ansible_facts', {})]
    return dict((t['name'], t) for t in facts[-1])


def sa_ids(tunnel):
    """What a re-key or re-establishment changes: SA unique ids and SPIs (the established time is
    reported in whole seconds since, so it is compared with a second's tolerance separately)."""
    ike = tunnel['ike_sas'][0]
    return ike['uniqueid'], [(c['uniqueid'], c['spi_in'], c['spi_out']) for c in ike['child_sas']]


def established_at(tunnel):
    ike = tunnel['ike_sas'][0]
    return time.mktime(time.strptime(ike['established_since'], '%Y-%m-%dT%H:%M:%SZ'))


def assert_not_rekeyed(now, before):
    assert sa_ids(now) == sa_ids(before)
    assert abs(established_at(now) - established_at(before)) <= 1


def psk():
    with open(os.path.join(ROOT, '.state', 'lab', 'psk-%s' % STORE_ID)) as f:
        return f.read().split()[0]


def conf_state(lab):
    files = lab.docker('exec', POS, 'sh', '-c', 'cd /etc/swanctl/conf.d && sha256sum *')
    conns = lab.docker('exec', POS, 'swanctl', '--list-conns', '--raw')
    return files, conns


@pytest.fixture(scope='module')
def tunnel_up(lab):
    # test_pos.py, run just before in `make test`, leaves the instance running its latest snapshot.
    if not instance_current(STORE_ID):
        for playbook in ('playbooks/lab.yml', 'playbooks/stage_pos.yml', 'playbooks/pos_start.yml'):
            rc, out = lab.playbook(playbook, '-l', STORE)
            assert rc == 0, '%s: %s' % (playbook, failures(out))
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create')
    assert rc == 0, failures(out)
    return status(out)


def test_the_tunnel_comes_up_and_carries_traffic(lab, tunnel_up):
    assert tunnel_up['phonehome']['up'] and tunnel_up['backoffice']['up']
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE)
    before = status(out)['phonehome']['ike_sas'][0]['child_sas'][0]
    marker = 'e2e print through the tunnel %f' % time.time()
    lab.docker('exec', POS, 'python3', '-c',
               "import socket; s = socket.create_connection(('192.168.22.40', 9100), timeout=5); "
               "s.sendall(%r.encode()); s.close()" % marker)
    time.sleep(1)
    found = subprocess.run(['docker', 'exec', 'printer_%s' % STORE_ID, 'grep', '-rqF', '-e', marker,
                            '/var/spool/labprinter'], check=False).returncode
    assert found == 0, 'the printer on the store net did not receive the job'
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE)
    after = status(out)['phonehome']['ike_sas'][0]['child_sas'][0]
    assert after['bytes_out'] > before['bytes_out'] and after['bytes_in'] > before['bytes_in']
    assert after['packets_out'] > before['packets_out']
    assert after['local_ts'] == ['192.168.222.0/24'] and after['remote_ts'] == ['192.168.22.0/24']


def test_status_prints_what_the_menu_showed(lab, tunnel_up):
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=status')
    assert rc == 0
    lines = [line for p in out['plays'] for t in p['tasks'] for r in t['hosts'].values()
             for line in (r.get('msg') if isinstance(r.get('msg'), list) else [])]
    text = '\n'.join(lines)
    assert 'Security Associations (2 up, 0 connecting):' in text
    assert 'phonehome' in text and 'ESTABLISHED' in text and 'since 20' in text
    assert '198.51.100.112[cloud-12345678]...198.51.100.12[router-12345678]' in text
    assert '192.168.222.0/24 === 192.168.22.0/24' in text


def test_a_second_run_changes_nothing_and_does_not_rekey(lab, tunnel_up):
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create')
    assert rc == 0, failures(out)
    assert out['stats'][STORE]['changed'] == 0
    again = status(out)
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create')
    assert out['stats'][STORE]['changed'] == 0
    assert_not_rekeyed(status(out)['phonehome'], again['phonehome'])
    assert_not_rekeyed(status(out)['backoffice'], again['backoffice'])


def tunnels_with(**backoffice):
    tunnels = [
        {'name': 'phonehome', 'local_ts': ['192.168.222.0/24'], 'remote_ts': ['192.168.22.0/24'],
         'local_id': 'cloud-12345678', 'remote_id': 'router-12345678'},
        dict({'name': 'backoffice', 'local_ts': ['192.168.222.222/32'], 'remote_ts': ['192.168.122.0/24'],
              'local_id': 'cloud-12345678-bo', 'remote_id': 'router-12345678-bo'}, **backoffice),
    ]
    return json.dumps({'ipsec_vpn_tunnels': tunnels})


def test_changing_one_tunnel_does_not_rekey_the_other(lab, tunnel_up):
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE)
    before = status(out)
    try:
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create', '-e', tunnels_with(dpd_delay=45))
        assert rc == 0, failures(out)
        assert out['stats'][STORE]['changed'] > 0
        after = status(out)
        assert_not_rekeyed(after['phonehome'], before['phonehome'])
        assert after['backoffice']['config']['dpd_delay'] == 45
    finally:
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create')
        assert rc == 0, failures(out)


def test_a_tunnel_the_router_refuses_says_why_in_the_routers_words(lab, tunnel_up):
    # The store router accepts only the strong set; the instance offers AES-CBC/SHA-256/MODP-2048 on
    # one tunnel, as a hand-configured third-party router might: the router answers
    # NO_PROPOSAL_CHOSEN, and the failure names it with the proposals we offered.
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=stop')
    assert rc == 0, failures(out)
    try:
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create', '-e', 'ipsec_vpn_wait_timeout=10',
                               '-e', tunnels_with(ike_proposals=['aes128-sha256-modp2048'], esp_proposals=['aes128-sha256-modp2048']))
        assert rc != 0
        msg = failures(out)
        assert 'the peer answered NO_PROPOSAL_CHOSEN to IKE_SA_INIT' in msg, msg
        assert 'we offered IKE aes128-sha256-modp2048; ESP aes128-sha256-modp2048' in msg, msg
        results = [r for p in out['plays'] for t in p['tasks'] for h in t['hosts'].values() for r in [h] + h.get('results', [])]
        refusals = [r['peer_refusal'] for r in results if r.get('peer_refusal')]
        assert refusals and refusals[0].startswith('the peer answered NO_PROPOSAL_CHOSEN'), refusals
    finally:
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create')
        assert rc == 0, failures(out)


def test_check_mode_changes_no_file_and_no_loaded_connection(lab, tunnel_up):
    before = conf_state(lab)
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create', '--check', '--diff',
                           '-e', tunnels_with(dpd_delay=50, remote_ts=['192.168.122.0/25']))
    assert rc == 0, failures(out)
    assert out['stats'][STORE]['changed'] > 0
    assert conf_state(lab) == before
    assert psk() not in json.dumps(out)


@pytest.mark.parametrize('extra,message', [
    ({'ipsec_vpn_ike_proposals': ['aes128-sha1-modp1024']}, 'weak'),
    ({'ipsec_vpn_psk': 'short-key-123'}, 'psk'),
    (None, 'overlaps'),
], ids=['weak-proposal', 'short-psk', 'overlapping-subnet'])
def test_bad_input_is_refused_and_nothing_changes(lab, tunnel_up, extra, message):
    before = conf_state(lab)
    if extra is None:
        extra_arg = tunnels_with(remote_ts=['192.168.22.0/25'])
    else:
        extra_arg = json.dumps(extra)
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create', '-e', extra_arg)
    assert rc != 0
    msg = failures(out)
    assert message in msg.lower(), msg
    assert 'short-key-123' not in json.dumps(out)
    assert conf_state(lab) == before


def test_the_psk_appears_nowhere(lab, tunnel_up, tmp_path):
    secret = psk()
    # 1. The playbook's own output at -vvv, through ansible-runner as AWX runs it.
    pdd = tmp_path / 'runner'
    (pdd / 'env').mkdir(parents=True)
    (pdd / 'env' / 'envvars').write_text('ANSIBLE_CONFIG: %s\n' % os.path.join(ROOT, 'ansible.cfg'))
    proc = subprocess.run([os.path.join(BIN, 'ansible-runner'), 'run', str(pdd), '--project-dir', ROOT,
                           '-p', 'playbooks/vpn.yml', '--inventory', LAB, '--limit', STORE, '-vvv',
                           '--cmdline', '-e vpn_action=create -e ipsec_vpn_wait_timeout=20'],
                          cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default'),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'phonehome' in proc.stdout
    assert secret not in proc.stdout and secret not in proc.stderr
    artefacts = [f for f in glob.glob(str(pdd / 'artifacts' / '**' / '*'), recursive=True) if os.path.isfile(f)]
    assert artefacts, 'ansible-runner wrote no artefacts'
    for path in artefacts:
        with open(path, 'rb') as f:
            assert secret.encode() not in f.read(), 'the PSK is in %s' % path
    # 2. Every image layer of the store's images and of the OS media.
    refs = ['poscloud/store-%s:latest' % STORE_ID, 'poscloud/media:latest', 'poscloud/lab-base:latest']
    save = subprocess.run(['docker', 'image', 'save'] + refs, capture_output=True, check=True)
    assert len(save.stdout) > 10 * 2 ** 20
    assert secret.encode() not in save.stdout, 'the PSK is in an image layer'
    # 3. The key is where it belongs: only in the instance's secrets files (mode 0600).
    pos = lab_host(POS)
    secrets_files = [pos.file('/etc/swanctl/conf.d/' + name) for name in pos.file('/etc/swanctl/conf.d').listdir()
                     if name.endswith('.secrets.conf')]
    assert secrets_files and all(f.mode == 0o600 and f.user == 'root' for f in secrets_files)


def test_test_print_reaches_the_store_printer_through_the_tunnel(lab, tunnel_up):
    rc, out = lab.playbook('playbooks/test_print.yml', '-l', STORE)
    assert rc == 0, failures(out)
    reports = [r.get('msg', '') for p in out['plays'] for t in p['tasks'] for r in t['hosts'].values()
               if 'Test page printed' in str(r.get('msg', ''))]
    assert reports and '192.168.22.40:9100' in reports[0]
    # The printer saw the job come from the instance's cloud address: it crossed the tunnel.
    assert 'received as' in reports[0] and '-192.168.222.222-' in reports[0]


def test_test_print_fails_clearly_when_the_tunnel_is_down(lab, tunnel_up):
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=stop')
    assert rc == 0, failures(out)
    try:
        rc, out = lab.playbook('playbooks/test_print.yml', '-l', STORE)
        assert rc != 0
        assert 'Test print from pos_12345678 failed' in failures(out)
    finally:
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=start')
        assert rc == 0, failures(out)


def module(host, name, args, check=False):
    """One module run, ad hoc, on a host of the lab inventory: its result."""
    cmd = [os.path.join(BIN, 'ansible'), host, '-i', LAB, '-m', name, '-a', json.dumps(args)] + (['--check', '--diff'] if check else [])
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK='ansible.posix.json'),
                          capture_output=True, text=True, check=False)
    # the JSON document, then profile_tasks' summary
    out = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index('{'):])[0]
    return list(out['plays'][0]['tasks'][0]['hosts'].values())[0]


# The lab router's ends of the store's tunnels (store_lab's responders), which a test changes.
ROUTER_COMMON = {'local_addrs': ['198.51.100.12'], 'remote_addrs': ['198.51.100.112'], 'start_action': 'none',
                 'dpd_action': 'clear', 'log_path': '/var/log/charon.log', 'state': 'present'}
ROUTER_TUNNELS = {
    'phonehome': dict(ROUTER_COMMON, name='phonehome', local_id='router-12345678', remote_id='cloud-12345678',
                      local_ts=['192.168.22.0/24'], remote_ts=['192.168.222.0/24']),
    'backoffice': dict(ROUTER_COMMON, name='backoffice', local_id='router-12345678-bo', remote_id='cloud-12345678-bo',
                       local_ts=['192.168.122.0/24'], remote_ts=['192.168.222.222/32']),
}
CLASSIC = {'ike_proposals': ['aes128-sha1-modp1024'], 'esp_proposals': ['aes128-sha1-modp1024'], 'allow_weak_crypto': True}


def terminate(name):
    """Take a tunnel down on the instance (nothing to do when it is down)."""
    subprocess.run(['docker', 'exec', POS, 'swanctl', '--terminate', '--ike', name], capture_output=True, check=False)


def router_tunnel(name, **change):
    """The router's end of tunnel ``name`` as the lab has it, with ``change``: set by the module run on
    this host, in the router's container (the module's container mode)."""
    args = dict(ROUTER_TUNNELS[name], psk=psk(), container='router_%s' % STORE_ID)
    args.update(change)
    result = module('localhost', 'poscloud.fleet.ipsec_tunnel', args)
    assert not result.get('failed'), result.get('msg')
    return result


@pytest.mark.parametrize('router,reason,words', [
    # a store router configured by hand with classic proposals only (both tunnels: the router picks
    # its IKE settings by address, and both tunnels share the addresses)
    ({'phonehome': CLASSIC, 'backoffice': CLASSIC}, 'NO_PROPOSAL_CHOSEN to IKE_SA_INIT',
     'we offered IKE aes256gcm16-prfsha384-ecp384, aes256gcm16-prfsha256-modp3072; '
     'ESP aes256gcm16-ecp384, aes256gcm16-modp3072'),
    ({'backoffice': {'psk': 'not-the-store-key-0123456789abcdef'}}, 'AUTHENTICATION_FAILED to IKE_AUTH',
     'the pre-shared key or the IDs differ'),
    ({'backoffice': {'local_ts': ['192.168.123.0/24']}}, 'TS_UNACCEPTABLE', "each side must name the other's networks"),
], ids=['classic-proposals', 'wrong-psk', 'other-subnet'])
def test_a_router_that_refuses_is_named_in_its_own_words(lab, tunnel_up, router, reason, words):
    for name in router:
        terminate(name)
    try:
        for name, change in router.items():
            router_tunnel(name, **change)
        started = time.time()
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create', '-e', 'ipsec_vpn_wait_timeout=10')
        took = time.time() - started
        assert rc != 0
        msg = failures(out)
        for name in router:
            assert 'tunnel %s did not come up' % name in msg, msg
        assert 'the peer answered %s' % reason in msg, msg
        assert words in msg, msg
        assert msg.index(reason) < msg.index('last daemon log lines'), msg
        assert psk() not in json.dumps(out)
        # a refusal is the peer's answer: the task does not sit out its wait
        assert took < 10, took
        results = [h for p in out['plays'] for t in p['tasks'] for h in t['hosts'].values()]
        applied = [r for r in results if r.get('failed_tunnels')]
        assert applied and sorted(applied[0]['failed_tunnels']) == sorted(router), results
        for name in router:
            assert applied[0]['peer_refusals'][name].startswith('the peer answered %s' % reason)
        # a tunnel the router did not refuse is up, and reported
        for t in applied[0]['tunnels']:
            assert t['up'] == (t['name'] not in router), t
    finally:
        for name in router:
            router_tunnel(name)
            terminate(name)
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create')
        assert rc == 0, failures(out)


def test_the_tunnels_are_managed_from_the_host_through_docker_exec(lab, tunnel_up):
    # ipsec_vpn_container: the one call runs on the store's host (the controller in the lab) and
    # reaches the instance with docker exec; no Docker connection into the instance.
    container = ['-e', 'ipsec_vpn_container=%s' % POS]
    for name in ('phonehome', 'backoffice'):
        terminate(name)
    try:
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create', *container)
        assert rc == 0, failures(out)
        tunnels = status(out)
        assert tunnels['phonehome']['up'] and tunnels['backoffice']['up']
        applied = [t for p in out['plays'] for t in p['tasks'] if 'Apply the tunnels and' in t['task']['name']]
        host_result = applied[0]['hosts'][STORE]
        assert sorted(host_result['actions']) == ['initiate backoffice', 'initiate phonehome']
        # run on the store's host itself (its connection: local in the lab), not in the instance
        assert host_result['_ansible_delegated_vars']['ansible_host'] == STORE
        assert host_result['_ansible_delegated_vars']['ansible_connection'] == 'local'
        # a change is written inside the container (atomically, mode kept) and loaded; the other tunnel is not re-keyed
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create', *container,
                               '-e', tunnels_with(dpd_delay=45))
        assert rc == 0, failures(out)
        after = status(out)
        assert after['backoffice']['config']['dpd_delay'] == 45
        assert_not_rekeyed(after['phonehome'], tunnels['phonehome'])
        assert 'dpd_delay = 45s' in lab.docker('exec', POS, 'cat', '/etc/swanctl/conf.d/backoffice.conf')
        modes = lab.docker('exec', POS, 'sh', '-c', 'stat -c "%a %n" /etc/swanctl/conf.d/*')
        assert '600 /etc/swanctl/conf.d/backoffice.secrets.conf' in modes and '/.tmp-' not in modes
        # check mode through docker exec changes nothing
        before = conf_state(lab)
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create', '--check', '--diff',
                               *container, '-e', tunnels_with(dpd_delay=50))
        assert rc == 0 and out['stats'][STORE]['changed'] > 0
        assert conf_state(lab) == before
        # the status action, with ipsec_tunnel_info through docker exec
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=status', *container)
        assert rc == 0, failures(out)
        assert status(out)['backoffice']['config']['dpd_delay'] == 45
    finally:
        rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create', *container)
        assert rc == 0, failures(out)
    # and back to the original: a no-op, run either way
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create', *container)
    assert rc == 0 and out['stats'][STORE]['changed'] == 0, failures(out)
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create')
    assert rc == 0 and out['stats'][STORE]['changed'] == 0, failures(out)


def test_the_module_alone_on_the_host_reports_a_container_s_tunnels(lab, tunnel_up):
    info = module('localhost', 'poscloud.fleet.ipsec_tunnel_info', {'container': POS})
    assert not info.get('failed'), info.get('msg')
    assert set(info['connections']) == {'phonehome', 'backoffice'}
    assert all(t['up'] for t in info['tunnels'])
    gone = module('localhost', 'poscloud.fleet.ipsec_tunnel_info', {'container': 'pos_00000000'})
    assert gone.get('failed') and 'pos_00000000' in gone['msg']


def applied(out):
    """The result of the role's one call."""
    return [h for p in out['plays'] for t in p['tasks'] if 'Apply the tunnels and' in t['task']['name']
            for h in t['hosts'].values()][0]


def test_changed_charon_settings_restart_charon_once_and_the_tunnels_come_back(lab, tunnel_up):
    logging = '/etc/strongswan.d/charon-logging.conf'
    lab.docker('exec', POS, 'sed', '-i', 's/default = 1/default = 2/', logging)
    charon = lab.docker('exec', POS, 'pgrep', '-x', 'charon-systemd').split()
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create')
    assert rc == 0, failures(out)
    result = applied(out)
    assert result['charon'] == {'datapath': 'libipsec', 'restarted': True}
    assert result['actions'][:2] == ['write %s' % logging, 'restart charon']
    assert lab.docker('exec', POS, 'pgrep', '-x', 'charon-systemd').split() != charon
    assert 'default = 1' in lab.docker('exec', POS, 'cat', logging)
    tunnels = status(out)
    assert tunnels['phonehome']['up'] and tunnels['backoffice']['up']
    # settings as they are: no restart
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=create')
    assert rc == 0 and out['stats'][STORE]['changed'] == 0, failures(out)
    assert applied(out)['charon'] == {'datapath': 'libipsec', 'restarted': False}


def test_a_new_snapshot_keeps_the_tunnels_and_the_fleet_update_waits_for_them(lab, tunnel_up):
    # Runs last: replacing the instance re-establishes the tunnels the tests above compare.
    running = lab.docker('inspect', '-f', '{{.Image}}', POS).strip()
    rc, out = lab.playbook('playbooks/stage_pos.yml', '-l', STORE, '-e', 'pos_stage_force=true')
    assert rc == 0, failures(out)
    newest = lab.docker('image', 'inspect', '-f', '{{.Id}}', 'poscloud/store-%s:latest' % STORE_ID).strip()
    assert newest != running
    rc, out = lab.playbook('playbooks/fleet_update.yml', '-l', STORE,
                           '-e', '{"fleet_update_build_media": false, "fleet_update_waves": "100%"}')
    assert rc == 0, failures(out)
    assert lab.docker('inspect', '-f', '{{.Image}}', POS).strip() == newest, 'the instance was not replaced'
    gate = task_results(out, 'Tunnel gate')
    assert gate and all(not r.get('skipped') and not r.get('failed') for r in gate), gate
    # The tunnels' configuration and keys are on the instance's own volume (not a lab-only mount).
    mounts = json.loads(lab.docker('inspect', '-f', '{{json .Mounts}}', POS))
    assert any(m.get('Name') == 'pos_%s_swanctl' % STORE_ID and m['Destination'] == '/etc/swanctl/conf.d'
               for m in mounts), mounts
    rc, out = lab.playbook('playbooks/vpn.yml', '-l', STORE, '-e', 'vpn_action=status')
    assert rc == 0, failures(out)
    tunnels = status(out)
    assert set(tunnels) == {'phonehome', 'backoffice'}
    assert all(t['state'] == 'ESTABLISHED' for t in tunnels.values()), tunnels
