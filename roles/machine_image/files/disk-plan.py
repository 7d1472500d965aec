"""Probe a machine's disks and plan them against its inventory entry; prints one JSON object.

    disk-plan.py 'PLAN'        PLAN: JSON, {"machine": NAME, "root_disk": "/dev/vda", "image_size": N,
                                "disks": [{"device", "mount", "fstype", "options", "label"}]}

Runs on the machine (the network maintenance environment or its own system; Python 3.5+). Each
data disk that already holds a file system of the wanted type keeps it and its UUID (its data is
kept); a disk with no file system and no partition table gets one made with the UUID chosen on the
name of the machine and the device ("format"); a disk holding anything else is an error, as is a missing disk, a data disk
that is the root disk, or a root disk smaller than the image. Nothing is written here.
"""
import json
import os
import subprocess
import sys
import uuid


def blkid(device):
    res = subprocess.run(['blkid', '-p', '-o', 'export', device], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, check=False)
    # rc 2: nothing found on the device (blank)
    return dict(l.split('=', 1) for l in res.stdout.splitlines() if '=' in l)


def size(device):
    name = os.path.basename(os.path.realpath(device))
    with open('/sys/class/block/%s/size' % name) as f:
        return int(f.read()) * 512


def new_uuid(machine, device):
    """The UUID of a file system made on a blank data disk: the same for the same machine and disk."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, 'poscloud.fleet:machine_image:%s:%s' % (machine, device)))


def plan(wanted, probe=blkid, size_of=size, exists=os.path.exists):
    errors, disks = [], []
    root = wanted['root_disk']
    if not exists(root):
        errors.append('machine_image_root_disk %s does not exist on the machine' % root)
        root_size = None
    else:
        root_size = size_of(root)
        if root_size < wanted['image_size']:
            errors.append('machine_image_root_disk %s has %d bytes, the image needs %d' % (root, root_size, wanted['image_size']))
    for d in wanted['disks']:
        dev = d['device']
        entry = {'device': dev, 'mount': d['mount'], 'fstype': d.get('fstype') or 'ext4',
                 'options': d.get('options') or 'defaults', 'label': d.get('label') or ''}
        if os.path.realpath(dev) == os.path.realpath(root):
            errors.append('machine_image_disks: %s is the root disk (machine_image_root_disk)' % dev)
            continue
        if not exists(dev):
            errors.append('machine_image_disks: %s (for %s) does not exist on the machine' % (dev, d['mount']))
            continue
        found = probe(dev)
        entry['size'] = size_of(dev)
        entry['found'] = {k: found[k] for k in ('TYPE', 'UUID', 'PTTYPE', 'LABEL') if k in found}
        if found.get('TYPE') == entry['fstype'] and found.get('UUID'):
            entry.update(action='keep', uuid=found['UUID'])
        elif not found.get('TYPE') and not found.get('PTTYPE'):
            entry.update(action='format', uuid=new_uuid(wanted['machine'], dev))
        else:
            errors.append('machine_image_disks: %s holds %s, not an empty disk or %s; it is left alone. '
                          'Wipe it by hand if its data is not wanted, or give its file system type as fstype'
                          % (dev, found.get('TYPE') or 'a partition table (%s)' % found.get('PTTYPE'), entry['fstype']))
            continue
        entry['spec'] = {k: entry.get(k) for k in ('device', 'mount', 'fstype', 'options', 'label', 'uuid')}
        disks.append(entry)
    return {'root': {'device': root, 'size': root_size}, 'disks': disks, 'errors': errors}


def main():
    print(json.dumps(plan(json.loads(sys.argv[1]))))


if __name__ == '__main__':
    main()
