# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sales generator for demo-pos: records sales at a steady rate until the POS stops answering.

  posgen --url http://127.0.0.1:8080 --rate 5 [--max N] [--log /var/log/posgen.jsonl]

Each acknowledged sale (the POS answered with its id) is appended to the log as one JSON line, so
a test can tell exactly which sales the POS confirmed before it stopped. Exits 0 when the POS
stops answering after at least one sale, or after --max sales.
"""
import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request

ITEMS = ['rose bouquet', 'tulips', 'orchid', 'vase', 'card', 'ribbon', 'lilies', 'sunflowers']


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--url', default='http://127.0.0.1:8080')
    p.add_argument('--rate', type=float, default=5.0, help='sales per second')
    p.add_argument('--max', type=int, default=0, help='stop after this many sales (0: no limit)')
    p.add_argument('--log', default='-', help='file of acknowledged sales (JSON lines)')
    p.add_argument('--give-up', type=float, default=3.0, help='seconds of failures before exiting')
    args = p.parse_args(argv)
    out = sys.stdout if args.log == '-' else open(args.log, 'a', buffering=1)
    rng = random.Random()
    done = 0
    failing_since = None
    interval = 1.0 / args.rate if args.rate > 0 else 0
    while not args.max or done < args.max:
        items = rng.sample(ITEMS, rng.randint(1, 3))
        body = json.dumps({'amount_cents': rng.randint(199, 9999), 'items': items}).encode()
        req = urllib.request.Request(args.url + '/sale', data=body, headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                ack = json.load(resp)
            out.write(json.dumps({'id': ack['id'], 't': time.time()}) + '\n')
            done += 1
            failing_since = None
        except (urllib.error.URLError, OSError, ValueError):
            now = time.monotonic()
            failing_since = failing_since or now
            if now - failing_since > args.give_up and done > 0:
                break
        time.sleep(interval)
    sys.stderr.write('posgen: %d sales acknowledged\n' % done)
    return 0


if __name__ == '__main__':
    sys.exit(main())
