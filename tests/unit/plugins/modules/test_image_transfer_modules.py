"""image_archive and image_load with the engine replaced, at engine_for, by one held in memory whose
save and load move real archive files: what is written, what is checked before anything is loaded,
what a damaged archive leaves (nothing loaded, no archive), and what check mode and a second run do."""
import hashlib
import io
import json
import os
import tarfile

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import image_archive as utils
from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError
from ansible_collections.poscloud.fleet.plugins.modules import image_archive, image_load
from ansible_collections.poscloud.fleet.tests.unit.harness import run_module

CONFIG = b'{"config": {}}'
IMAGE_ID = 'sha256:' + hashlib.sha256(CONFIG).hexdigest()
OTHER_ID = 'sha256:' + 'a' * 64


def archive_bytes(config=CONFIG, oci=True, images=1):
    """A docker save archive of one image whose configuration is ``config``."""
    digest = hashlib.sha256(config).hexdigest()
    name = 'blobs/sha256/' + digest if oci else digest + '.json'
    manifest = [{'Config': name, 'RepoTags': ['poscloud/probe:latest'], 'Layers': []}] * images
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w') as tar:
        for path, data in ((name, config), ('manifest.json', json.dumps(manifest).encode())):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class Engine(object):
    """An engine with images by reference; save writes archive_bytes(), load reads the archive's id."""

    path = '/var/run/docker.sock'

    def __init__(self, images=None):
        self.images = dict(images or {})
        self.loads = []
        self.tags = []

    def inspect_image(self, ref):
        return {'Id': self.images[ref], 'Size': 1234} if ref in self.images else None

    def engine_info(self):
        return {'id': 'E', 'name': 'cloud', 'root_dir': '/var/lib/docker'}

    def save(self, ref, f):
        data = archive_bytes()
        f.write(data)
        return hashlib.sha256(data).hexdigest(), len(data)

    def load(self, path):
        self.loads.append(path)
        self.images['poscloud/probe:latest'] = utils.archive_image_id(path)
        return ['Loaded image: poscloud/probe:latest']

    def tag(self, image, ref):
        self.tags.append((image, ref))
        self.images[ref] = image

    def remove(self, ref):
        self.images.pop(ref, None)

    def close(self):
        pass


@pytest.fixture
def engine(monkeypatch):
    found = Engine()
    monkeypatch.setattr(image_archive, 'engine_for', lambda module: found)
    monkeypatch.setattr(image_load, 'engine_for', lambda module: found)
    return found


@pytest.mark.parametrize('oci', [True, False])
def test_the_image_id_is_read_from_the_archive_manifest(tmp_path, oci):
    path = tmp_path / 'a.tar'
    path.write_bytes(archive_bytes(oci=oci))
    assert utils.archive_image_id(str(path)) == IMAGE_ID


def test_a_file_that_is_not_one_image_archive_is_refused(tmp_path):
    path = tmp_path / 'a.tar'
    path.write_bytes(b'not a tar at all')
    with pytest.raises(DockerError, match='is not an image archive'):
        utils.archive_image_id(str(path))
    path.write_bytes(archive_bytes(images=2))
    with pytest.raises(DockerError, match='holds 2 images; an archive here holds exactly one'):
        utils.archive_image_id(str(path))


def test_export_writes_the_archive_whole_with_its_sha256(engine, tmp_path):
    engine.images['poscloud/probe:latest'] = IMAGE_ID
    path = str(tmp_path / 'out' / 'probe.tar')
    result = run_module(image_archive.main, {'name': 'poscloud/probe:latest', 'path': path}).result
    data = archive_bytes()
    assert result['changed'] and result['image_id'] == IMAGE_ID
    assert result['checksum'] == hashlib.sha256(data).hexdigest() and result['size'] == len(data)
    assert os.listdir(str(tmp_path / 'out')) == ['probe.tar']
    assert oct(os.stat(path).st_mode & 0o777) == '0o600'


def test_export_in_check_mode_reads_the_id_and_writes_nothing(engine, tmp_path):
    engine.images['poscloud/probe:latest'] = IMAGE_ID
    path = str(tmp_path / 'probe.tar')
    result = run_module(image_archive.main, {'name': 'poscloud/probe:latest', 'path': path}, check_mode=True).result
    assert result['changed'] and result['image_id'] == IMAGE_ID and result['checksum'] is None
    assert not os.path.exists(path)


def test_an_archive_holding_another_image_is_removed(engine, tmp_path):
    engine.images['poscloud/probe:latest'] = OTHER_ID  # the archive will hold IMAGE_ID
    path = str(tmp_path / 'probe.tar')
    result = run_module(image_archive.main, {'name': 'poscloud/probe:latest', 'path': path}).result
    assert result['failed'] and 'its archive holds image %s, not %s' % (IMAGE_ID, OTHER_ID) in result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_a_missing_image_names_the_fix(engine, tmp_path):
    result = run_module(image_archive.main, {'name': 'poscloud/none:latest', 'path': str(tmp_path / 'x.tar')}).result
    assert result['failed'] and 'there is no image poscloud/none:latest' in result['msg']
    assert 'playbooks/build_media.yml' in result['msg']


