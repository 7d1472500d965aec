#!/usr/bin/env bash
# Apply a kernel bundle to the build server's copy of a machine (a qcow2 overlay of its master):
# snapshot it first (the copy as it was is kept beside it, under snapshots/<machine>/<name>.qcow2), unpack the bundle into the copy's root through a loop device on
# a raw scratch copy, put the machine's own boot configuration in place (grub.cfg and grubenv, so
# the copy boots what the machine boots, and /etc/default/grub with /etc/grub.d, so an update-grub
# on the copy makes the machine's menu, the network environment's entry included), and write the
# overlay back.
#
#   AC_COPY=.../images/<m>.qcow2 AC_MASTER=.../master.qcow2 AC_BUNDLE=...
#   AC_BOOT_FILES=file (base64 of a gzip tar of boot/grub/grub.cfg, boot/grub/grubenv, etc/default/grub
#   and etc/grub.d, relative to the machine's /) AC_SNAPSHOT=name AC_INSTALLER=install-bundle.sh
#   AC_WORK=... apply-to-copy.sh
# work (the scratch folder) and mnt (the root being edited) are set by overlay_scratch, from
# ../../disk_image/files/overlay-root.sh.
# shellcheck disable=SC2154
set -euo pipefail
: "${AC_COPY:?}" "${AC_MASTER:?}" "${AC_BUNDLE:?}" "${AC_BOOT_FILES:?}" "${AC_SNAPSHOT:?}"
: "${AC_INSTALLER:?}" "${AC_WORK:?}"
# The copy is opened and written back with the functions of the disk_image role, which made it.
. "$(dirname "$0")/../../disk_image/files/overlay-root.sh"
overlay_scratch "$AC_WORK" copy
# The machine's files are unpacked aside first: only regular files and folders, under the four
# paths, go into the copy.
boot="$work/boot-files"
mkdir "$boot"
base64 -d "$AC_BOOT_FILES" | tar -C "$boot" -xzf - --no-same-owner
odd=$(cd "$boot" && find . -mindepth 1 ! -type f ! -type d | head -n 3)
[ -z "$odd" ] || { echo "the machine's boot files hold something other than files and folders: $odd" >&2; exit 1; }
for f in boot/grub/grub.cfg boot/grub/grubenv etc/default/grub; do
  [ -f "$boot/$f" ] || { echo "the machine's boot files lack $f" >&2; exit 1; }
done
[ -d "$boot/etc/grub.d" ] || { echo "the machine's boot files lack etc/grub.d" >&2; exit 1; }
snapdir="$(dirname "$AC_COPY")/snapshots/$(basename "$AC_COPY" .qcow2)"
mkdir -p "$snapdir"
cp --sparse=always "$AC_COPY" "$snapdir/$AC_SNAPSHOT.qcow2"
echo "snapshot $snapdir/$AC_SNAPSHOT.qcow2"
overlay_mount "$AC_COPY"
sh "$AC_INSTALLER" "$mnt" "$AC_BUNDLE" no-update-grub
install -m 0644 "$boot/boot/grub/grub.cfg" "$mnt/boot/grub/grub.cfg"
install -m 0644 "$boot/boot/grub/grubenv" "$mnt/boot/grub/grubenv"
install -m 0644 "$boot/etc/default/grub" "$mnt/etc/default/grub"
rm -rf "$mnt/etc/grub.d.new"
cp -r --preserve=mode,timestamps "$boot/etc/grub.d" "$mnt/etc/grub.d.new"
chown -R 0:0 "$mnt/etc/grub.d.new"
rm -rf "$mnt/etc/grub.d"
mv "$mnt/etc/grub.d.new" "$mnt/etc/grub.d"
ls "$mnt/boot"
overlay_write "$AC_MASTER" "$AC_COPY"
echo "updated $AC_COPY"
