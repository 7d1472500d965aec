"""What the project installs is pinned: Python requirements with their hashes, collections to exact
versions, the execution environment's base image by digest."""
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HASH = re.compile(r'--hash=sha256:[0-9a-f]{64}\b')


def read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as handle:
        return handle.read()


def requirements(text):
    """(name, version, hashes) of each requirement, joining continuation lines."""
    joined = re.sub(r'\\\n\s*', ' ', text)
    found = []
    for line in joined.splitlines():
        line = re.sub(r'(^|\s)#.*$', '', line).strip()
        if not line or line.startswith('-'):
            continue
        match = re.match(r'^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(\S*)', line)
        assert match, line
        found.append((match.group(1).lower().replace('_', '-'), match.group(3), HASH.findall(line)))
    return found


def unpinned(entries):
    return [entry for entry in entries if not re.match(r'^==[0-9][^,;]*$', entry[1]) or not entry[2]]


def test_the_check_finds_an_unhashed_or_unpinned_requirement():
    sample = 'good==1.0 \\\n    --hash=sha256:%s\nloose>=1.0 --hash=sha256:%s\nbare==2.0\n' % ('a' * 64, 'b' * 64)
    assert [entry[0] for entry in unpinned(requirements(sample))] == ['loose', 'bare']


def test_controller_requirements_are_pinned_with_hashes():
    locked = requirements(read('requirements.txt'))
    assert len(locked) > 20
    assert unpinned(locked) == []
    names = set(entry[0] for entry in locked)
    # Every direct dependency of requirements.in is in the lock file, at the version asked for.
    direct = requirements(read('requirements.in'))
    assert direct
    pins = set(entry[:2] for entry in locked)
    for entry in direct:
        assert entry[0] in names, entry[0]
        assert entry[:2] in pins, entry[:2]
    # Tools no tier uses are not installed; testinfra is, and the Molecule verifiers and the
    # end-to-end tests use it.
    assert not names & {'pytest-xdist', 'execnet'}
    assert 'pytest-testinfra' in names
    users = [os.path.join(d, f) for top in ('molecule', os.path.join('tests', 'e2e'))
             for d, dummy, files in os.walk(os.path.join(ROOT, top)) for f in files if f.endswith('.py')]
    assert any('testinfra' in read(os.path.relpath(path, ROOT)) for path in users)


def test_setup_installs_with_require_hashes():
    installs = [line for line in read('scripts/setup.sh').splitlines() if 'pip install' in line]
    locked = [line for line in installs if '--require-hashes' in line and '-r requirements.txt' in line]
    assert len(locked) == 1, installs
    # The only other install is the console from this repository: no index and no dependencies, so
    # nothing reaches the venv that the hashed lock file did not put there.
    local = [line for line in installs if line not in locked]
    assert all(line.split()[-2:] == ['-e', 'console'] and '--no-index' in line and '--no-deps' in line
               for line in local), local
    # The console's own dependencies are in the lock file.
    names = set(entry[0] for entry in requirements(read('requirements.txt')))
    assert {'ansible-runner', 'textual'} <= names


def test_execution_environment_requirements_are_pinned():
    assert unpinned(requirements(read('requirements-ee.txt'))) == []
    # One requirement per line: ansible-builder reads the file line by line.
    assert not re.search(r'\\\n', read('requirements-ee.txt'))
    for path in ('collections/requirements.yml', 'awx/collections/requirements.yml'):
        for entry in yaml.safe_load(read(path))['collections']:
            if entry.get('type') in ('dir', 'file'):
                continue
            assert re.match(r'^==\d+\.\d+\.\d+$', entry.get('version', '')), (path, entry)
    ee = yaml.safe_load(read('execution-environment.yml'))
    assert re.search(r'@sha256:[0-9a-f]{64}$', ee['images']['base_image']['name'])
    deps = ee['dependencies']
    for key in ('ansible_core', 'ansible_runner'):
        assert re.match(r'^[a-z-]+==\d+\.\d+\.\d+$', deps[key]['package_pip']), deps[key]
