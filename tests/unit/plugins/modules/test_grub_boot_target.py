"""Module-level tests of grub_boot_target on files in tmp_path, with findmnt and lsblk answered by fakes."""
import json
import os
import shutil

import pytest

from ansible.module_utils import basic

from ansible_collections.poscloud.fleet.plugins.module_utils.grub.devices import assess_env_location
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.envblock import EnvBlock, parse_envblock
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.host import kernel_entry, sys_device_chain
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.menu import parse_grub_cfg
from ansible_collections.poscloud.fleet.plugins.modules import grub_boot_target, grub_boot_target_info
from ansible_collections.poscloud.fleet.tests.unit.harness import run_module

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'module_utils', 'fixtures')
UUID = '5e2c9d4a-8b1f-4c3e-9a7d-2f6b0c1e4d58'
ADV = 'gnulinux-advanced-' + UUID
SIMPLE = 'gnulinux-simple-' + UUID
K26 = ADV + '>gnulinux-6.1.0-26-amd64-advanced-' + UUID
K25 = ADV + '>gnulinux-6.1.0-25-amd64-advanced-' + UUID
T25 = 'Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-25-amd64'
T26 = 'Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-26-amd64'
EDITENV = shutil.which('grub-editenv')

PLAIN = {
    'findmnt': 'SOURCE="/dev/vda1" FSTYPE="ext4" TARGET="/"\n',
    'lsblk': json.dumps({'blockdevices': [{'name': 'vda1', 'kname': 'vda1', 'path': '/dev/vda1', 'type': 'part',
                                           'fstype': 'ext4', 'children': [{'name': 'vda', 'kname': 'vda',
                                                                           'path': '/dev/vda', 'type': 'disk'}]}]}),
}
LVM = {
    'findmnt': 'SOURCE="/dev/mapper/vg0-root" FSTYPE="ext4" TARGET="/"\n',
    'lsblk': json.dumps({'blockdevices': [{'name': 'vg0-root', 'kname': 'dm-0', 'path': '/dev/mapper/vg0-root',
                                           'type': 'lvm', 'fstype': 'ext4',
                                           'children': [{'name': 'vda2', 'kname': 'vda2', 'path': '/dev/vda2',
                                                         'type': 'part', 'fstype': 'LVM2_member'}]}]}),
}
BTRFS = {'findmnt': 'SOURCE="/dev/vda2[/@rootfs]" FSTYPE="btrfs" TARGET="/"\n', 'lsblk': PLAIN['lsblk']}


class Host(object):
    """Answers findmnt and lsblk from canned output and runs anything else (grub-editenv) for real."""

    def __init__(self, storage):
        self.storage = storage
        self.calls = []
        self.warnings = []


@pytest.fixture
def host(monkeypatch):
    state = Host(PLAIN)
    real_run = basic.AnsibleModule.run_command
    real_bin = basic.AnsibleModule.get_bin_path

    def run_command(self, args, **kwargs):
        state.calls.append(list(args))
        name = os.path.basename(args[0])
        if name in ('findmnt', 'lsblk'):
            return 0, state.storage[name], ''
        return real_run(self, args, **kwargs)

    def get_bin_path(self, name, *args, **kwargs):
        if name in ('findmnt', 'lsblk'):
            return '/usr/bin/' + name
        return real_bin(self, name, *args, **kwargs)

    def warn(self, msg):
        state.warnings.append(msg)

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', get_bin_path)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', warn)
    return state


@pytest.fixture
def boot(tmp_path):
    """A /boot/grub in tmp_path: Debian's grub.cfg and a grubenv with saved_entry on 6.1.0-25."""
    shutil.copy(os.path.join(FIXTURES, 'grub.cfg.debian12'), str(tmp_path / 'grub.cfg'))
    block = EnvBlock.new()
    block.set('saved_entry', K25)
    (tmp_path / 'grubenv').write_bytes(block.render())
    return tmp_path


def run(boot, check_mode=False, diff=False, **args):
    params = dict(grubenv=str(boot / 'grubenv'), grub_cfg=str(boot / 'grub.cfg'), use_grub_editenv='never')
    params.update(args)
    out = run_module(grub_boot_target.main, params, check_mode, diff)
    return out.kind, out.result


def env(boot):
    data = (boot / 'grubenv').read_bytes()
    assert len(data) == 1024
    return dict(parse_envblock(data))


