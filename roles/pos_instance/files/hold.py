# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hold or release services of poscloud-init and wait until it has applied that.

  python3 hold.py HOLD_DIR held|released NAME... (run on the machine or in the container)

Prints {"changed": bool}; exits non-zero when the services do not reach the state within
HOLD_TIMEOUT seconds (default 60)."""
import json
import os
import sys
import time

hold_dir, want, names = sys.argv[1], sys.argv[2], sys.argv[3:]
if not os.path.isdir(hold_dir):
    os.makedirs(hold_dir)
changed = False
for name in names:
    path = os.path.join(hold_dir, name)
    if want == 'held' and not os.path.exists(path):
        open(path, 'a').close()
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
