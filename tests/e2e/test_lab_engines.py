"""The production-shaped lab's cloud hosts (scripts/lab-engine.sh): a Docker engine of its own, reached
only over SSH with a checked host key, holding a copy of the lab base image that was moved without a
registry, and gone without a trace when the lab takes it down."""
import json
import os
import subprocess

from conftest import ROOT

SCRIPT = os.path.join(ROOT, 'scripts', 'lab-engine.sh')
STATE = os.path.join(ROOT, '.state', 'lab', 'engines')
KEY = os.path.join(ROOT, '.state', 'lab', 'id_ed25519')
NAME, INDEX = 'cloud_t', '97'
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


def test_a_cloud_host_is_its_own_engine_behind_ssh_and_leaves_nothing():
    try:
        sh(SCRIPT, 'up', NAME, INDEX)
        sh(SCRIPT, 'up', NAME, INDEX)  # a second up changes nothing and still answers
        address = open(os.path.join(STATE, NAME, 'address')).read().strip()
        known_hosts = os.path.join(STATE, NAME, 'known_hosts')
        assert address == '10.250.%s.2' % INDEX

        # Over SSH, with the host key checked, the cloud host sees its own engine.
        info = json.loads(ssh(address, known_hosts, ENGINE_INFO).stdout)
        assert info['DockerRootDir'] == os.path.join(STATE, NAME, 'data')
        # The lab base image arrived with the id it has on the first engine.
        want = sh('docker', 'image', 'inspect', '--format', '{{.Id}}', 'poscloud/lab-base:latest').stdout.strip()
        have = sh('docker', '-H', 'unix:///run/poscloud-lab/%s/docker.sock' % NAME, 'image', 'inspect',
                  '--format', '{{.Id}}', 'poscloud/lab-base:latest').stdout.strip()
        assert have == want
        # Its containers are not the first engine's: the SSH front exists only there.
        assert 'lab-cloud-host' not in sh('docker', 'ps', '-a', '--format', '{{.Labels}}').stdout

        # A host key other than the recorded one is refused.
        wrong = os.path.join(STATE, NAME, 'wrong_known_hosts')
        other = sh('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', os.path.join(STATE, NAME, 'other')).returncode
        assert other == 0
        with open(os.path.join(STATE, NAME, 'other.pub')) as f, open(wrong, 'w') as out:
            out.write('%s %s\n' % (address, ' '.join(f.read().split()[:2])))
        refused = ssh(address, wrong, 'true', check=False)
        assert refused.returncode == 255 and 'Host key verification failed' in refused.stderr, refused.stderr
    finally:
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
