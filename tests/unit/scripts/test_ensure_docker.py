"""scripts/ensure-docker.sh against stand-ins for docker and dockerd (no real engine is touched)."""
import os
import stat
import subprocess
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(ROOT, 'scripts', 'ensure-docker.sh')


def executable(path, text):
    path.write_text(textwrap.dedent(text))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def fake_engine(tmp_path):
    """A `docker` that answers once a marker file exists, and a `dockerd` that makes it."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    marker = tmp_path / 'engine-up'
    executable(bin_dir / 'docker', '''\
        #!/bin/sh
        [ -f "%s" ] || exit 1
        [ "$1" = version ] && echo 20.10.24
        exit 0
        ''' % marker)
    executable(bin_dir / 'dockerd', '''\
        #!/bin/sh
        echo "$$" > "%s/dockerd-started"
        touch "%s"
        exec sleep 30
        ''' % (tmp_path, marker))
    return bin_dir, marker


def run(tmp_path, bin_dir, **env):
    full = dict(os.environ, PATH='%s:/usr/bin:/bin' % bin_dir, POSCLOUD_STATE_DIR=str(tmp_path / 'state'),
                DOCKER_WAIT_SECONDS='10', SYSTEMD_RUN_DIR=str(tmp_path / 'no-systemd'),
                DOCKER_PID_FILES=str(tmp_path / 'docker.pid'))
    full.update(env)
    return subprocess.run(['bash', SCRIPT], env=full, capture_output=True, text=True, timeout=30, check=False)


def stop(tmp_path):
    pid_file = tmp_path / 'dockerd-started'
    if pid_file.exists():
        subprocess.run(['kill', pid_file.read_text().strip()], check=False)


def test_an_engine_that_answers_is_left_alone(tmp_path):
    bin_dir, marker = fake_engine(tmp_path)
    marker.touch()
    proc = run(tmp_path, bin_dir)
    assert proc.returncode == 0
    assert not (tmp_path / 'dockerd-started').exists()


def test_starts_dockerd_in_the_background_with_log_and_pid(tmp_path):
    bin_dir, marker = fake_engine(tmp_path)
    try:
        proc = run(tmp_path, bin_dir)
        assert proc.returncode == 0, proc.stderr
        assert 'starting dockerd in the background' in proc.stdout
        assert 'engine answers (20.10.24)' in proc.stdout
        assert (tmp_path / 'state' / 'dockerd.pid').read_text().strip().isdigit()
        assert (tmp_path / 'state' / 'dockerd.log').exists()
    finally:
        stop(tmp_path)


def test_stale_pid_files_are_removed_before_starting(tmp_path):
    bin_dir, marker = fake_engine(tmp_path)
    dead = subprocess.run(['sh', '-c', 'echo $$'], capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / 'state').mkdir()
    (tmp_path / 'state' / 'dockerd.pid').write_text(dead + '\n')
    (tmp_path / 'docker.pid').write_text(dead + '\n')
    try:
        proc = run(tmp_path, bin_dir)
        assert proc.returncode == 0, proc.stderr
        assert 'removing stale pid file %s' % (tmp_path / 'docker.pid') in proc.stdout
        assert not (tmp_path / 'docker.pid').exists()
        assert (tmp_path / 'state' / 'dockerd.pid').read_text().strip() != dead
    finally:
        stop(tmp_path)


def test_an_engine_that_never_answers_fails_with_its_log(tmp_path):
    bin_dir, marker = fake_engine(tmp_path)
    executable(bin_dir / 'dockerd', '''\
        #!/bin/sh
        echo "failed to start daemon: pid file found" >&2
        exit 1
        ''')
    proc = run(tmp_path, bin_dir, DOCKER_WAIT_SECONDS='2')
    assert proc.returncode == 1
    assert 'did not answer within 2s' in proc.stderr
    assert 'failed to start daemon: pid file found' in proc.stderr


def test_an_engine_that_exits_while_awaited_is_started_again(tmp_path):
    # a dockerd that was shutting down when the script looked: alive and silent, then gone
    bin_dir, marker = fake_engine(tmp_path)
    (tmp_path / 'state').mkdir()
    # started in the background of a shell that ends, so it is no child of this test (a child that
    # exits stays a zombie, alive to kill -0, until its parent waits for it)
    old = subprocess.run(['bash', '-c', '(exec -a dockerd sleep 1) >/dev/null 2>&1 & echo $!'],
                         capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / 'state' / 'dockerd.pid').write_text(old + '\n')
    try:
        proc = run(tmp_path, bin_dir)
        assert proc.returncode == 0, proc.stderr
        assert 'is running but does not answer yet; waiting' in proc.stdout
        assert 'exited without answering; starting it again' in proc.stdout
        assert 'engine answers (20.10.24)' in proc.stdout
    finally:
        stop(tmp_path)
