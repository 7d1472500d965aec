import hashlib
import os
import tarfile
import io
import time

import yaml

from ansible_collections.poscloud.fleet.plugins.modules.app_package import pack

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def make_tree(base, mtime):
    (base / 'sub').mkdir(parents=True)
    (base / 'a.txt').write_text('alpha\n')
    (base / 'sub' / 'b.sh').write_text('#!/bin/sh\necho b\n')
    os.chmod(base / 'sub' / 'b.sh', 0o755)
    (base / '.hidden').write_text('not packed\n')
    (base / '__pycache__').mkdir()
    (base / '__pycache__' / 'x.pyc').write_bytes(b'\0')
    for path in base.rglob('*'):
        os.utime(path, (mtime, mtime))


def test_packing_is_reproducible_whatever_the_file_times(tmp_path):
    make_tree(tmp_path / 'one', 1000000000)
    make_tree(tmp_path / 'two', time.time())
    a, count_a = pack(str(tmp_path / 'one'), 'app-1')
    b, count_b = pack(str(tmp_path / 'two'), 'app-1')
    assert a == b and count_a == count_b == 2


def test_archive_content_and_modes(tmp_path):
    make_tree(tmp_path / 'one', 1000000000)
    data, count = pack(str(tmp_path / 'one'), 'app-1')
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = dict((m.name, m) for m in tar.getmembers())
    assert sorted(members) == ['app-1', 'app-1/a.txt', 'app-1/sub', 'app-1/sub/b.sh']
    assert members['app-1/sub/b.sh'].mode == 0o755 and members['app-1/a.txt'].mode == 0o644
    assert members['app-1/a.txt'].uid == 0 and members['app-1/a.txt'].uname == 'root'


def test_content_or_prefix_changes_the_checksum(tmp_path):
    make_tree(tmp_path / 'one', 1000000000)
    a, dummy = pack(str(tmp_path / 'one'), 'app-1')
    assert pack(str(tmp_path / 'one'), 'app-2')[0] != a
    (tmp_path / 'one' / 'a.txt').write_text('alpha!\n')
    assert pack(str(tmp_path / 'one'), 'app-1')[0] != a


def test_the_demo_profile_pins_the_checksum_of_the_demo_application():
    with open(os.path.join(ROOT, 'profiles', 'demo.yml')) as f:
        profile = yaml.safe_load(f)
    prefix = profile['media']['path'][:-len('.tar.gz')]
    data, dummy = pack(os.path.join(ROOT, profile['media']['build_from']), prefix)
    assert hashlib.sha256(data).hexdigest() == profile['media']['sha256'], (
        'apps/demo_pos changed: put the new checksum (and version) in profiles/demo.yml')
