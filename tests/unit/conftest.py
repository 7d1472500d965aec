"""Make the checkout importable as ansible_collections.poscloud.fleet for the unit tests."""
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
