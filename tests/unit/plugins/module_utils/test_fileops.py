"""fileops.atomic_write: exact mode and owner, fsync of file and folder, writes through symlinks, and a
failed write that leaves the old file as it was."""
import os
import stat

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import fileops
from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_write

OTHER_UID = 54321
OTHER_GID = 54322


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def left_over(folder):
    """Everything in ``folder`` but the files a test made on purpose: temporary files a write left."""
    return sorted(name for name in os.listdir(str(folder)) if name.startswith('.'))


def need_root():
    if os.geteuid() != 0:
        pytest.fail('giving a file to another user needs root: run the unit tests as root')


def test_a_new_file_gets_the_data_and_the_mode(tmp_path):
    path = tmp_path / 'sub' / 'new.txt'
    atomic_write(None, str(path), 'caf\u00e9\n', 0o640)
    assert path.read_bytes() == u'caf\u00e9\n'.encode('utf-8')
    assert mode_of(path) == 0o640
    assert left_over(path.parent) == []


@pytest.mark.parametrize('old, new', [(0o644, 0o600), (0o600, 0o644), (0o755, 0o640), (0o644, 0o2750)])
def test_replacing_a_file_gives_it_the_mode_asked_for(tmp_path, old, new):
    path = tmp_path / 'file'
    path.write_bytes(b'old')
    os.chmod(str(path), old)
    atomic_write(None, str(path), b'new', new)
    assert path.read_bytes() == b'new'
    assert mode_of(path) == new


def test_a_mode_of_none_keeps_the_mode_of_the_file_it_replaces_and_gives_a_new_file_0644(tmp_path):
    path = tmp_path / 'file'
    atomic_write(None, str(path), b'one', None)
    assert mode_of(path) == 0o644
    os.chmod(str(path), 0o604)
    atomic_write(None, str(path), b'two', None)
    assert path.read_bytes() == b'two' and mode_of(path) == 0o604


def test_owner_and_group_are_applied_as_asked(tmp_path):
    need_root()
    path = tmp_path / 'owned'
    path.write_bytes(b'old')
    atomic_write(None, str(path), b'new', 0o600, owner=OTHER_UID, group=str(OTHER_GID))
    st = os.stat(str(path))
    assert (st.st_uid, st.st_gid) == (OTHER_UID, OTHER_GID)
    assert stat.S_IMODE(st.st_mode) == 0o600


def test_owner_and_group_by_name(tmp_path):
    need_root()
    import grp
    import pwd
    user = pwd.getpwnam('nobody')
    group = grp.getgrgid(user.pw_gid).gr_name
    path = tmp_path / 'owned'
    atomic_write(None, str(path), b'x', 0o640, owner='nobody', group=group)
    st = os.stat(str(path))
    assert (st.st_uid, st.st_gid) == (user.pw_uid, user.pw_gid)


def test_a_replaced_file_keeps_its_owner_when_none_is_asked(tmp_path):
    need_root()
    path = tmp_path / 'owned'
    path.write_bytes(b'old')
    os.chown(str(path), OTHER_UID, OTHER_GID)
    atomic_write(None, str(path), b'new', 0o644)
    st = os.stat(str(path))
    assert (st.st_uid, st.st_gid) == (OTHER_UID, OTHER_GID)


@pytest.mark.parametrize('field, value', [('owner', 'no-such-user-xq'), ('group', 'no-such-group-xq'),
                                          ('owner', -1), ('group', True)])
def test_an_unknown_owner_or_group_is_refused_before_anything_is_written(tmp_path, field, value):
    path = tmp_path / 'file'
    path.write_bytes(b'old')
    os.chmod(str(path), 0o644)
    with pytest.raises(ValueError) as e:
        atomic_write(None, str(path), b'new', 0o600, **{field: value})
    assert str(e.value).startswith('%s: ' % field)
    assert path.read_bytes() == b'old' and mode_of(path) == 0o644
    assert left_over(tmp_path) == []


