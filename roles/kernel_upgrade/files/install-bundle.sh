#!/bin/sh
# Unpack a kernel bundle (make-bundle.sh) into a machine's root mounted at ROOT and record the
# package in its dpkg status, then regenerate its grub.cfg with its own update-grub. Runs in the
# network maintenance environment (and on the build server for its copy of the machine).
#
#   install-bundle.sh ROOT BUNDLE [update-grub|no-update-grub]
set -eu
root=$1
bundle=$2
mode=${3:-update-grub}
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
sync
echo "installed $pkg"
