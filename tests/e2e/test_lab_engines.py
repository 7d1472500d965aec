"""The production-shaped lab's cloud hosts (scripts/lab-engine.sh): a Docker engine of its own, reached
only over SSH with a checked host key, holding a copy of the lab base image that was moved without a
registry, and gone without a trace when the lab takes it down; and the build host's images shipped
to it by playbooks/ship_images.yml (roles/image_transfer) over SSH, with no registry; and a store
placed on it staged, started, read and purged by the playbooks over SSH alone."""
import json
import os
import re
import subprocess

import pytest

from conftest import BIN, LAB, ROOT, _json, ansible_env, failures, keep_output, task_results

SCRIPT = os.path.join(ROOT, 'scripts', 'lab-engine.sh')
STATE = os.path.join(ROOT, '.state', 'lab', 'engines')
KEY = os.path.join(ROOT, '.state', 'lab', 'id_ed25519')
NAME, INDEX = 'cloud_t', '97'
ENGINE = 'unix:///run/poscloud-lab/%s/docker.sock' % NAME
# The archive folder on the cloud host (inside its SSH front, on its own engine's disk).
REMOTE_DIR = '/var/tmp/poscloud-images-test'
# Ask the engine through its API on the socket the SSH front holds (the cloud host's view).
ENGINE_INFO = ("python3 -c \"import http.client, json, socket\n"
               "c = http.client.HTTPConnection('engine')\n"
               "s = socket.socket(socket.AF_UNIX); s.connect('/var/run/docker.sock'); c.sock = s\n"
               "c.request('GET', '/info'); print(json.dumps(json.loads(c.getresponse().read())))\"")


def sh(*argv, check=True):
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=300, check=False)
    if check:
        assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
    return proc


def ssh(address, known_hosts, command, check=True):
    return sh('ssh', '-i', KEY, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
              '-o', 'UserKnownHostsFile=' + known_hosts, '-o', 'ConnectTimeout=5', 'root@' + address, command,
              check=check)


def leftovers():
    """Everything of the test's cloud host that could outlive it."""
    found = []
    if sh('ip', 'link', 'show', 'pclab-' + NAME, check=False).returncode == 0:
        found.append('bridge pclab-' + NAME)
    with open('/proc/mounts') as f:
        found += [line.split()[1] for line in f if '/poscloud-lab/' + NAME in line or 'engines/' + NAME in line]
    procs = sh('pgrep', '-af', 'poscloud-lab/%s/' % NAME, check=False).stdout.strip()
    if procs:
        found.append(procs)
    for path in ('/run/poscloud-lab/' + NAME, os.path.join(STATE, NAME)):
        if os.path.exists(path):
            found.append(path)
    return found


@pytest.fixture(scope='module')
def cloud_host():
    """The test's cloud host, up for the tests of this module that use it (test_down_leaves_nothing
    takes it down and looks for leftovers; this takes it down again if a test before it failed)."""
    try:
        sh(SCRIPT, 'up', NAME, INDEX)
        yield os.path.join(STATE, NAME)
    finally:
        sh(SCRIPT, 'down', NAME, check=False)


def test_a_cloud_host_is_its_own_engine_behind_ssh(cloud_host):
    sh(SCRIPT, 'up', NAME, INDEX)  # a second up changes nothing and still answers
    address = open(os.path.join(cloud_host, 'address')).read().strip()
    known_hosts = os.path.join(cloud_host, 'known_hosts')
    assert address == '10.250.%s.2' % INDEX

    # Over SSH, with the host key checked, the cloud host sees its own engine.
    info = json.loads(ssh(address, known_hosts, ENGINE_INFO).stdout)
    assert info['DockerRootDir'] == os.path.join(cloud_host, 'data')
    # The lab base image arrived with the id it has on the first engine.
    want = sh('docker', 'image', 'inspect', '--format', '{{.Id}}', 'poscloud/lab-base:latest').stdout.strip()
    have = sh('docker', '-H', ENGINE, 'image', 'inspect', '--format', '{{.Id}}', 'poscloud/lab-base:latest').stdout.strip()
    assert have == want
    # Its containers are not the first engine's: the SSH front exists only there.
    assert 'lab-cloud-host' not in sh('docker', 'ps', '-a', '--format', '{{.Labels}}').stdout

    # A host key other than the recorded one is refused.
    wrong = os.path.join(cloud_host, 'wrong_known_hosts')
    other = sh('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', os.path.join(cloud_host, 'other')).returncode
    assert other == 0
    with open(os.path.join(cloud_host, 'other.pub')) as f, open(wrong, 'w') as out:
        out.write('%s %s\n' % (address, ' '.join(f.read().split()[:2])))
    refused = ssh(address, wrong, 'true', check=False)
    assert refused.returncode == 255 and 'Host key verification failed' in refused.stderr, refused.stderr