def simulate_grub_boot(boot):
    """What 00_header does at boot: take next_entry and clear it with an empty value (save_env)."""
    block = EnvBlock.parse((boot / 'grubenv').read_bytes())
    if block.get('next_entry'):
        block.set('next_entry', '')
    (boot / 'grubenv').write_bytes(block.render())


# -- one-time and default switching ---------------------------------------------------------------

def test_once_by_title_path_sets_canonical_id_path(boot, host):
    kind, result = run(boot, target=T26)
    assert kind == 'exit' and result['changed']
    assert env(boot) == {'saved_entry': K25, 'next_entry': K26}
    assert result['changes'] == {'next_entry': K26}
    assert result['previous'] == {'next_entry': None}
    assert result['next_entry'] == K26 and result['saved_entry'] == K25
    assert result['next_boot']['entry']['kernel'] == '/boot/vmlinuz-6.1.0-26-amd64'
    assert result['default']['entry']['index_path'] == '1>2'
    assert result['target']['requested'] == T26 and result['target']['index_path'] == '1>0'
    assert result['writer'] == 'builtin'
    assert len(result['entries']) == 6
    assert result['env_location']['writable'] and result['env_location']['method'] == 'findmnt+lsblk'
    assert ['/usr/bin/findmnt', '-n', '-P', '-o', 'SOURCE,FSTYPE,TARGET', '-T', str(boot)] in host.calls

    kind, again = run(boot, target='1>0')
    assert kind == 'exit' and not again['changed'] and again['writer'] is None


def test_by_index_and_by_id(boot, host):
    assert run(boot, target='1>1')[1]['changes'] == {'next_entry': ADV + '>gnulinux-6.1.0-26-amd64-recovery-' + UUID}
    assert run(boot, target=SIMPLE)[1]['changes'] == {'next_entry': SIMPLE}


def test_check_mode_reports_but_leaves_the_file_alone(boot, host):
    before = (boot / 'grubenv').read_bytes()
    mtime = os.stat(str(boot / 'grubenv')).st_mtime_ns
    kind, result = run(boot, check_mode=True, diff=True, target='1>0')
    assert kind == 'exit' and result['changed']
    assert result['msg'].startswith('would have: next_entry set to')
    assert (boot / 'grubenv').read_bytes() == before
    assert os.stat(str(boot / 'grubenv')).st_mtime_ns == mtime
    assert result['next_entry'] == K26 and result['writer'] is None
    assert sorted(os.listdir(str(boot))) == ['grub.cfg', 'grubenv']


def test_diff_shows_variables_before_and_after(boot, host):
    kind, result = run(boot, diff=True, target='0', mode='once')
    assert result['diff'] == {
        'before': 'saved_entry=%s\n' % K25,
        'after': 'saved_entry=%s\nnext_entry=%s\n' % (K25, SIMPLE),
        'before_header': '%s (variables)' % (boot / 'grubenv'),
        'after_header': '%s (variables)' % (boot / 'grubenv'),
    }


def test_default_mode_and_restore_of_previous(boot, host):
    kind, result = run(boot, target=T26, mode='default')
    assert kind == 'exit' and env(boot) == {'saved_entry': K26}
    assert result['previous'] == {'saved_entry': K25}
    kind, undone = run(boot, health='rollback', restore=result['previous'])
    assert kind == 'exit' and undone['changed'] and env(boot) == {'saved_entry': K25}


def test_default_mode_needs_grub_default_saved(boot, host):
    cfg = (boot / 'grub.cfg').read_text().replace('set default="${saved_entry}"', 'set default="0"')
    (boot / 'grub.cfg').write_text(cfg)
    kind, result = run(boot, target=T26, mode='default')
    assert kind == 'fail' and 'GRUB_DEFAULT=saved' in result['msg']


def test_unknown_target_fails_with_the_entries_and_changes_nothing(boot, host):
    before = (boot / 'grubenv').read_bytes()
    kind, result = run(boot, target='Debian GNU/Linux, with Linux 6.1.0-99-amd64')
    assert kind == 'fail'
    assert 'does not name a GRUB menu entry' in result['msg']
    assert "1>2 '%s'" % T25 in result['msg']
    assert len(result['entries']) == 6
    assert (boot / 'grubenv').read_bytes() == before


