"""The shared hashing and canonical JSON: the same digests as the helpers they replaced."""
import hashlib
import io
import json

from ansible_collections.poscloud.fleet.plugins.module_utils import common


def test_canonical_json_sorts_keys_without_spaces_in_ascii():
    assert common.canonical_json({'b': [1, 2], 'a': 'é'}) == '{"a":"\\u00e9","b":[1,2]}'


def test_sha256_of_text_and_bytes():
    assert common.sha256_bytes('hi') == common.sha256_bytes(b'hi') == hashlib.sha256(b'hi').hexdigest()


def test_sha256_of_a_stream_and_a_file_read_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(common, 'CHUNK', 7)
    data = b'0123456789' * 5
    path = tmp_path / 'blob'
    path.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    assert common.sha256_file(str(path)) == want
    assert common.sha256_stream(io.BytesIO(data)) == want


def test_copy_hashed_copies_the_rest_of_a_stream_and_returns_its_digest_and_size(monkeypatch):
    monkeypatch.setattr(common, 'CHUNK', 7)
    src = io.BytesIO(b'skip' + b'0123456789' * 5)
    src.read(4)
    dst = io.BytesIO()
    assert common.copy_hashed(src, dst) == (hashlib.sha256(b'0123456789' * 5).hexdigest(), 50)
    assert dst.getvalue() == b'0123456789' * 5
    assert common.copy_hashed(io.BytesIO(b'')) == (hashlib.sha256(b'').hexdigest(), 0)


def test_sha256_json_is_the_digest_of_the_canonical_form():
    value = {'users': [{'name': 'support', 'groups': ['adm']}], 'format': 2}
    old = hashlib.sha256(json.dumps(value, sort_keys=True, separators=(',', ':')).encode('utf-8')).hexdigest()
    assert common.sha256_json(value) == old
