"""image_build with a mirror URL that carries a login and password: the build steps (debootstrap or
mmdebstrap, the chroot's apt-get, docker) are replaced by fakes that behave like the real ones do
with such a URL (they write it into the root's sources list and echo it in their output). The login and
password must reach apt's auth.conf.d while apt runs, and nothing else: not the image's files, its
labels, the returned values (the echo of the module's own arguments included), the messages, the
build record, the build log or the progress file."""
import json
import os
import stat

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.poscloud.fleet.plugins.module_utils import docker_cli
from ansible_collections.poscloud.fleet.plugins.module_utils.media import APT_AUTH_PATH
from ansible_collections.poscloud.fleet.plugins.modules import image_build

LOGIN = 'fleetbuilder'
PASSWORD = 'Pw0rd-9f3k2q'
MIRROR = 'http://%s:%s@mirror.example.test:3142/debian' % (LOGIN, PASSWORD)
CLEAN_MIRROR = 'http://mirror.example.test:3142/debian'
SECURITY = 'http://%s:%s@security.example.test/debian-security' % (LOGIN, PASSWORD)

STATUS = 'Package: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\n'
RELEASE = 'Origin: Debian\nDate: Sat, 06 Sep 2025 12:23:12 UTC\n'


def secret_in(text):
    return LOGIN in text or PASSWORD in text


def write_root(root, sources_list, extra):
    """What a builder leaves in the root: the sources list as it was given, the package database and
    lists, an SSH host key, and one file of its own (``extra``: path, text)."""
    for rel, text in (('etc/apt/sources.list', sources_list), ('var/lib/dpkg/status', STATUS),
                      ('var/lib/apt/lists/mirror_debian_dists_bookworm_InRelease', RELEASE),
                      ('etc/ssh/ssh_host_ed25519_key', 'host key\n'), extra):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)


class Build(object):
    """Stands in for debootstrap, chroot + apt-get and the docker engine."""

    def __init__(self, debootstrap_rc=0, update_rc=0):
        self.debootstrap_rc = debootstrap_rc
        self.update_rc = update_rc
        self.apt_calls = []
        self.apt_saw = []
        self.image_files = None
        self.image_changes = None
        self.commands = []

    def run_command(self, cmd, **kwargs):
        self.commands.append(list(cmd))
        if os.path.basename(cmd[0]) == 'timeout':
            cmd = cmd[3:]
        if cmd[0] == 'dpkg':
            return 0, 'amd64\n', ''
        if cmd[0] == 'debootstrap':
            return self.debootstrap(cmd)
        if cmd[0] == 'mmdebstrap':
            return self.mmdebstrap(cmd)
        if cmd[0] == 'chroot':
            return self.chroot(cmd[1], cmd[2:])
        if cmd[0] == 'docker':
            return self.docker(cmd[1:])
        raise AssertionError('unexpected command %r' % (cmd,))

    def debootstrap(self, cmd):
        suite, root, mirror = cmd[-3:]
        assert mirror == MIRROR  # the download itself uses the credentials
        out = 'I: Retrieving InRelease from %s/dists/%s/InRelease\n' % (mirror, suite)
        if self.debootstrap_rc:
            return self.debootstrap_rc, out, 'E: Failed getting release file %s/dists/%s/Release\n' % (mirror, suite)
        write_root(root, 'deb %s %s main\n' % (mirror, suite),
                   ('var/log/bootstrap.log', 'Get:1 %s bookworm InRelease\n' % mirror))
        return 0, out + 'I: Base system installed successfully.\n', ''

    def mmdebstrap(self, cmd):
        lines = [a for a in cmd if a.startswith('deb ')]
        suite, root = cmd[-len(lines) - 2:-len(lines)]
        # the downloads themselves use the credentials
        assert 'deb [signed-by=%s] %s %s main' % (__file__, MIRROR, suite) in lines
        assert '--aptopt=Acquire::http::Timeout "60"' in cmd and '--aptopt=Acquire::Retries "2"' in cmd
        out = ''.join('Get:%d %s InRelease\n' % (i, line.split('] ', 1)[1]) for i, line in enumerate(lines))
        if self.debootstrap_rc:
            return self.debootstrap_rc, out, 'E: Failed to fetch %s/dists/%s/InRelease 401\n' % (MIRROR, suite)
        write_root(root, '\n'.join(lines) + '\n', ('etc/apt/apt.conf.d/99mmdebstrap', 'Acquire::http::Timeout "60";\n'))
        return 0, out + 'I: success in 20.1 seconds\n', ''

    def chroot(self, root, args):
        assert args[0] == 'apt-get', args
        self.apt_calls.append(args)
        auth = os.path.join(root, APT_AUTH_PATH.lstrip('/'))
        with open(os.path.join(root, 'etc/apt/sources.list')) as f:
            sources = f.read()
        with open(auth) as f:
            auth_text = f.read()
        self.apt_saw.append({'sources': sources, 'auth': auth_text,
                             'auth_mode': stat.S_IMODE(os.stat(auth).st_mode)})
        if 'update' in args:
            if self.update_rc:
                return self.update_rc, '', 'E: Failed to fetch %s/dists/bookworm-security/InRelease 401\n' % SECURITY
            return 0, 'Get:1 %s bookworm InRelease\n' % MIRROR, ''
        return 0, '0 upgraded, 0 newly installed\n', ''

    def docker(self, args):
        if args[:1] == ['version']:
            return 0, '20.10.24\n', ''
        if args[:2] == ['image', 'ls']:
            return 0, '', ''
        if args[:2] == ['image', 'inspect']:
            if 'sha256:built' in args[2:]:
                labels = dict(c[len('LABEL '):].split('=', 1) for c in self.image_changes if c.startswith('LABEL '))
                return 0, json.dumps([{'Id': 'sha256:built', 'RepoTags': ['poscloud/media:latest'],
                                       'Config': {'Labels': dict((k, json.loads(v)) for k, v in labels.items())}}]), ''
            return 1, '[]', 'No such image'
        if args[:2] == ['image', 'tag']:
            return 0, '', ''
        if args[:2] == ['image', 'rm']:
            return 0, '', ''
        raise AssertionError('unexpected docker command %r' % (args,))

    def import_tree(self, root, reference, changes=None, message=None):
        files = {}
        for folder, dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                with open(path, 'rb') as f:
                    files[os.path.relpath(path, root)] = f.read().decode('utf-8', 'replace')
        self.image_files = files
        self.image_changes = list(changes or [])
        assert not secret_in(message or '')
        return 'sha256:built'


