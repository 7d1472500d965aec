"""Make a release bundle for poscloud.fleet.software_release from a folder laid out like the machine.

    python3 scripts/make-release.py --id pos-agent-1.4.2 --test "/usr/local/bin/pos-agent check" \\
        [--owner /etc/pos-agent/agent.conf=root:posagent] [--remove /etc/pos-agent/legacy.conf] TREE OUT

TREE holds the release's files at their paths on the machine (TREE/usr/local/bin/pos-agent for
/usr/local/bin/pos-agent); each file's mode is taken from TREE, its owner and group are root unless
--owner says otherwise. OUT (a new folder) gets release.json and files/; pass it, or a tarball of it,
to the playbook as software_update_bundle.
"""
import argparse
import importlib.util
import json
import os
import shutil
import stat
import sys

# The files' checksums are the collection's own SHA-256 (module_utils/common.py, standard library only),
# the one software_release checks them with.
_COMMON = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'plugins', 'module_utils', 'common.py')
_spec = importlib.util.spec_from_file_location('poscloud_fleet_common', _COMMON)
common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(common)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--id', required=True, help='the release id, for example pos-agent-1.4.2')
    ap.add_argument('--test', default='', help='command line the playbook runs after the install')
    ap.add_argument('--description', default='')
    ap.add_argument('--owner', action='append', default=[], metavar='PATH=USER:GROUP')
    ap.add_argument('--remove', action='append', default=[], metavar='PATH', help='a path the release deletes')
    ap.add_argument('tree')
    ap.add_argument('out')
    args = ap.parse_args(argv)
    if not os.path.isdir(args.tree):
        ap.error('%s is not a folder; give the folder laid out like the machine' % args.tree)
    owners = {}
    for item in args.owner:
        path, sep, who = item.partition('=')
        user, sep2, group = who.partition(':')
        if not (sep and sep2 and path.startswith('/') and user and group):
            ap.error('--owner %r: give /path=user:group' % item)
        owners[path] = (user, group)
    if os.path.exists(args.out):
        ap.error('%s exists; give a new folder' % args.out)
    files = []
    for folder, dirs, names in os.walk(args.tree):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(folder, name)
            st = os.lstat(full)
            path = '/' + os.path.relpath(full, args.tree)
            if not stat.S_ISREG(st.st_mode):
                ap.error('%s is not a regular file; a release holds files only' % path)
            user, group = owners.pop(path, ('root', 'root'))
            files.append({'path': path, 'sha256': common.sha256_file(full), 'mode': '%04o' % stat.S_IMODE(st.st_mode),
                          'owner': user, 'group': group})
    if owners:
        ap.error('--owner names paths that are not in %s: %s' % (args.tree, ', '.join(sorted(owners))))
    if not files:
        ap.error('%s holds no files' % args.tree)
    os.makedirs(os.path.join(args.out, 'files'))
    for entry in files:
        dest = os.path.join(args.out, 'files', entry['path'].lstrip('/'))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(os.path.join(args.tree, entry['path'].lstrip('/')), dest)
    manifest = {'id': args.id, 'description': args.description, 'files': files,
                'remove': sorted(args.remove), 'test': args.test}
    with open(os.path.join(args.out, 'release.json'), 'w') as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write('\n')
    print('%s: %d files, %d removed -> %s' % (args.id, len(files), len(args.remove), args.out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