def test_absent_clears_only_the_matching_entry(boot, host):
    run(boot, target='1>0')
    kind, result = run(boot, state='absent', target='1>2')
    assert not result['changed'] and env(boot)['next_entry'] == K26
    kind, result = run(boot, state='absent', target=T26)
    assert result['changed'] and 'next_entry' not in env(boot)
    assert result['previous'] == {'next_entry': K26}
    kind, result = run(boot, state='absent')
    assert not result['changed']


def test_query_changes_nothing(boot, host, monkeypatch):
    deprecated = []
    monkeypatch.setattr(basic.AnsibleModule, 'deprecate',
                        lambda self, msg, **kw: deprecated.append(dict(kw, msg=msg)))
    before = (boot / 'grubenv').read_bytes()
    kind, result = run(boot, state='query')
    assert kind == 'exit' and not result['changed'] and result['changes'] == {}
    assert deprecated == [{'msg': 'state=query is replaced by the module poscloud.fleet.grub_boot_target_info, '
                                  'which takes the same grubenv and grub_cfg and returns the same keys',
                           'version': '0.3.0', 'collection_name': 'poscloud.fleet'}]
    assert result['variables'] == {'saved_entry': K25}
    assert result['default']['source'] == 'saved_entry' and result['default']['matched']
    assert (boot / 'grubenv').read_bytes() == before


def test_missing_grubenv_is_created_like_grub_editenv_create(boot, host):
    os.unlink(str(boot / 'grubenv'))
    kind, result = run(boot, target='0')
    assert kind == 'exit' and result['changed']
    expected = EnvBlock.new()
    expected.set('next_entry', SIMPLE)
    assert (boot / 'grubenv').read_bytes() == expected.render()
    assert oct(os.stat(str(boot / 'grubenv')).st_mode & 0o777) == '0o644'


@pytest.mark.parametrize('writer', ['never', 'always'])
def test_a_symlinked_grubenv_is_written_at_its_target_and_stays_a_link(boot, host, grub_editenv, writer):
    # CentOS 7's EFI layout: /boot/grub2/grubenv -> ../efi/EFI/centos/grubenv
    efi = boot / 'efi' / 'EFI' / 'centos'
    efi.mkdir(parents=True)
    os.rename(str(boot / 'grubenv'), str(efi / 'grubenv'))
    os.chmod(str(efi / 'grubenv'), 0o700)
    os.symlink('efi/EFI/centos/grubenv', str(boot / 'grubenv'))
    kind, result = run(boot, target=T26, use_grub_editenv=writer)
    assert kind == 'exit' and result['changed']
    assert os.path.islink(str(boot / 'grubenv'))
    assert dict(EnvBlock.parse((efi / 'grubenv').read_bytes()).variables()) == {
        'saved_entry': K25, 'next_entry': K26}
    assert os.stat(str(efi / 'grubenv')).st_mode & 0o7777 == 0o700
    assert sorted(os.listdir(str(efi))) == ['grubenv']
    assert sorted(os.listdir(str(boot))) == ['efi', 'grub.cfg', 'grubenv']


def test_a_grubenv_linked_into_a_missing_folder_is_refused(boot, host):
    os.unlink(str(boot / 'grubenv'))
    os.symlink('efi/EFI/centos/grubenv', str(boot / 'grubenv'))
    kind, result = run(boot, target=T26)
    assert kind == 'fail' and result['msg'] == 'folder %s of grubenv does not exist' % (boot / 'efi' / 'EFI' / 'centos')
    assert not (boot / 'efi').exists()


def test_a_write_that_fails_names_the_file_and_leaves_it_as_it_was(boot, host, monkeypatch):
    before = (boot / 'grubenv').read_bytes()

    def rename(src, dst):
        raise OSError(30, 'Read-only file system')
    monkeypatch.setattr(os, 'rename', rename)
    kind, result = run(boot, target=T26)
    monkeypatch.undo()
    assert kind == 'fail'
    assert result['msg'].startswith('cannot write %s: ' % (boot / 'grubenv')) and 'Read-only' in result['msg']
    assert (boot / 'grubenv').read_bytes() == before
    assert sorted(os.listdir(str(boot))) == ['grub.cfg', 'grubenv']