def run(monkeypatch, tmp_path, build, **args):
    """Run the module to its end; returns (result as Ansible would receive it, module params)."""
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, cmd, **kw: build.run_command(cmd, **kw))
    monkeypatch.setattr(docker_cli.DockerCLI, 'import_tree',
                        lambda self, root, ref, changes=None, message=None: build.import_tree(root, ref, changes, message))
    monkeypatch.setattr(image_build, 'open_url', lambda url, **kw: Response(url))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **kw: '/usr/bin/' + name)
    seen = {}

    def record(self, o):
        seen['result'] = o
        seen['params'] = dict(self.params)
    monkeypatch.setattr(basic.AnsibleModule, '_record_module_result', record)
    params = dict(name='poscloud/media', packages=['python3'], mirror=MIRROR, apt_sources=[],
                  security_updates=True, keyring=__file__, work_dir=str(tmp_path / 'work'),
                  evidence_dir=str(tmp_path / 'evidence'), progress_file=str(tmp_path / 'progress.log'),
                  labels={'origin': MIRROR}, builder='debootstrap')
    params.update(args)
    with patch_module_args(params):
        with pytest.raises(SystemExit):
            image_build.main()
    return seen['result'], seen['params']


class Response(object):
    def __init__(self, url):
        assert url.startswith(MIRROR)

    def close(self):
        pass


def every_file_under(folder):
    texts = {}
    for base, dirs, names in os.walk(str(folder)):
        for name in names:
            path = os.path.join(base, name)
            with open(path, 'rb') as f:
                texts[path] = f.read().decode('utf-8', 'replace')
    return texts


@pytest.fixture
def sources(tmp_path):
    folder = tmp_path / 'apt'
    folder.mkdir()
    (folder / 'debian.list').write_text(
        'deb %s bookworm main\ndeb %s bookworm-security main\n' % (MIRROR, SECURITY))
    return str(folder)


