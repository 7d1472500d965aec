"""The collection as a consumer gets it: `ansible-galaxy collection build`, installed into an empty
path and used from outside the checkout (no ansible.cfg of ours, no lab state)."""
import fnmatch
import os
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
# What a consumer never needs, and what would leak lab state or a local build into the tarball.
NEVER = ['.venv/*', '.state/*', '.collections/*', '.git/*', '.ci/*', 'reports/*', 'build/*', 'tests/output/*',
         'bench/results/*', '*/__pycache__/*', '*.pyc', '*/.ansible/*', '.ansible/*', '*.tar.gz', '*.qcow2',
         '*/id_ed25519', '*.pem', '*.key',
         # the operator's console ships beside the collection, not in it
         'console/*', '*.egg-info/*']


def tool(name):
    return os.path.join(BIN, name)


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('collection')
    env = dict(os.environ)
    for name in ('ANSIBLE_CONFIG', 'ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_COLLECTIONS_PATHS'):
        env.pop(name, None)
    # An empty home: a copy of the collection in the user's ~/.ansible/collections (ansible-lint
    # puts one there) would make the install below a no-op ("already installed").
    env['HOME'] = str(tmp / 'home')
    subprocess.run([tool('ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp), ROOT],
                   cwd=str(tmp), env=env, check=True, capture_output=True, text=True)
    tarball = [str(tmp / f) for f in os.listdir(str(tmp)) if f.endswith('.tar.gz')][0]
    cols = tmp / 'cols'
    subprocess.run([tool('ansible-galaxy'), 'collection', 'install', tarball, '-p', str(cols), '--no-deps'],
                   cwd=str(tmp), env=env, check=True, capture_output=True, text=True)
    outside = tmp / 'elsewhere'
    outside.mkdir()
    env['ANSIBLE_COLLECTIONS_PATH'] = str(cols)
    return tarball, str(cols / 'ansible_collections' / 'poscloud' / 'fleet'), str(outside), env


def names(folder, suffix):
    return sorted(f[:-len(suffix)] for f in os.listdir(folder) if f.endswith(suffix) and not f.startswith('_'))


def test_the_tarball_holds_nothing_a_consumer_does_not_need(installed):
    tarball = installed[0]
    with tarfile.open(tarball) as tar:
        members = tar.getnames()
    bad = sorted(m for m in members for pattern in NEVER if fnmatch.fnmatch(m, pattern))
    assert not bad, bad
    # what a consumer does need
    for needed in ('plugins/modules/software_release.py', 'roles/kernel_upgrade/meta/argument_specs.yml',
                   'playbooks/deploy_pos.yml', 'meta/runtime.yml', 'README.md'):
        assert needed in members, needed


def test_every_module_has_its_documentation_from_the_installed_collection(installed):
    tarball, fleet, outside, env = installed
    modules = names(os.path.join(ROOT, 'plugins', 'modules'), '.py')
    assert modules == names(os.path.join(fleet, 'plugins', 'modules'), '.py')
    proc = subprocess.run([tool('ansible-doc')] + ['poscloud.fleet.' + m for m in modules], cwd=outside, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    for m in modules:
        assert 'poscloud.fleet.%s' % m in proc.stdout and 'EXAMPLES' in proc.stdout, m
    assert proc.stdout.count('> MODULE ') == len(modules)


def test_every_role_has_its_documentation_from_the_installed_collection(installed):
    tarball, fleet, outside, env = installed
    roles = sorted(os.listdir(os.path.join(ROOT, 'roles')))
    proc = subprocess.run([tool('ansible-doc'), '-t', 'role'] + ['poscloud.fleet.' + r for r in roles], cwd=outside,
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count('> ROLE: ') == len(roles), proc.stdout[:2000]


def test_every_playbook_passes_syntax_check_by_its_fqcn(installed):
    tarball, fleet, outside, env = installed
    playbooks = names(os.path.join(ROOT, 'playbooks'), '.yml')
    assert playbooks == names(os.path.join(fleet, 'playbooks'), '.yml')
    proc = subprocess.run([tool('ansible-playbook'), '--syntax-check', '-i', 'localhost,']
                          + ['poscloud.fleet.' + p for p in playbooks], cwd=outside, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for p in playbooks:
        assert 'playbooks/%s.yml' % p in proc.stdout, p
