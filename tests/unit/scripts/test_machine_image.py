"""The machine-side scripts of roles/machine_image: the disk plan (which data disks are kept, made
or refused), the tests' judgement (fstab by UUID, sudo rights exactly as asked) and the manifest of
system files that tells a damaged system from its image."""
import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FILES = os.path.join(ROOT, 'roles', 'machine_image', 'files')


def load(name):
    spec = importlib.util.spec_from_file_location(name.replace('-', '_'), os.path.join(FILES, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plan_mod = load('disk-plan')
verify = load('verify')
manifest = load('manifest')

GIB = 1 << 30


def plan(disks, found, sizes=None, root='/dev/vda'):
    sizes = sizes or {}
    return plan_mod.plan({'machine': 'm1', 'root_disk': root, 'image_size': 2 * GIB, 'disks': disks},
                         probe=lambda dev: found.get(dev, {}), size_of=lambda dev: sizes.get(dev, 4 * GIB),
                         exists=lambda dev: dev in ('/dev/vda', '/dev/vdb', '/dev/vdc'))


def test_a_blank_disk_is_made_with_a_uuid_that_stays_the_same():
    first = plan([{'device': '/dev/vdb', 'mount': '/srv/data'}], {})
    again = plan([{'device': '/dev/vdb', 'mount': '/srv/data'}], {})
    assert first['errors'] == []
    disk = first['disks'][0]
    assert disk['action'] == 'format' and disk['fstype'] == 'ext4' and disk['options'] == 'defaults'
    assert disk['uuid'] == again['disks'][0]['uuid'] == plan_mod.new_uuid('m1', '/dev/vdb')
    assert plan_mod.new_uuid('m2', '/dev/vdb') != disk['uuid']
    assert disk['spec'] == {'device': '/dev/vdb', 'mount': '/srv/data', 'fstype': 'ext4', 'options': 'defaults',
                            'label': '', 'uuid': disk['uuid']}


def test_a_disk_with_its_file_system_is_kept_with_its_uuid():
    out = plan([{'device': '/dev/vdb', 'mount': '/srv/data'}], {'/dev/vdb': {'TYPE': 'ext4', 'UUID': 'u-1'}})
    assert out['errors'] == [] and out['disks'][0]['action'] == 'keep' and out['disks'][0]['uuid'] == 'u-1'


@pytest.mark.parametrize('found, words', [
    ({'TYPE': 'xfs', 'UUID': 'x'}, 'holds xfs'),
    ({'PTTYPE': 'dos'}, 'partition table (dos)'),
])
def test_a_disk_holding_something_else_is_refused_and_left_alone(found, words):
    out = plan([{'device': '/dev/vdb', 'mount': '/srv/data'}], {'/dev/vdb': found})
    assert out['disks'] == []
    assert words in out['errors'][0] and 'left alone' in out['errors'][0]


def test_missing_disks_the_root_disk_as_data_and_a_small_root_disk_are_errors():
    out = plan([{'device': '/dev/vdz', 'mount': '/a'}, {'device': '/dev/vda', 'mount': '/b'}], {},
               sizes={'/dev/vda': GIB})
    text = ' '.join(out['errors'])
    assert '/dev/vdz (for /a) does not exist' in text
    assert '/dev/vda is the root disk' in text
    assert 'machine_image_root_disk /dev/vda has %d bytes, the image needs %d' % (GIB, 2 * GIB) in text
    assert plan([], {}, root='/dev/sdq')['errors'] == ['machine_image_root_disk /dev/sdq does not exist on the machine']


SUDO_ALL = """Matching Defaults entries for alice on m1:
    env_reset, mail_badpass

User alice may run the following commands on m1:
    (ALL : ALL) NOPASSWD: ALL
"""
SUDO_SOME = """User bob may run the following commands on m1:
    (root) NOPASSWD: /usr/bin/systemctl restart ssh, /usr/bin/journalctl
"""


def test_sudo_listings_are_read_as_rules():
    assert verify.sudo_rights(SUDO_ALL) == [{'runas': 'ALL:ALL', 'command': 'ALL'}]
    assert verify.sudo_rights(SUDO_SOME) == [{'runas': 'root', 'command': '/usr/bin/systemctl restart ssh'},
                                             {'runas': 'root', 'command': '/usr/bin/journalctl'}]
    assert verify.sudo_rights('User carol is not allowed to run sudo on m1.\n') is None


def seen(**over):
    base = {'root': ['/dev/vda1', 'R'], 'cmdline': 'BOOT_IMAGE=/boot/vmlinuz root=UUID=R ro',
            'fstab': ['UUID=R / ext4 errors=remount-ro 0 1', 'UUID=D /srv/data ext4 defaults 0 2'],
            'mounts': {'/srv/data': ['/dev/vdb', 'D']}, 'services': {'ssh': 'active'},
            'users': {'alice': {'exists': True, 'authorized_keys': ['ssh-ed25519 AAAA a'],
                                'sudo': verify.sudo_rights(SUDO_ALL)},
                      'bob': {'exists': True, 'authorized_keys': ['ssh-ed25519 BBBB b'],
                              'sudo': verify.sudo_rights(SUDO_SOME)}}}
    base.update(over)
    return base


WANTED = {'root_disk': '/dev/vda', 'root_uuid': 'R', 'disks': [{'mount': '/srv/data', 'uuid': 'D'}],
          'users': [{'name': 'alice', 'ssh_keys': ['ssh-ed25519 AAAA a'], 'sudo': 'ALL'},
                    {'name': 'bob', 'ssh_keys': ['ssh-ed25519 BBBB b'],
                     'sudo': ['/usr/bin/journalctl', '/usr/bin/systemctl restart ssh']}],
          'services': ['ssh']}


def test_a_machine_as_its_entry_says_passes_every_test():
    checks = verify.judge(WANTED, seen())
    assert checks and all(checks.values()), checks


def test_each_difference_fails_its_own_test():
    assert not verify.judge(WANTED, seen(root=['/dev/vdb1', 'R']))['root from its own disk']
    assert not verify.judge(WANTED, seen(fstab=['UUID=R / ext4 defaults 0 1']))['fstab lists every disk by UUID']
    assert not verify.judge(WANTED, seen(fstab=['UUID=R / ext4 x 0 1', '/dev/vdb /srv/data ext4 defaults 0 2']))[
        'fstab lists every disk by UUID']
    assert not verify.judge(WANTED, seen(mounts={'/srv/data': []}))['data disks mounted']
    assert not verify.judge(WANTED, seen(services={'ssh': 'failed'}))['services active']
    more = seen()
    more['users']['bob']['sudo'] = verify.sudo_rights(SUDO_ALL)
    assert not verify.judge(WANTED, more)['user bob: sudo rights']
    none = seen()
    none['users']['alice']['sudo'] = None
    assert not verify.judge(WANTED, none)['user alice: sudo rights']
    keys = seen()
    keys['users']['alice']['authorized_keys'] = []
    assert not verify.judge(WANTED, keys)['user alice: keys']
    nosudo = dict(WANTED, users=[{'name': 'alice', 'ssh_keys': ['ssh-ed25519 AAAA a'], 'sudo': []}])
    plain = seen()
    plain['users']['alice']['sudo'] = None
    assert verify.judge(nosudo, plain)['user alice: sudo rights']


def test_the_manifest_sees_deleted_and_truncated_files_but_not_caches_or_grubenv(tmp_path):
    for rel, data in (('usr/bin/tool', b'x' * 10), ('etc/hostname', b'm1\n'), ('boot/grub/grubenv', b'a'),
                      ('usr/lib/python3/__pycache__/a.pyc', b'c')):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    os.symlink('tool', str(tmp_path / 'usr/bin/alias'))
    before = manifest.lines(str(tmp_path))
    assert any(l.startswith('usr/bin/alias\t') and l.endswith('\ttool') for l in before)
    (tmp_path / 'boot/grub/grubenv').write_bytes(b'changed')
    (tmp_path / 'usr/lib/python3/__pycache__/b.pyc').write_bytes(b'new')
    assert manifest.lines(str(tmp_path)) == before
    (tmp_path / 'usr/bin/tool').write_bytes(b'x')
    assert manifest.lines(str(tmp_path)) != before
    (tmp_path / 'usr/bin/tool').write_bytes(b'x' * 10)
    assert manifest.lines(str(tmp_path)) == before
    (tmp_path / 'etc/hostname').unlink()
    assert manifest.lines(str(tmp_path)) != before
