"""The store's tunnels, read inside both ends (testinfra's docker backend): charon and its vici
socket, the files the role wrote, the SAs charon reports, and traffic across the tunnel."""
import os
import re

import pytest
import testinfra

testinfra_hosts = ['stores']
TUNNELS = {'phonehome': ('192.168.236.0/24', '192.168.237.0/24'),
           'backoffice': ('192.168.236.222/32', '192.168.238.0/24')}
PSK_FILE = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], '.state', 'lab', 'psk-99999994')


@pytest.fixture(scope='module')
def cloud():
    return testinfra.get_host('docker://pos_99999994')


@pytest.fixture(scope='module')
def router():
    return testinfra.get_host('docker://router_99999994')


def sas(end):
    """The IKE SAs charon reports (swanctl --list-sas --raw), as {name: raw text of the SA}."""
    out = end.check_output('swanctl --list-sas --raw')
    return dict((m.group(1), m.group(0)) for m in re.finditer(r'list-sa event \{(\w+) \{.*', out))


def child_counters(end, name):
    raw = sas(end)[name]
    return (int(re.search(r'bytes-out=(\d+)', raw).group(1)), int(re.search(r'packets-out=(\d+)', raw).group(1)),
            int(re.search(r'bytes-in=(\d+)', raw).group(1)))


@pytest.mark.parametrize('end_name', ['cloud', 'router'])
def test_charon_runs_and_answers_on_its_vici_socket(request, end_name):
    end = request.getfixturevalue(end_name)
    assert end.process.filter(comm='charon-systemd')
    assert end.socket('unix:///var/run/charon.vici').is_listening
    assert 'kernel-libipsec' in end.check_output('swanctl --stats')


def test_the_role_wrote_each_tunnel_with_its_key_kept_apart(cloud):
    with open(PSK_FILE) as f:
        psk = f.read().split()[0]
    for name, (local_ts, remote_ts) in TUNNELS.items():
        conf = cloud.file('/etc/swanctl/conf.d/%s.conf' % name)
        secrets = cloud.file('/etc/swanctl/conf.d/%s.secrets.conf' % name)
        assert conf.exists and secrets.exists
        assert local_ts in conf.content_string and remote_ts in conf.content_string
        assert psk not in conf.content_string
        assert secrets.mode == 0o600 and secrets.user == 'root'
        assert psk in secrets.content_string
    assert psk not in cloud.check_output('swanctl --list-conns')


def test_the_data_path_and_the_log_are_charons_settings(cloud):
    libipsec = cloud.file('/etc/strongswan.d/charon/kernel-libipsec.conf')
    assert re.search(r'^\s*load\s*=\s*yes', libipsec.content_string, re.M)
    assert '/var/log/charon.log' in cloud.file('/etc/strongswan.d/charon-logging.conf').content_string
    assert cloud.file('/var/log/charon.log').size > 0
    assert cloud.interface('ipsec0').exists


@pytest.mark.parametrize('end_name,local_id,remote_id', [
    ('cloud', 'cloud-99999994', 'router-99999994'), ('router', 'router-99999994', 'cloud-99999994')])
def test_both_tunnels_are_established_with_their_child_sa_installed(request, end_name, local_id, remote_id):
    end = request.getfixturevalue(end_name)
    up = sas(end)
    assert sorted(up) == sorted(TUNNELS)
    for name, raw in up.items():
        assert 'state=ESTABLISHED' in raw, raw
        assert 'state=INSTALLED' in raw, raw
        assert 'encr-alg=AES_GCM_16' in raw and 'encr-keysize=256' in raw
    assert 'local-id=%s ' % local_id in up['phonehome'] and 'remote-id=%s ' % remote_id in up['phonehome']


def test_the_cloud_end_initiated_and_routes_the_store_net_into_the_tunnel(cloud):
    assert 'initiator=yes' in sas(cloud)['phonehome']
    route = cloud.check_output('ip route show table 220 192.168.237.0/24')
    assert 'dev ipsec0' in route and 'src 192.168.236.222' in route


def test_traffic_crosses_the_tunnel(cloud, router):
    before_cloud, before_router = child_counters(cloud, 'phonehome'), child_counters(router, 'phonehome')
    ping = cloud.run('ping -c 3 -i 0.2 -W 2 -I 192.168.236.222 192.168.237.254')
    assert ping.rc == 0, ping.stdout + ping.stderr
    after_cloud, after_router = child_counters(cloud, 'phonehome'), child_counters(router, 'phonehome')
    assert after_cloud[0] > before_cloud[0] and after_cloud[1] >= before_cloud[1] + 3
    assert after_router[2] > before_router[2]
