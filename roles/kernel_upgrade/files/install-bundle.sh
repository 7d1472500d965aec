#!/bin/sh
# Unpack a kernel bundle (make-bundle.sh) into a machine's root mounted at ROOT and record the
# package in its dpkg status, then regenerate its grub.cfg with its own update-grub. Runs in the
# network maintenance environment (and on the build server for its copy of the machine).
#
#   install-bundle.sh ROOT BUNDLE [update-grub|no-update-grub]
# Optional environment: IB_UUID mounts the filesystem with that UUID on ROOT first (and leaves it
# mounted); IB_SHA256 refuses a bundle with another checksum; IB_FAULT=corrupt_initramfs overwrites
# the new initramfs afterwards (fault drills only).
set -eu
root=$1
bundle=$2
mode=${3:-update-grub}
if [ -n "${IB_SHA256:-}" ]; then
  echo "$IB_SHA256  $bundle" | sha256sum -c --quiet - || { echo "$bundle does not have the SHA256 $IB_SHA256" >&2; exit 3; }
  echo "checksum ok $IB_SHA256"
fi
if [ -n "${IB_UUID:-}" ]; then
  dev=$(findfs "UUID=$IB_UUID")
  mkdir -p "$root"
  mountpoint -q "$root" || mount "$dev" "$root"
  echo "mounted $dev on $root"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zstd -q -d -c "$bundle" | tar -C "$tmp" -xf - poscloud
pkg=$(cat "$tmp/poscloud/package")
zstd -q -d -c "$bundle" | tar -C "$root" --exclude=poscloud -xf -
status="$root/var/lib/dpkg/status"
# Drop any earlier record of the package, then append the new one (blank-line separated stanzas).
awk -v pkg="$pkg" 'BEGIN{RS=""; ORS="\n\n"} $0 !~ ("(^|\n)Package: " pkg "(\n|$)")' "$status" >"$status.poscloud-new"
cat "$tmp/poscloud/status" >>"$status.poscloud-new"
printf '\n' >>"$status.poscloud-new"
mv "$status.poscloud-new" "$status"
if [ "$mode" = update-grub ]; then
  for m in proc sys dev; do mount --bind "/$m" "$root/$m"; done
  rc=0
  chroot "$root" update-grub >"$tmp/update-grub.log" 2>&1 || rc=$?
  for m in dev sys proc; do umount "$root/$m"; done
  cat "$tmp/update-grub.log"
  [ "$rc" -eq 0 ] || exit "$rc"
fi
if [ "${IB_FAULT:-}" = corrupt_initramfs ]; then
  kver=$(cat "$tmp/poscloud/version")
  dd if=/dev/urandom of="$root/boot/initrd.img-$kver" bs=64k count=8 conv=fsync 2>/dev/null
  echo "FAULT INJECTED: initrd.img-$kver overwritten with random bytes"
fi
sync
echo "installed $pkg"
