# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""poscloud-init: the first process of a POS instance container.

Starts the services listed in /etc/poscloud/services.json (written by staging from the application
profile), restarts a service that exits (with a growing pause, at most 30 s), and on SIGTERM stops
them all cleanly (SIGTERM, then SIGKILL after each service's stop timeout) before exiting 0, so
`docker stop` shuts the application down the way its own init scripts would.

services.json: [{"name": "posd", "command": ["/opt/demo-pos/bin/posd"], "user": "pos",
                 "stop_timeout": 10, "env": {"K": "V"}}, ...]
Before the services start, SSH host keys are made when sshd is installed and none exist (images
never carry host keys). The state of each service is kept in /run/poscloud/services.json.

Holding a service: a file named after it in /var/lib/poscloud/hold (POSCLOUD_HOLD_DIR) stops it
cleanly and keeps it from starting, also across restarts of the container when that folder is on a
volume; removing the file starts it again. A cutover uses this to keep the application of a standby
instance (and of the store's physical server) down while its data is copied. A hold file may carry
a deadline, {"until": SECONDS_SINCE_EPOCH}: when it passes, the init removes the hold and starts the
service by itself (a cutover window whose controller vanished gives the store back to this server).
"""
import json
import os
import pwd
import signal
import subprocess
import sys
import time

CONFIG = os.environ.get('POSCLOUD_SERVICES', '/etc/poscloud/services.json')
STATE = os.environ.get('POSCLOUD_STATE', '/run/poscloud/services.json')
HOLD_DIR = os.environ.get('POSCLOUD_HOLD_DIR', '/var/lib/poscloud/hold')


def log(msg):
    sys.stderr.write('poscloud-init: %s\n' % msg)
    sys.stderr.flush()


def demote(user):
    if not user or user == 'root':
        return None
    pw = pwd.getpwnam(user)

    def apply():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return apply


class Service(object):
    def __init__(self, spec):
        self.name = spec['name']
        self.command = spec['command']
        self.user = spec.get('user')
        self.env = spec.get('env') or {}
        self.stop_timeout = float(spec.get('stop_timeout', 10))
        self.proc = None
        self.restarts = 0
        self.next_start = 0.0
        self.started_at = None

    def start(self):
        env = dict(os.environ)
        env.update(self.env)
        if self.user and self.user != 'root':
            pw = pwd.getpwnam(self.user)
            env.update(HOME=pw.pw_dir, USER=self.user, LOGNAME=self.user)
        self.proc = subprocess.Popen(self.command, env=env, preexec_fn=demote(self.user))
        self.started_at = time.time()
        log('started %s (pid %d)' % (self.name, self.proc.pid))

    def running(self):
        return bool(self.proc and self.proc.poll() is None)

    def stop(self):
        if self.running():
            self.proc.terminate()
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                log('%s did not stop in %.0fs; killing it' % (self.name, self.stop_timeout))
                self.proc.kill()
                self.proc.wait()
            log('stopped %s' % self.name)
        self.proc = None
        self.next_start = 0.0

    def state(self, held=False):
        return {'name': self.name, 'pid': self.proc.pid if self.running() else None,
                'running': self.running(), 'held': held,
                'restarts': self.restarts, 'started_at': self.started_at}


def expired(path, now):
    """True when the hold file at ``path`` carries a deadline that has passed."""
    try:
        with open(path) as f:
            text = f.read().strip()
        return bool(text) and float(json.loads(text)['until']) <= now
    except (IOError, OSError, ValueError, KeyError, TypeError):
        return False


def held_names(now=None):
    now = time.time() if now is None else now
    try:
        names = set(n for n in os.listdir(HOLD_DIR) if not n.endswith('.tmp'))
    except OSError:
        return set()
    for name in sorted(names):
        path = os.path.join(HOLD_DIR, name)
        if expired(path, now):
            log('the hold on %s passed its deadline; releasing it' % name)
            try:
                os.remove(path)
            except OSError:
                pass
            names.discard(name)
    return names


def prepare():
    if os.path.exists('/usr/sbin/sshd'):
        os.makedirs('/run/sshd', exist_ok=True)
        if not any(n.startswith('ssh_host_') for n in os.listdir('/etc/ssh')):
            subprocess.call(['ssh-keygen', '-A'])


def write_state(services, held=()):
    os.makedirs(os.path.dirname(STATE), exist_ok=True)
    tmp = STATE + '.tmp'
    with open(tmp, 'w') as f:
        json.dump([s.state(s.name in held) for s in services], f)
    os.rename(tmp, STATE)


def main():
    with open(CONFIG) as f:
        services = [Service(s) for s in json.load(f)]
    stopping = []

    def on_term(signum, frame):
        stopping.append(signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    prepare()
    held = held_names()
    for s in services:
        if s.name in held:
            log('%s is held; not starting it' % s.name)
        else:
            s.start()
    write_state(services, held)
    while not stopping:
        changed = False
        now_held = held_names()
        if now_held != held:
            held, changed = now_held, True
        for s in services:
            if s.name in held:
                if s.running():
                    log('%s is held; stopping it' % s.name)
                    s.stop()
                    changed = True
            elif s.proc is None or (s.proc.poll() is not None and time.time() >= s.next_start):
                if s.proc is not None:
                    log('%s exited with %s; restarting' % (s.name, s.proc.returncode))
                    s.restarts += 1
                    s.next_start = time.time() + min(30, 2 ** min(s.restarts, 5))
                s.start()
                changed = True
        # reap anything else that died (orphans re-parented to us)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        if changed:
            write_state(services, held)
        time.sleep(0.2)
    log('stopping services')
    for s in reversed(services):
        s.stop()
    write_state(services, held)
    return 0


if __name__ == '__main__':
    sys.exit(main())
