"""After the final copy: the instance holds the physical server's data file for file, the copy's key
may only read that data, and the server's application stays down. Read on this machine (host), in
the physical server and in the instance (testinfra's docker backend)."""
import pytest
import testinfra

testinfra_hosts = ['stores']
STORE_ID = '99999996'
STATE = '/var/lib/poscloud-fleet/stores/' + STORE_ID
SERVER_IP = '192.168.234.10'
# The demo profile's data path and the names its backups and copies leave out.
DATA = '/usr2/pos'
EXCLUDED = ('*.tmp', '*.db-shm')


@pytest.fixture(scope='module')
def server():
    return testinfra.get_host('docker://posserver_' + STORE_ID)


@pytest.fixture(scope='module')
def instance():
    return testinfra.get_host('docker://pos_' + STORE_ID)


def sums(side):
    """{path: sha256} of every file under the data path but the excluded names."""
    leave_out = ' '.join("! -name '%s'" % pattern for pattern in EXCLUDED)
    out = side.check_output("cd %s && find . -type f %s -exec sha256sum {} +" % (DATA, leave_out))
    return dict((line.split(None, 1)[1], line.split(None, 1)[0]) for line in out.splitlines())


def test_the_instance_holds_the_servers_data_file_for_file(server, instance):
    source = sums(server)
    assert len([p for p in source if p.startswith('./archive/')]) >= 10
    assert './db/pos.db' in source
    assert sums(instance) == source


def test_the_copy_keeps_owners_by_name_and_modes(server, instance):
    # The instance's pos group need not have the server's number: the copy maps owners by name.
    for path in ('db/pos.db', 'archive'):
        here, there = server.file('%s/%s' % (DATA, path)), instance.file('%s/%s' % (DATA, path))
        assert (there.user, there.group, there.mode) == (here.user, here.group, here.mode) == ('pos', 'pos', here.mode)


def test_the_servers_application_is_held_and_its_access_stays(server):
    assert server.file('/var/lib/posserver/hold/posd').exists
    assert not [p for p in server.process.filter(user='pos') if 'posd' in p.args.split()[1]]
    assert not server.socket('tcp://0.0.0.0:8080').is_listening
    assert server.socket('tcp://0.0.0.0:22').is_listening


def test_the_standby_instance_stays_held(instance):
    assert instance.file('/var/lib/poscloud/hold/posd').exists
    assert not instance.socket('tcp://0.0.0.0:8080').is_listening


def test_the_copys_key_is_authorized_for_a_read_only_copy_of_the_data_only(host, server):
    key = host.file(STATE + '/sync_ed25519')
    assert key.exists and key.mode == 0o600
    public = host.file(STATE + '/sync_ed25519.pub').content_string.split()[:2]
    lines = [line for line in server.file('/root/.ssh/authorized_keys').content_string.splitlines()
             if line.endswith(' poscloud-sync-' + STORE_ID)]
    assert lines == ['restrict,command="/usr/bin/rrsync -ro %s" %s poscloud-sync-%s' % (DATA, ' '.join(public), STORE_ID)]


def test_the_servers_host_key_is_pinned(host, server):
    pinned = host.file(STATE + '/known_hosts')
    assert pinned.mode == 0o600
    offered = server.file('/var/lib/posserver/ssh_host_ed25519_key.pub').content_string.split()[:2]
    assert pinned.content_string == '%s %s\n' % (SERVER_IP, ' '.join(offered))


def test_the_copys_key_runs_nothing_but_the_read_only_copy(host):
    ssh = ('ssh -i %s/sync_ed25519 -o UserKnownHostsFile=%s/known_hosts -o StrictHostKeyChecking=yes '
           '-o BatchMode=yes -o ConnectTimeout=5 root@%s ' % (STATE, STATE, SERVER_IP))
    shell = host.run(ssh + 'id')
    assert shell.rc != 0 and 'uid=' not in shell.stdout
    write = host.run(ssh + 'rsync --server -e.LsfxCIvu . /usr2/pos/molecule-written')
    assert write.rc != 0 and 'read-only' in write.stderr
