"""Make the checkout importable as ansible_collections.poscloud.fleet for the unit tests, and offer the
module harness (tests/unit/harness.py) as fixtures."""
import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.collections')
if not os.path.isdir(os.path.join(COLLECTIONS, 'ansible_collections', 'poscloud', 'fleet')):
    raise RuntimeError('run `make setup` first: it links the checkout as .collections/ansible_collections/poscloud/fleet')
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


@pytest.fixture
def grub_editenv():
    """GRUB's own grub-editenv, the reference the environment block code is compared with. `make
    setup` installs it (Debian package grub-common); a test that needs it fails without it, rather
    than being skipped."""
    path = shutil.which('grub-editenv')
    if path is None:
        pytest.fail('grub-editenv is missing: run `make setup` (it installs the Debian package grub-common)')
    return path


from ansible_collections.poscloud.fleet.tests.unit import harness  # noqa: E402  (needs the path above)


@pytest.fixture
def module_exit(monkeypatch):
    """exit_json and fail_json of every module raise harness.ModuleExit for the test; returns the class."""
    return harness.patch_exits(monkeypatch)


@pytest.fixture
def run_module():
    """harness.run_module: run a module's main() with parameters, returns the ModuleExit it ended with."""
    return harness.run_module