def test_a_build_from_a_credentialed_mirror_leaves_no_credentials(monkeypatch, tmp_path, sources):
    build = Build()
    result, params = run(monkeypatch, tmp_path, build, apt_sources=[sources])
    assert result.get('failed') is not True, result
    assert result['built'] is True

    # apt in the root reached the mirrors with the credentials from auth.conf.d, mode 0600, and a
    # sources list without them; every apt-get call bounds its downloads.
    assert [('update' in a, 'dist-upgrade' in a) for a in build.apt_calls] == [(True, False), (False, True)]
    for call in build.apt_calls:
        assert 'Acquire::http::Timeout=60' in call and 'Acquire::Retries=2' in call
    for saw in build.apt_saw:
        assert saw['auth_mode'] == 0o600
        assert 'machine %s login %s password %s' % (CLEAN_MIRROR, LOGIN, PASSWORD) in saw['auth']
        assert 'security.example.test/debian-security login %s' % LOGIN in saw['auth']
        assert not secret_in(saw['sources'])
        assert 'deb %s bookworm main' % CLEAN_MIRROR in saw['sources']

    # The image: no auth file, no credential in any file, its labels included.
    files = build.image_files
    assert APT_AUTH_PATH.lstrip('/') not in files
    assert 'etc/apt/sources.list' in files and 'etc/poscloud/media.json' in files
    assert [path for path, text in files.items() if secret_in(text)] == []
    assert json.loads(files['etc/poscloud/media.json'])['mirror'] == CLEAN_MIRROR
    assert [c for c in build.image_changes if secret_in(c)] == []
    assert 'LABEL poscloud.fleet.mirror="%s"' % CLEAN_MIRROR in build.image_changes

    # What the module returns, the echo of its arguments included.
    assert result['mirror'] == CLEAN_MIRROR
    assert params['mirror'] == CLEAN_MIRROR
    assert not secret_in(json.dumps(result)), json.dumps(result)

    # Evidence (build.json, manifest.json, build.log) and the progress file.
    written = every_file_under(tmp_path / 'evidence')
    with open(str(tmp_path / 'progress.log')) as f:
        written['progress.log'] = f.read()
    assert any(p.endswith('build.log') for p in written) and any(p.endswith('build.json') for p in written)
    log = [t for p, t in written.items() if p.endswith('build.log')][0]
    assert '$ debootstrap' in log and CLEAN_MIRROR + '/dists/bookworm/InRelease' in log
    assert [p for p, t in written.items() if secret_in(t)] == []
    record = json.loads([t for p, t in written.items() if p.endswith('build.json')][0])
    assert record['mirror'] == CLEAN_MIRROR
    # The root filesystem is gone; only the lock file is left in the work folder.
    assert [n for n in os.listdir(str(tmp_path / 'work')) if not n.endswith('.lock')] == []

    # The fakes did see the secret: the checks above could fail.
    assert any(secret_in(' '.join(c)) for c in build.commands)


def test_the_sources_list_is_rewritten_without_security_updates(monkeypatch, tmp_path):
    build = Build()
    result, params = run(monkeypatch, tmp_path, build, security_updates=False)
    assert result['built'] is True, result
    assert build.apt_calls == []
    assert build.image_files['etc/apt/sources.list'] == 'deb %s bookworm main\n' % CLEAN_MIRROR
    assert APT_AUTH_PATH.lstrip('/') not in build.image_files
    assert [path for path, text in build.image_files.items() if secret_in(text)] == []


@pytest.mark.parametrize('failure', ['debootstrap', 'update'])
def test_a_failed_build_names_no_credentials(monkeypatch, tmp_path, sources, failure):
    build = Build(debootstrap_rc=1 if failure == 'debootstrap' else 0, update_rc=100 if failure == 'update' else 0)
    result, params = run(monkeypatch, tmp_path, build, apt_sources=[sources])
    assert result['failed'] is True
    expected = 'debootstrap failed' if failure == 'debootstrap' else 'security_updates: apt-get update'
    assert expected in result['msg']
    assert CLEAN_MIRROR in result['msg'] or 'security.example.test' in result['msg']
    assert not secret_in(json.dumps(result)), result['msg']
    assert not secret_in(json.dumps(params))
    with open(str(tmp_path / 'progress.log')) as f:
        assert not secret_in(f.read())
    assert build.image_files is None


def test_check_mode_and_bad_input_messages_name_no_credentials(monkeypatch, tmp_path):
    result, params = run(monkeypatch, tmp_path, Build(), _ansible_check_mode=True)
    assert result['changed'] is True and 'would build poscloud/media:latest' in result['msg']
    assert CLEAN_MIRROR in result['msg']
    assert not secret_in(json.dumps(result)) and not secret_in(json.dumps(params))

    # Refused before anything runs, the echo of the arguments still without the password.
    result, params = run(monkeypatch, tmp_path, Build(), name='Bad Name')
    assert result['failed'] is True and result['msg'].startswith('name: ')
    assert PASSWORD not in json.dumps(result) and params['mirror'] == CLEAN_MIRROR