def ansible(cloud_host, program, *args):
    """Run ansible or ansible-playbook on the lab inventory and the cloud host's fragment, with the
    controller's own engine out of the playbook's reach (DOCKER_HOST names no socket): the build
    host's modules name its socket themselves, and the cloud host is reached over SSH only."""
    cmd = [os.path.join(BIN, program), '-i', LAB, '-i', os.path.join(cloud_host, 'inventory.yml')] + list(args)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                          env=ansible_env(DOCKER_HOST='unix:///nonexistent/docker.sock'))
    if program == 'ansible-playbook':
        keep_output('playbooks/ship_images.yml', proc.stdout)
    assert '{' in proc.stdout, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.returncode, _json(proc.stdout)


def ship(cloud_host, images, build_dir, *args):
    extra = {'image_transfer_images': images, 'image_transfer_build_dir': build_dir,
             'image_transfer_remote_dir': REMOTE_DIR}
    return ansible(cloud_host, 'ansible-playbook', os.path.join(ROOT, 'playbooks', 'ship_images.yml'),
                   '-e', json.dumps(extra), *args)


def module(cloud_host, host, name, args):
    rc, out = ansible(cloud_host, 'ansible', host, '-m', name, '-a', json.dumps(args))
    return out['plays'][0]['tasks'][0]['hosts'][host]


