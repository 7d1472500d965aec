"""The lab's data-set generator (roles/store_lab/files/labdata.py): generate grows a set to a size,
trim takes it back, newest files first, and keeps the rest as they were."""
import hashlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, 'roles', 'store_lab', 'files'))

import labdata  # noqa: E402  pylint: disable=wrong-import-position


def archive(root):
    out = {}
    for path in labdata.files(str(root)):
        with open(path, 'rb') as f:
            out[os.path.relpath(path, str(root))] = hashlib.sha256(f.read()).hexdigest()
    return out


def size(root):
    return sum(os.path.getsize(p) for p in labdata.files(str(root)))


def test_trim_undoes_a_growth_and_keeps_the_older_files(tmp_path):
    assert labdata.main(['generate', '--dir', str(tmp_path), '--size-mb', '2']) == 0
    before = archive(tmp_path)
    assert size(tmp_path) == 2 * 1024 * 1024
    assert labdata.main(['generate', '--dir', str(tmp_path), '--size-mb', '5']) == 0
    assert size(tmp_path) == 5 * 1024 * 1024
    assert labdata.main(['trim', '--dir', str(tmp_path), '--size-mb', '2']) == 0
    # the files the growth added are gone; the original set is there, unchanged
    assert archive(tmp_path) == before


def test_trim_below_the_size_changes_nothing(tmp_path):
    labdata.main(['generate', '--dir', str(tmp_path), '--size-mb', '1'])
    before = archive(tmp_path)
    assert labdata.main(['trim', '--dir', str(tmp_path), '--size-mb', '3']) == 0
    assert archive(tmp_path) == before
