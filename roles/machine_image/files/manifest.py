"""The system files of a root file system, one line each: path, type, mode, size, link target.

    manifest.py list ROOT        print the manifest of ROOT (the image, mounted on the build server)
    manifest.py digest ROOT      print its SHA-256 and line count as JSON (the running machine, ROOT=/)

Covers /usr, /etc and /boot, the parts an image restore puts back; leaves out what a running
system changes by itself (GRUB's environment block, Python's byte-code caches, the files an
administrator or the machine writes at run time under /etc listed in SKIP). File contents are not
read: a deleted, truncated or replaced system file changes its line, and reading a whole system
through an emulated CPU would take minutes. Runs on Python 3.5+.
"""
import hashlib
import json
import os
import stat
import sys

TREES = ('usr', 'etc', 'boot')
SKIP = {'boot/grub/grubenv', 'etc/.updated', 'etc/mtab', 'etc/adjtime', 'etc/resolv.conf', 'etc/ld.so.cache',
        'etc/.pwd.lock', 'etc/subuid-', 'etc/subgid-', 'etc/passwd-', 'etc/group-', 'etc/shadow-',
        'etc/gshadow-'}


def lines(root):
    out = []
    for tree in TREES:
        top = os.path.join(root, tree)
        for base, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            rel_base = os.path.relpath(base, root)
            for name in sorted(files) + dirs:
                rel = os.path.join(rel_base, name)
                if rel in SKIP:
                    continue
                st = os.lstat(os.path.join(base, name))
                if stat.S_ISLNK(st.st_mode):
                    extra = os.readlink(os.path.join(base, name))
                    size = 0
                else:
                    extra = ''
                    size = st.st_size if stat.S_ISREG(st.st_mode) else 0
                out.append('%s\t%o\t%d\t%s' % (rel, st.st_mode, size, extra))
    return sorted(out)


def main():
    action, root = sys.argv[1], sys.argv[2]
    text = ''.join(l + '\n' for l in lines(root))
    if action == 'list':
        sys.stdout.write(text)
    else:
        print(json.dumps({'digest': hashlib.sha256(text.encode()).hexdigest(), 'lines': text.count('\n')}))


if __name__ == '__main__':
    main()
