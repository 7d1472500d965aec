#!/usr/bin/env bash
# Apply a kernel bundle to the build server's copy of a machine (a qcow2 overlay of its master):
# snapshot it first (the copy as it was is kept beside it, under snapshots/<machine>/<name>.qcow2), unpack the bundle into the copy's root through a loop device on
# a raw scratch copy, put the machine's own grub.cfg and grubenv in place (so the copy boots what
# the machine boots), and write the overlay back.
#
#   AC_COPY=.../images/<m>.qcow2 AC_MASTER=.../master.qcow2 AC_BUNDLE=... AC_GRUB_CFG=file AC_GRUBENV=file
#   AC_SNAPSHOT=name AC_INSTALLER=install-bundle.sh AC_WORK=... apply-to-copy.sh
set -euo pipefail
: "${AC_COPY:?}" "${AC_MASTER:?}" "${AC_BUNDLE:?}" "${AC_GRUB_CFG:?}" "${AC_GRUBENV:?}" "${AC_SNAPSHOT:?}"
: "${AC_INSTALLER:?}" "${AC_WORK:?}"
mkdir -p "$AC_WORK"
work=$(mktemp -d "$AC_WORK/copy.XXXXXX")
mnt="$work/mnt"
loop=
cleanup() {
  mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
  [ -n "$loop" ] && losetup -d "$loop"
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$mnt"
snapdir="$(dirname "$AC_COPY")/snapshots/$(basename "$AC_COPY" .qcow2)"
mkdir -p "$snapdir"
cp --sparse=always "$AC_COPY" "$snapdir/$AC_SNAPSHOT.qcow2"
echo "snapshot $snapdir/$AC_SNAPSHOT.qcow2"
qemu-img convert -q -f qcow2 -O raw "$AC_COPY" "$work/disk.raw"
loop=$(losetup -o $((2048 * 512)) --show -f "$work/disk.raw")
mount "$loop" "$mnt"
sh "$AC_INSTALLER" "$mnt" "$AC_BUNDLE" no-update-grub
install -m 0644 "$AC_GRUB_CFG" "$mnt/boot/grub/grub.cfg"
install -m 0644 "$AC_GRUBENV" "$mnt/boot/grub/grubenv"
ls "$mnt/boot"
umount "$mnt"
losetup -d "$loop"
loop=
qemu-img convert -q -f raw -O qcow2 -B "$AC_MASTER" -F qcow2 "$work/disk.raw" "$work/new.qcow2"
mv "$work/new.qcow2" "$AC_COPY"
echo "updated $AC_COPY"
