"""The store's lab stand-ins, read inside their containers (testinfra's docker backend), over SSH
as the controller reaches the physical server (its ssh backend), and on this machine (host)."""
import json
import os
import time

import pytest
import testinfra

STORE_ID = '99999997'
INTERNET = 'molecule_lab_internet_99999997'
FILES_DIR = '/var/tmp/poscloud-fleet/molecule/lab-99999997'
# The host fixture: the store's host (this machine), not the router the inventory also lists.
testinfra_hosts = ['stores']
KEY = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], '.state', 'lab', 'id_ed25519')


def lab_host(kind):
    return testinfra.get_host('docker://%s_%s' % (kind, STORE_ID))


@pytest.fixture(scope='module')
def router():
    return lab_host('router')


@pytest.fixture(scope='module')
def printer():
    return lab_host('printer')


@pytest.fixture(scope='module')
def posserver():
    return lab_host('posserver')


def addresses(lab):
    return set(a for name in lab.interface.names() for a in lab.interface(name).addresses)


def inspect(host, kind, name):
    return json.loads(host.check_output('docker %s inspect %s', kind, name))[0]


def test_the_lab_internet_and_the_store_nets_are_bridges_of_this_machine(host):
    internet = inspect(host, 'network', INTERNET)
    assert internet['Internal'] is True
    assert internet['IPAM']['Config'][0]['Subnet'] == '203.0.113.0/26'
    store_net = inspect(host, 'network', 'store_net_' + STORE_ID)
    assert store_net['IPAM']['Config'][0]['Subnet'] == '192.168.231.0/24'
    assert store_net['Labels']['poscloud.fleet.store'] == STORE_ID
    backoffice = inspect(host, 'network', 'store_bo_' + STORE_ID)
    assert backoffice['IPAM']['Config'][0]['Subnet'] == '192.168.232.0/24'


@pytest.mark.parametrize('kind', ['router', 'printer', 'posserver'])
def test_each_lab_host_runs_and_restarts_by_itself(host, kind):
    container = host.docker('%s_%s' % (kind, STORE_ID))
    assert container.is_running
    info = inspect(host, 'container', container.name)
    assert info['HostConfig']['RestartPolicy']['Name'] == 'unless-stopped'
    assert info['Config']['Labels']['poscloud.fleet.lab'] == kind


def test_the_router_sits_on_the_internet_the_store_net_and_the_back_office(router):
    assert set(['203.0.113.12', '192.168.231.254', '192.168.232.254']) <= addresses(router)
    assert router.sysctl('net.ipv4.ip_forward') == 1


def test_the_routers_charon_answers_on_its_vici_socket(router):
    assert router.process.filter(comm='charon-systemd')
    assert router.socket('unix:///var/run/charon.vici').is_listening
    stats = router.run('swanctl --stats')
    assert stats.rc == 0 and 'kernel-libipsec' in stats.stdout


def test_the_router_answers_the_stores_tunnel_with_the_key_kept_apart(router):
    conf = router.file('/etc/swanctl/conf.d/phonehome.conf')
    secrets = router.file('/etc/swanctl/conf.d/phonehome.secrets.conf')
    assert conf.exists and secrets.exists
    assert secrets.mode == 0o600 and secrets.user == 'root'
    assert 'secret' not in conf.content_string
    conns = router.check_output('swanctl --list-conns')
    assert 'phonehome:' in conns
    assert '192.168.231.0/24' in conns and '192.168.230.0/24' in conns
    assert 'router-99999997' in conns and 'cloud-99999997' in conns
    assert '203.0.113.50' in conns


def test_the_printer_keeps_what_a_store_host_sends_it(printer, posserver):
    assert printer.socket('tcp://0.0.0.0:9100').is_listening
    assert 'via 192.168.231.254' in printer.check_output('ip route show 192.168.230.0/24')
    marker = 'molecule store_lab print %f' % time.time()
    posserver.check_output(
        'python3 -c "import socket, sys; s = socket.create_connection((\'192.168.231.40\', 9100), timeout=5); '
        's.sendall(sys.argv[1].encode()); s.close()" %s', marker)
    deadline = time.time() + 5
    while printer.run('grep -rqF -e %s /var/spool/labprinter', marker).rc != 0:
        assert time.time() < deadline, 'the printer did not keep the job'
        time.sleep(0.25)


def test_the_physical_server_sells_from_its_generated_data(posserver):
    assert posserver.socket('tcp://0.0.0.0:8080').is_listening
    assert posserver.socket('tcp://0.0.0.0:22').is_listening
    pos = posserver.user('pos')
    assert pos.exists and pos.uid == 2001
    assert [p for p in posserver.process.filter(user='pos') if 'posd' in p.args.split()[1]]
    health = json.loads(posserver.check_output(
        'python3 -c "import urllib.request; print(urllib.request.urlopen(\'http://127.0.0.1:8080/health\', timeout=3).read().decode())"'))
    assert health['status'] == 'ok'
    archive = posserver.check_output('find /usr2/pos/archive -name "*.dat" -printf "%s\\n"').split()
    assert sum(int(s) for s in archive) >= 2 * 1024 * 1024
    assert posserver.file('/usr2/pos').user == 'pos'
    assert 'via 192.168.231.254' in posserver.check_output('ip route show 192.168.230.0/24')


def test_the_controller_logs_in_to_the_physical_server_with_its_key(host):
    server = testinfra.get_host(
        'ssh://root@192.168.231.10', ssh_identity_file=KEY,
        ssh_extra_args='-o ControlMaster=no -o ControlPath=none -o UserKnownHostsFile=/dev/null '
                       '-o StrictHostKeyChecking=no -o LogLevel=ERROR')
    assert server.check_output('hostname') == 'posserver-' + STORE_ID
    with open(KEY + '.pub') as f:
        assert f.read().split()[1] in server.file('/root/.ssh/authorized_keys').content_string


def test_the_physical_servers_identity_is_kept_on_this_machine(host, posserver):
    kept = host.file(FILES_DIR + '/posserver_%s/ssh_host_ed25519_key.pub' % STORE_ID)
    assert kept.exists
    assert host.file(FILES_DIR + '/posserver_%s' % STORE_ID).mode == 0o700
    offered = posserver.check_output('cat /var/lib/posserver/ssh_host_ed25519_key.pub')
    assert kept.content_string.split()[1] == offered.split()[1]
