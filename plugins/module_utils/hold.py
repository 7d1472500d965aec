# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hold or release services of poscloud-init and wait until the init has applied that.

A service is held by a file named after it in the hold folder: empty for a lasting hold, or
``{"until": <seconds since the epoch>}`` for a hold with a deadline, which the init releases by
itself when it passes (the dead-man of a cutover window). The init publishes which services run in
``/run/poscloud/services.json``.

The same file is a module_utils file for modules (``set_holds``, ``wait_for``) and a standalone
script for machines and containers that have Python but not this collection; the roles run it as
``python3 -c <this file> HOLD_DIR held|released|commit NAME...``, which prints ``{"changed": bool}``
and exits non-zero when the services do not reach the state within HOLD_TIMEOUT seconds (default
60). HOLD_UNTIL gives a hold its deadline. ``commit`` makes lasting a hold that is still in force: it
fails, changing nothing, when a hold is gone or ends within HOLD_MARGIN seconds (default 10),
because the service may have run again since (the cutover's commit).

Only the standard library is used, and no other file of the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys
import time

SERVICES_FILE = '/run/poscloud/services.json'


class HoldError(Exception):
    pass


def _write(path, content):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def check_commit(hold_dir, names, margin=10.0, now=None):
    """Raise HoldError unless every hold is in force for more than ``margin`` seconds."""
    now = time.time() if now is None else now
    for name in names:
        try:
            with open(os.path.join(hold_dir, name)) as f:
                text = f.read().strip()
        except (IOError, OSError):
            raise HoldError('the hold on %s is gone: the service may have run again since it was stopped; '
                            'nothing was committed' % name)
        if text:
            left = float(json.loads(text)['until']) - now
            if left < margin:
                raise HoldError('the hold on %s ends in %.1f s (less than %.0f s): too late to commit; '
                                'nothing was committed' % (name, left, margin))


def set_holds(hold_dir, want, names, until=None, margin=10.0):
    """Hold (``held``), release (``released``) or make lasting (``commit``) the services' holds.
    ``until`` gives a hold its deadline. Returns whether a hold file changed."""
    if want not in ('held', 'released', 'commit'):
        raise HoldError('unknown hold state %r (held, released or commit)' % (want,))
    if not os.path.isdir(hold_dir):
        os.makedirs(hold_dir)
    if want == 'commit':
        check_commit(hold_dir, names, margin)
        want, until = 'held', None
    content = json.dumps({'until': float(until)}) if until else ''
    changed = False
    for name in names:
        path = os.path.join(hold_dir, name)
        if want == 'held':
            try:
                with open(path) as f:
                    same = f.read() == content
            except (IOError, OSError):
                same = False
            if not same:
                _write(path, content)
                changed = True
        elif os.path.exists(path):
            os.remove(path)
            changed = True
    return changed


def running_services(services_file=SERVICES_FILE):
    """{name: running} as the init last published it ({} when it cannot be read)."""
    try:
        with open(services_file) as f:
            return dict((s['name'], s['running']) for s in json.load(f))
    except (IOError, OSError, ValueError, KeyError, TypeError):
        return {}


def wait_for(names, running, timeout=60.0, services_file=SERVICES_FILE, interval=0.05):
    """Wait until every service in ``names`` runs (``running``) or is stopped; HoldError after ``timeout``."""
    end = time.time() + float(timeout)
    while True:
        now = running_services(services_file)
        if all(now.get(n) == running for n in names):
            return
        if time.time() > end:
            raise HoldError('%s did not become %s within %s s'
                            % (', '.join(names), 'released' if running else 'held', timeout))
        time.sleep(interval)


def main(argv, environ):
    hold_dir, want, names = argv[1], argv[2], argv[3:]
    try:
        changed = set_holds(hold_dir, want, names, environ.get('HOLD_UNTIL') or None,
                            float(environ.get('HOLD_MARGIN', '10')))
        wait_for(names, want == 'released', float(environ.get('HOLD_TIMEOUT', '60')),
                 environ.get('HOLD_SERVICES_FILE', SERVICES_FILE))
    except HoldError as e:
        raise SystemExit(str(e))
    sys.stdout.write(json.dumps({'changed': changed}) + '\n')


if __name__ == '__main__':
    main(sys.argv, os.environ)
