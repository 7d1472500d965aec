import json
import socket
import threading

from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_api import DockerAPI, label_filters, socket_path
from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import DockerError


def test_socket_path_and_filters():
    assert socket_path(None) == '/var/run/docker.sock'
    assert socket_path('unix:///run/x.sock') == '/run/x.sock'
    assert socket_path('tcp://10.0.0.1:2375') is None
    assert label_filters(['label=a=b', 'label=c=d', 'dangling=true']) == {'label': ['a=b', 'c=d'], 'dangling': ['true']}


class UnixHTTPServer(ThreadingMixIn, HTTPServer):
    address_family = socket.AF_UNIX
    daemon_threads = True

    def server_bind(self):
        self.socket.bind(self.server_address)

    def get_request(self):
        conn = self.socket.accept()[0]
        return conn, ('local', 0)


@pytest.fixture
def engine(tmp_path):
    """A stand-in engine on a unix socket that answers like the Docker Engine API."""
    seen = []
    images = {'sha256:a': {'Id': 'sha256:a', 'RepoTags': ['x/y:latest']}}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def do_GET(self):
            seen.append(self.path)
            if self.path.startswith('/images/json'):
                status, body = 200, [{'Id': 'sha256:a'}, {'Id': 'sha256:a'}]
            elif self.path in ('/images/x%2Fy%3Alatest/json', '/images/sha256%3Aa/json'):
                status, body = 200, images['sha256:a']
            elif self.path == '/containers/pos_1/json':
                status, body = 200, {'Name': '/pos_1', 'Image': 'sha256:a'}
            elif self.path == '/images/broken/json':
                status, body = 500, {'message': 'engine trouble'}
            else:
                status, body = 404, {'message': 'No such object'}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    path = str(tmp_path / 'docker.sock')
    server = UnixHTTPServer(path, Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield path, seen
    server.shutdown()
    server.server_close()


def test_reads_like_the_cli(engine):
    path, seen = engine
    api = DockerAPI(path)
    assert api.inspect_image('x/y:latest')['Id'] == 'sha256:a'
    assert api.inspect_image('nope:latest') is None
    assert api.image_ids(filters=['label=poscloud.fleet.store=1']) == ['sha256:a']
    assert json.loads(parse_qs(urlsplit(seen[-1]).query)['filters'][0]) == {'label': ['poscloud.fleet.store=1']}
    assert [i['Id'] for i in api.inspect_images(['sha256:a', 'nope'])] == ['sha256:a']
    assert [c['Name'] for c in api.inspect_containers(['pos_1', 'pos_2'])] == ['/pos_1']
    with pytest.raises(DockerError, match='engine trouble'):
        api.inspect_image('broken')
    api.close()


def test_an_engine_that_does_not_answer_is_named(tmp_path):
    with pytest.raises(DockerError, match='does not answer on .*missing.sock'):
        DockerAPI(str(tmp_path / 'missing.sock')).inspect_image('x')


@pytest.fixture
def silent_engine(tmp_path):
    """A unix socket that accepts connections and never answers (a hung engine)."""
    path = str(tmp_path / 'hung.sock')
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(5)
    yield path
    server.close()


def test_an_engine_that_hangs_fails_after_the_timeout_with_a_clear_message(silent_engine):
    api = DockerAPI(silent_engine, timeout=1)
    with pytest.raises(DockerError, match=r'did not finish within 1 s.*docker_timeout'):
        api.inspect_image('x')


@pytest.mark.parametrize('value', [0, -1, 86401, True, '30'])
def test_the_timeout_must_be_a_number_of_seconds(value):
    with pytest.raises(DockerError, match='docker_timeout: '):
        DockerAPI('/nonexistent.sock', timeout=value)


def test_reader_uses_the_module_timeout(tmp_path):
    from ansible_collections.poscloud.fleet.plugins.module_utils.docker_api import reader

    class Module(object):
        params = {'docker_host': 'unix://' + str(tmp_path / 'd.sock'), 'docker_cli': 'docker', 'docker_timeout': 17}

        def fail_json(self, **kw):
            raise AssertionError(kw)
    assert reader(Module(), None).timeout == 17
