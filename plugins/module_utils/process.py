# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A command that runs while the module works on something else: ``start`` it, do the other work,
then ``finish`` it (or ``stop`` it when the other work failed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess


class CommandTimeout(Exception):
    pass


def start(argv):
    """Start ``argv`` with its output piped; raises OSError when it cannot be run."""
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc, seconds):
    """Wait at most ``seconds`` for a started command: (rc, stdout, stderr) as text. A command still
    running then is killed and CommandTimeout raised."""
    try:
        out, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise CommandTimeout('did not finish within %s s' % seconds)
    return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


def stop(proc):
    """Kill a started command (nothing when it has ended) and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate()