def test_corrupt_and_full_blocks_are_not_touched(boot, host):
    short = b'# GRUB Environment Block\nsaved_entry=x\n' + b'#' * 100
    (boot / 'grubenv').write_bytes(short)
    kind, result = run(boot, target='0')
    assert kind == 'fail' and 'corrupt GRUB environment block' in result['msg'] and 'is exactly 1024' in result['msg']
    assert (boot / 'grubenv').read_bytes() == short

    block = EnvBlock.new()
    block.set('filler', 'f' * 880)
    (boot / 'grubenv').write_bytes(block.render())
    kind, result = run(boot, target=T26)
    assert kind == 'fail' and 'block is full' in result['msg']
    assert env(boot) == {'filler': 'f' * 880}


def test_option_combinations_are_checked(boot, host):
    assert run(boot)[1]['msg'] == 'state=present needs target, the entry to boot'
    assert 'health=arm needs target' in run(boot, health='arm')[1]['msg']
    assert 'cannot be combined with state=query' in run(boot, health='commit', state='query')[1]['msg']
    assert 'known_good is only used' in run(boot, target='0', known_good='0')[1]['msg']
    assert 'restore is only used' in run(boot, health='commit', restore={})[1]['msg']


# -- where the block lives ------------------------------------------------------------------------

@pytest.mark.parametrize('storage, reason', [(LVM, 'LVM logical volume /dev/mapper/vg0-root'), (BTRFS, 'btrfs')])
def test_one_time_boot_is_refused_where_grub_cannot_write(boot, host, storage, reason):
    host.storage = storage
    before = (boot / 'grubenv').read_bytes()
    kind, result = run(boot, target='1>0')
    assert kind == 'fail'
    assert reason in result['msg'] and 'next_entry is never cleared' in result['msg']
    assert result['env_location']['writable'] is False
    assert (boot / 'grubenv').read_bytes() == before


def test_force_writes_anyway_with_a_warning(boot, host):
    host.storage = LVM
    kind, result = run(boot, target='1>0', force=True)
    assert kind == 'exit' and result['changed'] and env(boot)['next_entry'] == K26
    assert any('LVM logical volume' in w for w in host.warnings)


def test_default_switch_and_commit_do_not_need_grub_to_write(boot, host):
    host.storage = LVM
    kind, result = run(boot, target=T26, mode='default')
    assert kind == 'exit' and result['changed'] and not host.warnings


def test_sys_device_chain_reads_lvm_on_md(tmp_path):
    block = tmp_path / 'class' / 'block'
    (block / 'dm-0' / 'dm').mkdir(parents=True)
    (block / 'dm-0' / 'dm' / 'uuid').write_text('LVM-Qm9vYmFy\n')
    (block / 'dm-0' / 'slaves' / 'md0').mkdir(parents=True)
    (block / 'md0' / 'md').mkdir(parents=True)
    (block / 'md0' / 'md' / 'level').write_text('raid1\n')
    (block / 'md0' / 'slaves' / 'sda1').mkdir(parents=True)
    devices = tmp_path / 'devices' / 'sda'
    (devices / 'sda1').mkdir(parents=True)
    (devices / 'sda1' / 'partition').write_text('1\n')
    os.symlink(str(devices / 'sda1'), str(block / 'sda1'))
    os.symlink(str(devices), str(block / 'sda'))
    chain = sys_device_chain('/dev/dm-0', sys_root=str(tmp_path))
    assert [(d['name'], d['type']) for d in chain] == [('dm-0', 'lvm'), ('md0', 'raid1'), ('sda1', 'part'),
                                                       ('sda', 'disk')]
    assessed = assess_env_location('/dev/mapper/vg0-boot', 'ext4', chain)
    assert len(assessed['reasons']) == 2 and not assessed['writable']


# -- health contract ------------------------------------------------------------------------------

def test_trial_arm_boot_commit(boot, host):
    kind, armed = run(boot, health='arm', target=T26)
    assert kind == 'exit' and armed['changed']
    assert env(boot) == {'saved_entry': K25, 'next_entry': K26, 'poscloud_trial_entry': K26,
                         'poscloud_known_good': K25}
    assert armed['previous'] == {'next_entry': None, 'poscloud_trial_entry': None, 'poscloud_known_good': None}
    assert armed['known_good']['index_path'] == '1>2'
    assert armed['trial'] == {'entry': K26, 'known_good': K25, 'armed': True, 'pending': True}
    assert run(boot, health='arm', target='1>0')[1]['changed'] is False

    kind, early = run(boot, health='commit')
    assert kind == 'fail' and 'has not been booted yet' in early['msg']

    simulate_grub_boot(boot)
    kind, wrong = run(boot, health='commit', target=T25)
    assert kind == 'fail' and 'not the armed trial entry' in wrong['msg']
    kind, committed = run(boot, health='commit', target=T26)
    assert kind == 'exit' and committed['changed']
    assert env(boot) == {'saved_entry': K26, 'next_entry': ''}
    assert committed['trial']['armed'] is False
    assert run(boot, health='commit')[1]['changed'] is False


