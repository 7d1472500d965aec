# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the modules run swanctl: under a time limit, locally or behind an argv prefix (for
example ``['docker', 'exec', 'pos-cloud']`` to ask the charon of a container), with a failing or
unreadable query turned into ``DaemonError`` naming the command and what it printed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import time

from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.parse import parse_list_conns, parse_list_sas

# Seconds a swanctl command may take on top of any --timeout it is given, and the exit codes of
# coreutils' timeout when it stopped (124) or had to kill (137) the command.
COMMAND_TIMEOUT = 60
TIMEOUT_CODES = (124, 137)


def swanctl_argument_spec():
    """The options of the poscloud.fleet.swanctl documentation fragment: the swanctl program and
    charon's vici socket."""
    return dict(swanctl_path=dict(type='path'), vici_uri=dict(type='str'))


def timed_command(cmd, seconds, timeout_bin):
    """``cmd`` run under coreutils' timeout (the path ``timeout_bin``), stopped after ``seconds``.
    Without a timeout program the command is returned unchanged."""
    if not timeout_bin:
        return list(cmd)
    return [timeout_bin, '--kill-after=5', str(int(seconds))] + list(cmd)


def timed_out(rc, timeout_bin):
    return bool(timeout_bin) and rc in TIMEOUT_CODES


def command_timeout_message(args, seconds):
    return ('swanctl %s did not finish within %d s and was stopped; check that the strongSwan daemon '
            '(charon) runs and answers on its vici socket (vici_uri)' % (' '.join(args), seconds))


def clean_output(text):
    """swanctl's output without the plugin loader's noise."""
    return '\n'.join(line for line in (text or '').splitlines()
                     if line.strip() and not line.startswith("plugin '")
                     and not line.startswith('opening directory '))


class DaemonError(Exception):
    """swanctl failed, timed out or printed what cannot be read. ``detail`` holds the daemon's own
    words (the last line it printed) where there are any, else the whole message."""

    def __init__(self, msg, detail=None):
        super(DaemonError, self).__init__(msg)
        self.detail = detail or msg


class Swanctl(object):
    """Runs swanctl against one daemon and one swanctl folder.

    ``run_command`` has the signature of ``AnsibleModule.run_command``. ``prefix`` is put before the
    swanctl command, so that the same queries run inside a container (``docker exec``). Every command
    is stopped after ``timeout`` seconds (plus any ``--timeout`` it is given); one that times out calls
    ``on_timeout`` with the message, when given, and raises DaemonError.
    """

    def __init__(self, run_command, binary='swanctl', uri=None, swanctl_dir=None, prefix=None, on_timeout=None,
                 timeout=COMMAND_TIMEOUT):
        self.run_command = run_command
        self.binary = binary
        self.uri = uri
        self.swanctl_dir = swanctl_dir
        self.prefix = list(prefix or [])
        self.on_timeout = on_timeout
        self.timeout = timeout
        self.timeout_bin = shutil.which('timeout')

    def command(self, *args):
        cmd = self.prefix + [self.binary] + list(args)
        if self.uri:
            cmd += ['--uri', self.uri]
        return cmd

    def run(self, *args, **kwargs):
        """Run swanctl, stopped after ``seconds`` (the runner's timeout by default): (rc, stdout, stderr)."""
        seconds = kwargs.get('seconds') or self.timeout
        cmd = timed_command(self.command(*args), seconds, self.timeout_bin)
        rc, out, err = self.run_command(cmd, environ_update={'LC_ALL': 'C'})
        if timed_out(rc, self.timeout_bin):
            msg = command_timeout_message(args[:1], seconds)
            if self.on_timeout is not None:
                self.on_timeout(msg)
            raise DaemonError(msg)
        return rc, out or '', err or ''

    def query(self, parse, *args):
        """``parse`` of what ``swanctl args`` prints. DaemonError naming the command when it fails (with
        its rc and the last line it printed on stderr) or prints what ``parse`` cannot read."""
        rc, out, err = self.run(*args)
        command = ' '.join(['swanctl'] + list(args))
        if rc != 0:
            lines = (clean_output(err) or clean_output(out)).splitlines()
            last = lines[-1] if lines else 'no output'
            raise DaemonError('%s failed (rc=%d): %s' % (command, rc, last), detail=last if lines else None)
        try:
            return parse(out)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError, OverflowError, OSError) as e:
            lines = clean_output(out).splitlines()
            raise DaemonError('%s printed output that cannot be read (%s; last line: %s): is swanctl_path '
                              "strongSwan's swanctl?" % (command, e, lines[-1] if lines else 'none'))

    def list_conns(self):
        return self.query(parse_list_conns, '--list-conns', '--pretty')

    def list_sas(self, name=None):
        args = ['--list-sas', '--pretty', '--noblock']
        if name:
            args += ['--ike', name]
        return self.query(lambda out: parse_list_sas(out, now=time.time()), *args)

    def load(self, what):
        args = ['--load-%s' % what, '--file', os.path.join(self.swanctl_dir, 'swanctl.conf')]
        if what == 'creds':
            args.append('--noprompt')
        return self.run(*args)