def test_a_write_through_a_symlink_changes_the_target_and_the_link_stays(tmp_path):
    efi = tmp_path / 'efi' / 'EFI' / 'centos'
    efi.mkdir(parents=True)
    target = efi / 'grubenv'
    target.write_bytes(b'old')
    os.chmod(str(target), 0o644)
    grub = tmp_path / 'grub2'
    grub.mkdir()
    link = grub / 'grubenv'
    os.symlink('../efi/EFI/centos/grubenv', str(link))
    written = atomic_write(None, str(link), b'new', 0o600)
    assert os.path.islink(str(link)) and os.readlink(str(link)) == '../efi/EFI/centos/grubenv'
    assert target.read_bytes() == b'new' and mode_of(target) == 0o600
    assert written == str(target)
    assert left_over(efi) == [] and left_over(grub) == []


def test_a_chain_of_symlinks_is_followed_to_the_end(tmp_path):
    target = tmp_path / 'real'
    target.write_bytes(b'old')
    os.symlink('real', str(tmp_path / 'one'))
    os.symlink('one', str(tmp_path / 'two'))
    atomic_write(None, str(tmp_path / 'two'), b'new', 0o644)
    assert os.path.islink(str(tmp_path / 'two')) and os.path.islink(str(tmp_path / 'one'))
    assert target.read_bytes() == b'new'


def test_a_dangling_symlink_creates_its_target(tmp_path):
    os.symlink('missing', str(tmp_path / 'link'))
    atomic_write(None, str(tmp_path / 'link'), b'new', 0o644)
    assert os.path.islink(str(tmp_path / 'link'))
    assert (tmp_path / 'missing').read_bytes() == b'new'


def test_the_file_and_its_folder_are_synced(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        st = os.fstat(fd)
        synced.append((st.st_dev, st.st_ino))
        return real_fsync(fd)
    monkeypatch.setattr(fileops.os, 'fsync', fsync)
    path = tmp_path / 'file'
    atomic_write(None, str(path), b'data', 0o644)
    file_st, folder_st = os.stat(str(path)), os.stat(str(tmp_path))
    assert (file_st.st_dev, file_st.st_ino) in synced
    assert (folder_st.st_dev, folder_st.st_ino) in synced
    # the data reaches the disk before the rename makes it visible, the folder after
    assert synced.index((file_st.st_dev, file_st.st_ino)) < synced.index((folder_st.st_dev, folder_st.st_ino))


def test_a_failed_rename_leaves_no_temporary_file_and_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / 'file'
    path.write_bytes(b'old')
    os.chmod(str(path), 0o644)

    def rename(src, dst):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(fileops.os, 'rename', rename)
    monkeypatch.setattr(fileops.os, 'replace', rename)
    with pytest.raises(OSError):
        atomic_write(None, str(path), b'new', 0o600)
    assert path.read_bytes() == b'old' and mode_of(path) == 0o644
    assert left_over(tmp_path) == []


def test_a_failed_write_leaves_no_temporary_file_and_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / 'file'
    path.write_bytes(b'old')

    def fsync(fd):
        raise OSError(5, 'Input/output error')
    monkeypatch.setattr(fileops.os, 'fsync', fsync)
    with pytest.raises(OSError):
        atomic_write(None, str(path), b'new', 0o644)
    assert path.read_bytes() == b'old'
    assert left_over(tmp_path) == []


def test_remove_file_says_whether_there_was_one(tmp_path):
    path = tmp_path / 'f'
    path.write_text('x')
    assert fileops.remove_file(str(path)) is True
    assert not path.exists()
    assert fileops.remove_file(str(path)) is False
    link = tmp_path / 'link'
    link.symlink_to(tmp_path / 'missing')
    assert fileops.remove_file(str(link)) is True and not os.path.lexists(str(link))


def test_remove_file_raises_other_errors(tmp_path):
    (tmp_path / 'folder').mkdir()
    with pytest.raises(OSError):
        fileops.remove_file(str(tmp_path / 'folder'))
    (tmp_path / 'file').write_text('x')
    with pytest.raises(OSError):
        fileops.remove_file(str(tmp_path / 'file' / 'child'))