def test_trial_arm_boot_rollback(boot, host):
    run(boot, health='arm', target=T26)
    simulate_grub_boot(boot)
    kind, result = run(boot, health='rollback', diff=True)
    assert kind == 'exit' and result['changed']
    assert env(boot) == {'saved_entry': K25, 'next_entry': ''}
    assert result['previous'] == {'poscloud_trial_entry': K26, 'poscloud_known_good': K25}
    assert 'poscloud_trial_entry' in result['diff']['before'] and 'poscloud' not in result['diff']['after']
    assert run(boot, health='rollback')[1]['changed'] is False


def test_arm_is_refused_on_lvm_and_when_known_good_boots_the_same_kernel(boot, host):
    kind, result = run(boot, health='arm', target=T26, known_good='0')
    assert kind == 'fail' and 'boots the same kernel' in result['msg']
    host.storage = LVM
    kind, result = run(boot, health='arm', target=T26)
    assert kind == 'fail' and 'LVM' in result['msg']
    assert env(boot) == {'saved_entry': K25}


def test_rollback_with_restore_undoes_an_arm_exactly(boot, host):
    before = (boot / 'grubenv').read_bytes()
    kind, armed = run(boot, health='arm', target=T26)
    kind, result = run(boot, health='rollback', restore=armed['previous'])
    assert kind == 'exit' and result['changed']
    assert (boot / 'grubenv').read_bytes() == before


# -- grub-editenv as the writer -------------------------------------------------------------------

@pytest.mark.usefixtures('grub_editenv')
def test_grub_editenv_and_builtin_writer_give_the_same_bytes(tmp_path, host):
    results = {}
    for writer in ('always', 'never'):
        where = tmp_path / writer
        where.mkdir()
        shutil.copy(os.path.join(FIXTURES, 'grub.cfg.debian12'), str(where / 'grub.cfg'))
        block = EnvBlock.new()
        block.set('saved_entry', K25)
        block.set('other', 'x\\y\nz')
        (where / 'grubenv').write_bytes(block.render())
        kind, result = run(where, use_grub_editenv=writer, health='arm', target=T26)
        assert kind == 'exit' and result['changed']
        results[writer] = (where / 'grubenv').read_bytes()
        assert sorted(os.listdir(str(where))) == ['grub.cfg', 'grubenv']
        assert result['writer'] == ('grub-editenv' if writer == 'always' else 'builtin')
    assert results['always'] == results['never']
    assert not host.warnings
    assert any(os.path.basename(c[0]) == 'grub-editenv' for c in host.calls)


def test_always_fails_without_grub_editenv(boot, host, monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda self, name, *a, **k: '/usr/bin/' + name if name in ('findmnt', 'lsblk') else None)
    kind, result = run(boot, target='0', use_grub_editenv='always')
    assert kind == 'fail' and 'neither grub-editenv nor grub2-editenv' in result['msg']


# -- restore refuses what matches no entry ---------------------------------------------------------

@pytest.mark.parametrize('value', [1, 0, True, ['x']])
def test_restore_refuses_a_value_that_is_not_a_string_and_writes_nothing(boot, host, value):
    before = (boot / 'grubenv').read_bytes()
    kind, result = run(boot, health='rollback', restore={'saved_entry': value})
    assert kind == 'fail' and result['msg'].startswith('restore.saved_entry: ')
    assert (boot / 'grubenv').read_bytes() == before


@pytest.mark.parametrize('value', ['no such entry', '7', K26 + 'x', K25 + '\n'])
def test_restore_refuses_an_entry_that_is_not_in_grub_cfg_and_writes_nothing(boot, host, value):
    before = (boot / 'grubenv').read_bytes()
    kind, result = run(boot, health='rollback', restore={'next_entry': value, 'saved_entry': K26})
    assert kind == 'fail' and 'restore.next_entry' in result['msg'] and 'matches no entry' in result['msg']
    assert (boot / 'grubenv').read_bytes() == before