@pytest.mark.parametrize('mirror', [
    CLEAN_MIRROR + '\n', CLEAN_MIRROR + ' bookworm main\ndeb http://other.example.test/debian',
    'http://a:b c@mirror.example.test/debian',
])
def test_a_mirror_with_spaces_or_line_breaks_is_refused(monkeypatch, tmp_path, mirror):
    result, params = run(monkeypatch, tmp_path, Build(), mirror=mirror, _ansible_check_mode=True)
    assert result['failed'] is True and result['msg'].startswith('mirror: ')


def test_login_without_password_and_percent_encoded_credentials(monkeypatch, tmp_path):
    build = Build()
    token_mirror = 'http://tok%40en@mirror.example.test:3142/debian'
    monkeypatch.setattr(Build, 'debootstrap', lambda self, cmd: _plain_debootstrap(cmd))
    monkeypatch.setattr(image_build, 'open_url', lambda url, **kw: _Closed())
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, cmd, **kw: build.run_command(cmd, **kw))
    monkeypatch.setattr(docker_cli.DockerCLI, 'import_tree',
                        lambda self, root, ref, changes=None, message=None: build.import_tree(root, ref, changes, message))
    seen = {}
    monkeypatch.setattr(basic.AnsibleModule, '_record_module_result', lambda self, o: seen.update(result=o))
    with patch_module_args(dict(name='poscloud/media', builder='debootstrap', mirror=token_mirror, apt_sources=[], keyring=__file__,
                                work_dir=str(tmp_path / 'work'))):
        with pytest.raises(SystemExit):
            image_build.main()
    result = seen['result']
    assert result['built'] is True, result
    assert build.apt_saw[0]['auth'] == 'machine %s login tok@en password \n' % CLEAN_MIRROR
    assert 'tok' not in json.dumps(result)
    assert [p for p, t in build.image_files.items() if 'tok' in t] == []


class _Closed(object):
    def close(self):
        pass


def _plain_debootstrap(cmd):
    suite, root = cmd[-3], cmd[-2]
    for rel, text in (('etc/apt/sources.list', 'deb %s %s main\n' % (cmd[-1], suite)), ('var/lib/dpkg/status', STATUS)):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
    return 0, '', ''


@pytest.mark.parametrize('security_updates', [True, False])
def test_an_mmdebstrap_build_from_a_credentialed_mirror_leaves_no_credentials(
        monkeypatch, tmp_path, sources, security_updates):
    build = Build()
    result, params = run(monkeypatch, tmp_path, build, apt_sources=[sources], builder='mmdebstrap',
                         security_updates=security_updates)
    assert result.get('failed') is not True, result
    assert result['built'] is True
    # mmdebstrap took every source at once: no upgrade in the chroot afterwards.
    assert build.apt_calls == []
    [cmd] = [c for c in build.commands if c[0] == 'mmdebstrap']
    assert ('deb [signed-by=%s] %s bookworm-security main' % (__file__, SECURITY) in cmd) is security_updates
    assert [p['name'] for p in result['phases']][:2] == ['preflight', 'mmdebstrap']
    files = build.image_files
    assert APT_AUTH_PATH.lstrip('/') not in files and 'etc/apt/apt.conf.d/99mmdebstrap' not in files
    assert [path for path, text in files.items() if secret_in(text)] == []
    assert files['etc/apt/sources.list'].startswith('deb %s bookworm main\n' % CLEAN_MIRROR)
    assert not secret_in(json.dumps(result)) and not secret_in(json.dumps(params))
    written = every_file_under(tmp_path / 'evidence')
    log = [t for p, t in written.items() if p.endswith('build.log')][0]
    assert '$ mmdebstrap' in log and '%s bookworm main' % CLEAN_MIRROR in log
    assert [p for p, t in written.items() if secret_in(t)] == []
    assert any(secret_in(' '.join(c)) for c in build.commands)


def test_a_failed_mmdebstrap_build_names_no_credentials(monkeypatch, tmp_path, sources):
    build = Build(debootstrap_rc=1)
    result, params = run(monkeypatch, tmp_path, build, apt_sources=[sources], builder='mmdebstrap')
    assert result['failed'] is True
    assert result['msg'].startswith("mmdebstrap failed for suite 'bookworm' from %s" % CLEAN_MIRROR)
    assert not secret_in(json.dumps(result)) and not secret_in(json.dumps(params))
    assert build.image_files is None
    assert [n for n in os.listdir(str(tmp_path / 'work')) if not n.endswith('.lock')] == []
