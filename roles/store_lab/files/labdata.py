# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data set of a lab store's physical POS server (lab only).

  labdata.py generate --dir /usr2/pos --size-mb 200 [--owner pos]
  labdata.py churn --dir /usr2/pos --percent 1
  labdata.py trim --dir /usr2/pos --size-mb 64

generate fills <dir>/archive with journal files of 16 to 176 KiB (about 96 KiB on average, so
200 MB is some 2,100 files) until the set reaches the size; it is idempotent and grows or keeps an
existing set. churn rewrites the given share of the archive files in place (new content, same
names), standing in for a store that keeps writing while its data is copied. trim removes the
newest archive files until the archive is no larger than the size (the tests use it to undo a
growth they caused, so the next run starts from the set the inventory describes).
"""
import argparse
import os
import pwd
import random
import sys

KIB = 1024


def files(root):
    out = []
    for folder, dirs, names in os.walk(os.path.join(root, 'archive')):
        dirs.sort()
        out.extend(os.path.join(folder, n) for n in sorted(names) if n.endswith('.dat'))
    return out


def write(path, size, rng, owner):
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(rng.randbytes(size) if hasattr(rng, 'randbytes') else os.urandom(size))
    os.chmod(tmp, 0o640)
    if owner:
        os.chown(tmp, owner.pw_uid, owner.pw_gid)
    os.rename(tmp, path)


def generate(args):
    owner = pwd.getpwnam(args.owner) if args.owner else None
    target = args.size_mb * 1024 * KIB
    existing = files(args.dir)
    total = sum(os.path.getsize(p) for p in existing)
    n = len(existing)
    rng = random.Random(n)
    while total < target:
        folder = os.path.join(args.dir, 'archive', '%04d' % (n // 250))
        if not os.path.isdir(folder):
            os.makedirs(folder)
            if owner:
                os.chown(folder, owner.pw_uid, owner.pw_gid)
                os.chown(os.path.dirname(folder), owner.pw_uid, owner.pw_gid)
        size = min(rng.randint(16, 176) * KIB, target - total)
        write(os.path.join(folder, 'j%06d.dat' % n), size, rng, owner)
        total += size
        n += 1
    sys.stdout.write('labdata: %d files, %d bytes in %s/archive\n' % (n, total, args.dir))
    return 0


def churn(args):
    owner = pwd.getpwnam(args.owner) if args.owner else None
    existing = files(args.dir)
    rng = random.Random()
    count = max(1, int(round(len(existing) * args.percent / 100.0)))
    chosen = rng.sample(existing, min(count, len(existing)))
    changed = 0
    for path in chosen:
        size = os.path.getsize(path)
        write(path, size, rng, owner)
        changed += size
    sys.stdout.write('labdata: rewrote %d of %d files (%d bytes)\n' % (len(chosen), len(existing), changed))
    return 0


def trim(args):
    target = args.size_mb * 1024 * KIB
    existing = files(args.dir)
    total = sum(os.path.getsize(p) for p in existing)
    removed = 0
    while existing and total > target:
        path = existing.pop()
        total -= os.path.getsize(path)
        os.remove(path)
        removed += 1
    sys.stdout.write('labdata: removed %d files, %d left, %d bytes in %s/archive\n'
                     % (removed, len(existing), total, args.dir))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest='cmd')
    g = sub.add_parser('generate')
    g.add_argument('--dir', required=True)
    g.add_argument('--size-mb', type=int, default=200)
    g.add_argument('--owner', default='')
    c = sub.add_parser('churn')
    c.add_argument('--dir', required=True)
    c.add_argument('--percent', type=float, default=1.0)
    c.add_argument('--owner', default='')
    t = sub.add_parser('trim')
    t.add_argument('--dir', required=True)
    t.add_argument('--size-mb', type=int, required=True)
    args = p.parse_args(argv)
    if args.cmd == 'trim':
        return trim(args)
    if args.cmd == 'generate':
        return generate(args)
    if args.cmd == 'churn':
        return churn(args)
    p.print_help()
    return 2


if __name__ == '__main__':
    sys.exit(main())
