"""The image archive client against a stand-in engine on a unix socket: save streams and hashes the
archive, load sends the file and turns the engine's error stream into DockerError."""
import hashlib
import http.server
import json
import os
import socketserver
import threading

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError
from ansible_collections.poscloud.fleet.plugins.module_utils.image_archive import ArchiveAPI, leftover_parts, part_name

ARCHIVE = os.urandom(3 * 1024 * 1024 + 17)


class Engine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def handler(received, load_answer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def address_string(self):
            return 'engine'

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 (the name http.server calls)
            if self.path == '/images/poscloud%2Fprobe%3Alatest/get':
                self.send_response(200)
                self.send_header('Content-Length', str(len(ARCHIVE)))
                self.end_headers()
                self.wfile.write(ARCHIVE)
            else:
                body = json.dumps({'message': 'No such image'}).encode()
                self.send_response(404)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def do_POST(self):  # noqa: N802
            received.append(self.rfile.read(int(self.headers['Content-Length'])))
            body = load_answer.encode()
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    return Handler


@pytest.fixture
def engine(tmp_path):
    def start(load_answer='{"stream":"Loaded image: poscloud/probe:latest\\n"}\n'):
        received = []
        server = Engine(str(tmp_path / 'docker.sock'), handler(received, load_answer))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return ArchiveAPI(str(tmp_path / 'docker.sock'), timeout=10), received
    started = []
    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def test_save_streams_the_archive_and_its_sha256(engine, tmp_path):
    api, dummy = engine()
    with open(str(tmp_path / 'a.tar'), 'wb') as f:
        checksum, size = api.save('poscloud/probe:latest', f)
    assert (checksum, size) == (hashlib.sha256(ARCHIVE).hexdigest(), len(ARCHIVE))
    assert (tmp_path / 'a.tar').read_bytes() == ARCHIVE


def test_save_of_a_missing_image_says_what_the_engine_said(engine, tmp_path):
    api, dummy = engine()
    with open(str(tmp_path / 'a.tar'), 'wb') as f:
        with pytest.raises(DockerError, match='failed \\(404\\).*No such image'):
            api.save('poscloud/none:latest', f)


def test_load_sends_the_whole_file(engine, tmp_path):
    api, received = engine()
    (tmp_path / 'a.tar').write_bytes(ARCHIVE)
    assert api.load(str(tmp_path / 'a.tar')) == ['Loaded image: poscloud/probe:latest']
    assert received == [ARCHIVE]


def test_an_error_in_the_engines_answer_fails_the_load(engine, tmp_path):
    api, dummy = engine('{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}\n')
    (tmp_path / 'a.tar').write_bytes(ARCHIVE)
    with pytest.raises(DockerError, match='refused the archive .*a.tar \\(200\\): unexpected EOF'):
        api.load(str(tmp_path / 'a.tar'))


def test_an_engine_that_does_not_answer_is_named(tmp_path):
    api = ArchiveAPI(str(tmp_path / 'none.sock'), timeout=5)
    with open(str(tmp_path / 'a.tar'), 'wb') as f:
        with pytest.raises(DockerError, match='none.sock failed during GET'):
            api.save('poscloud/probe:latest', f)


def test_the_partial_files_of_an_archive_are_found_and_only_those(tmp_path):
    path = str(tmp_path / 'media[1].tar')
    for name in (os.path.basename(part_name(path)) + 'x1', os.path.basename(part_name(path)) + 'x2',
                 '.part-other.tar.x', 'media[1].tar'):
        (tmp_path / name).write_bytes(b'')
    assert [os.path.basename(p) for p in leftover_parts(path)] == ['.part-media[1].tar.x1', '.part-media[1].tar.x2']
