# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hold or release services of poscloud-init and wait until it has applied that.

  python3 hold.py HOLD_DIR held|released NAME... (run on the machine or in the container)

Prints {"changed": bool}; exits non-zero when the services do not reach the state within
HOLD_TIMEOUT seconds (default 60). With HOLD_UNTIL (seconds since the epoch) a hold carries that
deadline: the init releases the service by itself when it passes (the dead-man of a cutover
window). "held" without HOLD_UNTIL makes every hold lasting. "commit" makes lasting a hold that is
still in force: it fails, changing nothing, when a hold is gone or ends within HOLD_MARGIN seconds
(default 10), because the service may have run again since (the cutover's commit)."""
import json
import os
import sys
import time

hold_dir, want, names = sys.argv[1], sys.argv[2], sys.argv[3:]
if not os.path.isdir(hold_dir):
    os.makedirs(hold_dir)
until = os.environ.get('HOLD_UNTIL', '')
content = json.dumps({'until': float(until)}) if until else ''
changed = False
if want == 'commit':
    margin = float(os.environ.get('HOLD_MARGIN', '10'))
    for name in names:
        try:
            with open(os.path.join(hold_dir, name)) as f:
                text = f.read().strip()
        except (IOError, OSError):
            sys.exit('the hold on %s is gone: the service may have run again since it was stopped; '
                     'nothing was committed' % name)
        if text:
            left = float(json.loads(text)['until']) - time.time()
            if left < margin:
                sys.exit('the hold on %s ends in %.1f s (less than %.0f s): too late to commit; nothing was committed'
                         % (name, left, margin))
    want = 'held'
for name in names:
    path = os.path.join(hold_dir, name)
    if want == 'held':
        try:
            with open(path) as f:
                same = f.read() == content
        except (IOError, OSError):
            same = False
        if not same:
            tmp = path + '.tmp'
            with open(tmp, 'w') as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, path)
            changed = True
    elif want == 'released' and os.path.exists(path):
        os.remove(path)
        changed = True
end = time.time() + float(os.environ.get('HOLD_TIMEOUT', '60'))
while True:
    try:
        with open('/run/poscloud/services.json') as f:
            running = dict((s['name'], s['running']) for s in json.load(f))
        if all(running.get(n) == (want == 'released') for n in names):
            break
    except (IOError, OSError, ValueError):
        pass
    if time.time() > end:
        sys.exit('%s did not become %s within %s s' % (', '.join(names), want, os.environ.get('HOLD_TIMEOUT', '60')))
    time.sleep(0.1)
print(json.dumps({'changed': changed}))