def image_id(engine, ref):
    found = sh('docker', '-H', engine, 'image', 'inspect', '--format', '{{.Id}}', ref, check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def test_images_reach_the_cloud_host_over_ssh_without_a_registry(cloud_host, tmp_path):
    # A small image made on the build host (the controller's engine) for this test, new each run.
    probe = 'poscloud/transfer-probe:latest'
    root = tmp_path / 'root'
    root.mkdir()
    (root / 'blob').write_bytes(os.urandom(2 * 1024 * 1024))
    archive = subprocess.run(['tar', '-C', str(root), '-cf', '-', 'blob'], capture_output=True, check=True).stdout
    subprocess.run(['docker', 'import', '-', probe], input=archive, capture_output=True, check=True)
    build_dir = str(tmp_path / 'build')
    address = open(os.path.join(cloud_host, 'address')).read().strip()
    known_hosts = os.path.join(cloud_host, 'known_hosts')
    fronts_logins = len(re.findall('Accepted publickey', sh('docker', '-H', ENGINE, 'logs', 'sshd').stderr))
    try:
        want = image_id('unix:///var/run/docker.sock', probe)
        assert image_id(ENGINE, probe) is None

        # Check mode says what would be shipped and ships nothing.
        rc, out = ship(cloud_host, [probe, 'poscloud/lab-base:latest'], build_dir, '--check')
        assert rc == 0, failures(out)
        lines = task_results(out, 'Report what each cloud host got')[-1]['msg']
        assert lines == ['%s: %s would be shipped (2.0 MiB)' % (NAME, probe),
                         '%s: poscloud/lab-base:latest already there with the same image id, nothing copied' % NAME]
        assert image_id(ENGINE, probe) is None

        # Shipped: the cloud host has the image with the build host's id, checked by its own engine,
        # which the module reached through the socket on the cloud host (its data root is the
        # cloud host's), over SSH.
        rc, out = ship(cloud_host, [probe, 'poscloud/lab-base:latest'], build_dir)
        assert rc == 0, failures(out)
        assert image_id(ENGINE, probe) == want
        loaded = task_results(out, 'Check each archive')[0]['results']
        assert [(r['image_transfer_image'], r['loaded'], r['image_id']) for r in loaded] == [(probe, True, want)]
        assert loaded[0]['engine']['root_dir'] == os.path.join(cloud_host, 'data')
        assert loaded[0]['archive_removed'] == [REMOTE_DIR + '/poscloud_transfer-probe_latest.tar']
        logins = len(re.findall('Accepted publickey', sh('docker', '-H', ENGINE, 'logs', 'sshd').stderr))
        assert logins > fronts_logins
        # No archive is left on the build host or on the cloud host.
        assert os.listdir(build_dir) == []
        assert ssh(address, known_hosts, 'ls -A %s' % REMOTE_DIR).stdout.strip() == ''

        # A second run copies nothing and changes nothing.
        rc, out = ship(cloud_host, [probe, 'poscloud/lab-base:latest'], build_dir)
        assert rc == 0, failures(out)
        assert out['stats'][NAME]['changed'] == 0, out['stats']
        assert task_results(out, 'Copy each archive')[0].get('skipped')

        # A damaged copy: the archive is exported as the role does, one byte of it changed on the way,
        # and the role's load step refuses it before the engine sees it, names the file and the fix,
        # removes it and loads nothing.
        sh('docker', '-H', ENGINE, 'image', 'rm', probe)
        path = os.path.join(build_dir, 'probe.tar')
        exported = module(cloud_host, 'lab_build', 'poscloud.fleet.image_archive', {'name': probe, 'path': path})
        assert exported['image_id'] == want and len(exported['checksum']) == 64, exported
        with open(path, 'r+b') as f:
            f.seek(exported['size'] // 2)
            byte = f.read(1)
            f.seek(exported['size'] // 2)
            f.write(bytes([byte[0] ^ 0xFF]))
        remote = REMOTE_DIR + '/probe.tar'
        copied = module(cloud_host, NAME, 'ansible.builtin.copy', {'src': path, 'dest': remote, 'mode': '0600'})
        assert copied.get('changed'), copied
        refused = module(cloud_host, NAME, 'poscloud.fleet.image_load',
                         {'name': probe, 'image_id': want, 'archive': remote, 'checksum': exported['checksum']})
        assert refused.get('failed'), refused
        assert 'the archive %s has SHA-256' % remote in refused['msg'], refused['msg']
        assert 'not %s as it had when it was exported' % exported['checksum'] in refused['msg'], refused['msg']
        assert 'Nothing was loaded and the archive was removed. Run the play again' in refused['msg'], refused['msg']
        assert refused['archive_removed'] == [remote] and refused['loaded'] is False
        assert image_id(ENGINE, probe) is None
        assert ssh(address, known_hosts, 'ls -A %s' % REMOTE_DIR).stdout.strip() == ''
        assert not subprocess.run(['docker', '-H', ENGINE, 'image', 'ls', '-q', '--filter', 'dangling=true'],
                                  capture_output=True, text=True, check=True).stdout.strip()
    finally:
        sh('docker', 'image', 'rm', probe, check=False)


STORE_ID = '90000197'
STORE = 'store_' + STORE_ID


def store_playbook(cloud_host, inventory, playbook, *args):
    """Run a playbook for the test's store, which lives on the test's cloud host and is reached over
    SSH only, with the controller's own engine out of the playbook's reach."""
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', LAB, '-i', os.path.join(cloud_host, 'inventory.yml'),
           '-i', inventory, os.path.join(ROOT, 'playbooks', playbook), '-l', STORE] + list(args)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
                          env=ansible_env(DOCKER_HOST='unix:///nonexistent/docker.sock'))
    keep_output('playbooks/' + playbook, proc.stdout)
    assert '{' in proc.stdout, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.returncode, _json(proc.stdout)


def store_objects(engine):
    """The test store's containers, volumes and images on an engine."""
    def names(*argv):
        return sorted(n for n in sh('docker', '-H', engine, *argv).stdout.split() if STORE_ID in n)
    return {'containers': names('ps', '-a', '--format', '{{.Names}}'),
            'volumes': names('volume', 'ls', '--format', '{{.Name}}'),
            'images': names('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}')}


def test_a_store_on_the_cloud_host_is_staged_started_read_and_purged_there(cloud_host, tmp_path):
    # The store's host is its cloud host: the same address, user and checked host key (as
    # inventories/example has it). A cheap store: its POS instance only, no tunnel.
    inventory = tmp_path / 'store.yml'
    inventory.write_text(json.dumps({'all': {'children': {'stores': {'hosts': {STORE: {
        'store_id': STORE_ID, 'store_name': 'Lab store on a cloud host', 'store_cloud_host': NAME,
        'store_cloud_net': '10.253.197.0/24', 'store_pos_ip': '10.253.197.222',
        'ansible_host': '{{ hostvars[store_cloud_host].ansible_host }}', 'ansible_connection': 'ssh',
        'ansible_user': '{{ hostvars[store_cloud_host].ansible_user }}',
        'ansible_ssh_private_key_file': '{{ hostvars[store_cloud_host].ansible_ssh_private_key_file }}',
        'ansible_ssh_common_args': '{{ hostvars[store_cloud_host].ansible_ssh_common_args }}',
        'ansible_python_interpreter': '/usr/bin/python3',
        'pos_stage_media_image': 'poscloud/media:latest', 'pos_stage_support_users': [],
        'pos_stage_primary_vpn': False, 'pos_instance_capabilities': [], 'pos_instance_devices': [],
        'pos_instance_extra_networks': [], 'pos_instance_extra_mounts': [],
        'pos_instance_printer_spool_container': '', 'ipsec_vpn_tunnels': [],
    }}}}}}))
    inventory = str(inventory)
    local = 'unix:///var/run/docker.sock'
    try:
        # The OS media reaches the cloud host from the build host, then the store is staged there.
        rc, out = ship(cloud_host, ['poscloud/media:latest'], str(tmp_path / 'build'))
        assert rc == 0, failures(out)
        rc, out = store_playbook(cloud_host, inventory, 'stage_pos.yml', '-e', 'pos_stage_build_media=false')
        assert rc == 0, failures(out)
        rc, out = store_playbook(cloud_host, inventory, 'stage_pos.yml', '-e', 'pos_stage_build_media=false')
        assert rc == 0 and out['stats'][STORE]['changed'] == 0, (failures(out), out['stats'])
        rc, out = store_playbook(cloud_host, inventory, 'pos_start.yml')
        assert rc == 0, failures(out)
        rc, out = store_playbook(cloud_host, inventory, 'pos_status.yml')
        assert rc == 0, failures(out)
        header = task_results(out, 'Put the header together')[0]['ansible_facts']['pos_status_header']
        assert header['status'].startswith('Up ') and header['health'].startswith('ok'), header
        # Everything of the store is on its cloud host's engine, and nothing on the controller's.
        there = store_objects(ENGINE)
        assert there['containers'] == ['pos_' + STORE_ID], there
        assert there['volumes'] and 'poscloud/store-%s:latest' % STORE_ID in there['images'], there
        assert store_objects(local) == {'containers': [], 'volumes': [], 'images': []}

        # Purged with its data, over SSH: nothing of the store is left on the cloud host.
        rc, out = store_playbook(cloud_host, inventory, 'purge.yml', '-e', 'pos_instance_purge_confirm=' + STORE_ID,
                                 '-e', 'pos_instance_delete_data_confirm=' + STORE_ID)
        assert rc == 0, failures(out)
        assert store_objects(ENGINE) == {'containers': [], 'volumes': [], 'images': []}
    finally:
        # the cloud host's engine goes with it (test_down_leaves_nothing); the controller's stays clean
        assert store_objects(local) == {'containers': [], 'volumes': [], 'images': []}


def test_down_leaves_nothing(cloud_host):
    down = sh(SCRIPT, 'down', NAME, check=False)
    assert down.returncode == 0, down.stderr
    assert leftovers() == []
    # The first engine and its default bridge are untouched, and no firewall rule names its bridge or
    # addresses.
    assert sh('ip', 'link', 'show', 'docker0', check=False).returncode == 0
    bridge = json.loads(sh('docker', 'network', 'inspect', 'bridge').stdout)[0]
    assert bridge['Options'].get('com.docker.network.bridge.name') == 'docker0'
    assert sh('docker', 'run', '--rm', '--network', 'bridge', 'poscloud/lab-base:latest', 'true').returncode == 0
    # (The first engine writes rules of its own while other tests run, so only this host's are looked for.)
    assert [rule for rule in sh('iptables-save').stdout.splitlines()
            if 'pclab-' + NAME in rule or '10.250.%s.' % INDEX in rule] == []


def test_bad_names_and_indexes_are_refused_before_anything_is_made():
    for args, words in ((['up', 'Cloud-A', '3'], "NAME 'Cloud-A' must be"),
                        (['up', 'cloud_x', '0'], "INDEX '0' must be a number from 1 to 99"),
                        (['up', 'cloud_x', 'ten'], "INDEX 'ten' must be")):
        proc = sh(SCRIPT, *args, check=False)
        assert proc.returncode == 1 and words in proc.stderr, proc.stderr
    assert not os.path.exists(os.path.join(STATE, 'cloud_x'))
    assert sh('ip', 'link', 'show', 'pclab-cloud_x', check=False).returncode != 0


def test_an_up_that_fails_half_way_takes_down_what_it_made():
    # An image with no files at all (made here from an empty archive, no registry): the engine and
    # its bridge come up, the SSH front cannot start, and the run removes what it made.
    empty = 'poscloud/lab-engine-test-empty:latest'
    archive = subprocess.run(['tar', 'cf', '-', '--files-from', '/dev/null'], capture_output=True, check=True).stdout
    subprocess.run(['docker', 'import', '-', empty], input=archive, capture_output=True, check=True)
    try:
        proc = subprocess.run([SCRIPT, 'up', NAME, INDEX], capture_output=True, text=True, timeout=300, check=False,
                              env=dict(os.environ, POSCLOUD_LAB_ENGINE_IMAGE=empty))
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        assert 'the SSH front of %s did not start' % NAME in proc.stderr, proc.stderr
        assert 'removing what this run made' in proc.stderr, proc.stderr
        assert leftovers() == []
    finally:
        sh(SCRIPT, 'down', NAME, check=False)
        sh('docker', 'rmi', '-f', empty, check=False)
    # A missing image is found before anything is made.
    proc = subprocess.run([SCRIPT, 'up', NAME, INDEX], capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, POSCLOUD_LAB_ENGINE_IMAGE='poscloud/no-such-image:latest'))
    assert proc.returncode == 1 and 'no poscloud/no-such-image:latest on the first engine' in proc.stderr, proc.stderr
    assert 'removing' not in proc.stderr and leftovers() == []