def test_restore_refuses_a_variable_it_never_sets(boot, host):
    kind, result = run(boot, health='rollback', restore={'default': '0'})
    assert kind == 'fail' and 'default is not a variable this module sets' in result['msg']


def test_restore_of_null_and_empty_values_needs_no_entry(boot, host):
    kind, result = run(boot, health='rollback', restore={'next_entry': '', 'saved_entry': None})
    assert kind == 'exit', result
    assert env(boot) == {'next_entry': ''}


# -- grub_boot_target_info -------------------------------------------------------------------------

def info(boot, **args):
    params = dict(grubenv=str(boot / 'grubenv'), grub_cfg=str(boot / 'grub.cfg'))
    params.update(args)
    out = run_module(grub_boot_target_info.main, params)
    return out.kind, out.result


def test_info_returns_what_state_query_did(boot, host, monkeypatch):
    monkeypatch.setattr(grub_boot_target_info.os, 'uname', lambda: ('Linux', 'pos', '6.1.0-25-amd64', '#1', 'x86_64'))
    before = (boot / 'grubenv').read_bytes()
    kind, result = info(boot)
    kind_q, queried = run(boot, state='query')
    assert kind == kind_q == 'exit' and not result['changed']
    for key in ('entries', 'default', 'next_boot', 'next_entry', 'saved_entry', 'variables', 'trial', 'env_location'):
        assert result[key] == queried[key], key
    assert (boot / 'grubenv').read_bytes() == before
    assert result['running_kernel'] == {'release': '6.1.0-25-amd64', 'entry': result['default']['entry']}
    assert result['running_kernel']['entry']['target'] == K25
    assert result['kernel_entries'] == {}


def test_info_names_the_entries_of_given_kernels(boot, host):
    kind, result = info(boot, kernels=['6.1.0-26-amd64', '6.1.0-99-amd64'])
    assert kind == 'exit'
    assert result['kernel_entries']['6.1.0-26-amd64']['target'] == K26
    assert result['kernel_entries']['6.1.0-26-amd64']['title_path'] == T26
    assert result['kernel_entries']['6.1.0-99-amd64'] is None


def test_info_without_files_warns_and_reports_nothing(tmp_path, host):
    kind, result = info(tmp_path, kernels=['6.1.0-26-amd64'])
    assert kind == 'exit' and result['entries'] == [] and result['variables'] == {}
    assert result['kernel_entries'] == {'6.1.0-26-amd64': None} and result['running_kernel']['entry'] is None
    assert host.warnings == ['%s does not exist; no menu entries are known' % (tmp_path / 'grub.cfg')]


def test_info_fails_on_a_corrupt_block_naming_the_file(boot, host):
    (boot / 'grubenv').write_bytes(b'x' * 1024)
    kind, result = info(boot)
    assert kind == 'fail' and result['msg'].startswith('grubenv: %s: ' % (boot / 'grubenv'))


def test_kernel_entry_skips_the_top_entry_and_recovery_mode():
    with open(os.path.join(FIXTURES, 'grub.cfg.debian12')) as f:
        text = f.read()
    menu = parse_grub_cfg(text)
    # the top entry boots 6.1.0-26 too, and comes first: it is not the one chosen
    assert menu.entries()[0]['kernel'] == '/boot/vmlinuz-6.1.0-26-amd64'
    assert kernel_entry(menu, '6.1.0-26-amd64')['target'] == K26
    # with the normal entry gone, the recovery entry is not taken in its place
    without = text.replace("menuentry 'Debian GNU/Linux, with Linux 6.1.0-25-amd64' ", "menuentry 'gone' ")
    without = without.replace('linux\t/boot/vmlinuz-6.1.0-25-amd64 root=UUID=%s ro  quiet' % UUID, 'linux\t/boot/other')
    assert kernel_entry(parse_grub_cfg(without), '6.1.0-25-amd64') is None
    # a separate /boot filesystem: kernels at the top of it
    separate = text.replace('/boot/vmlinuz-', '/vmlinuz-')
    assert kernel_entry(parse_grub_cfg(separate), '6.1.0-25-amd64')['target'] == K25
    assert kernel_entry(None, '6.1.0-25-amd64') is None and kernel_entry(menu, '') is None