def test_absent_removes_the_archive_and_what_a_killed_export_left(engine, tmp_path):
    path = tmp_path / 'probe.tar'
    path.write_bytes(b'x')
    part = tmp_path / (utils.PART_PREFIX + 'probe.tar.abc123')
    part.write_bytes(b'y')
    result = run_module(image_archive.main, {'path': str(path), 'state': 'absent'}).result
    assert result['changed'] and sorted(result['removed']) == sorted([str(path), str(part)])
    assert os.listdir(str(tmp_path)) == []
    assert not run_module(image_archive.main, {'path': str(path), 'state': 'absent'}).result['changed']


def load_params(path, checksum=None, **extra):
    params = {'name': 'poscloud/probe:latest', 'image_id': IMAGE_ID, 'archive': str(path),
              'checksum': checksum or hashlib.sha256(archive_bytes()).hexdigest()}
    params.update(extra)
    return params


def test_load_checks_then_loads_and_removes_the_archive(engine, tmp_path):
    path = tmp_path / 'probe.tar'
    path.write_bytes(archive_bytes())
    result = run_module(image_load.main, load_params(path), diff=True).result
    assert result['changed'] and result['loaded'] and result['image_id'] == IMAGE_ID
    assert result['diff'] == {'before': {'name': 'poscloud/probe:latest', 'image_id': None},
                              'after': {'name': 'poscloud/probe:latest', 'image_id': IMAGE_ID}}
    assert result['archive_removed'] == [str(path)] and not path.exists()
    # The image is there with that id: nothing to do, no archive needed.
    again = run_module(image_load.main, {'name': 'poscloud/probe:latest', 'image_id': IMAGE_ID}).result
    assert not again['changed'] and again['present'] and engine.loads == [str(path)]


def test_a_damaged_archive_is_refused_before_the_engine_sees_it(engine, tmp_path):
    path = tmp_path / 'probe.tar'
    data = bytearray(archive_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    part = tmp_path / (utils.PART_PREFIX + 'probe.tar.x')
    part.write_bytes(b'half a copy')
    result = run_module(image_load.main, load_params(path)).result
    assert result['failed'] and not result['loaded'] and engine.loads == []
    assert 'the archive %s has SHA-256 %s, not %s' % (path, hashlib.sha256(bytes(data)).hexdigest(),
                                                      hashlib.sha256(archive_bytes()).hexdigest()) in result['msg']
    assert 'Nothing was loaded and the archive was removed. Run the play again' in result['msg']
    assert os.listdir(str(tmp_path)) == [] and 'poscloud/probe:latest' not in engine.images


def test_an_archive_of_another_image_is_refused(engine, tmp_path):
    path = tmp_path / 'probe.tar'
    other = archive_bytes(config=b'{"other": 1}')
    path.write_bytes(other)
    result = run_module(image_load.main, load_params(path, checksum=hashlib.sha256(other).hexdigest())).result
    assert result['failed'] and 'holds image sha256:' in result['msg'] and engine.loads == []


def test_a_load_that_gives_another_id_puts_the_name_back(engine, tmp_path, monkeypatch):
    engine.images['poscloud/probe:latest'] = OTHER_ID
    path = tmp_path / 'probe.tar'
    path.write_bytes(archive_bytes())
    monkeypatch.setattr(engine, 'load', lambda p: engine.images.update({'poscloud/probe:latest': 'sha256:' + 'b' * 64}))
    result = run_module(image_load.main, load_params(path)).result
    assert result['failed'] and 'was put back' in result['msg']
    assert engine.images['poscloud/probe:latest'] == OTHER_ID and not path.exists()


def test_check_mode_reports_a_load_and_touches_nothing(engine, tmp_path):
    result = run_module(image_load.main, {'name': 'poscloud/probe:latest', 'image_id': IMAGE_ID}, check_mode=True).result
    assert result['changed'] and not result['present'] and not result['loaded'] and engine.loads == []


@pytest.mark.parametrize('params, words', [
    ({'image_id': 'latest'}, "image_id: 'latest' is not an image id"),
    ({'checksum': 'abc'}, "checksum: 'abc' is not a SHA-256"),
])
def test_bad_ids_and_checksums_are_refused(engine, tmp_path, params, words):
    result = run_module(image_load.main, load_params(tmp_path / 'x.tar', **params)).result
    assert result['failed'] and words in result['msg']


def test_without_an_archive_a_missing_image_names_the_fix(engine):
    result = run_module(image_load.main, {'name': 'poscloud/probe:latest', 'image_id': IMAGE_ID}).result
    assert result['failed'] and 'no archive was given: ship the image' in result['msg']
