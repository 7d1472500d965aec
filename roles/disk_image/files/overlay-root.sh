# shellcheck shell=bash
# Edit the root filesystem of a boot lab disk image (a qcow2 overlay of the master) on the build
# server. Sourced by this role's make-machine.sh and by kernel_upgrade's apply-to-copy.sh.
#
#   overlay_scratch WORK PREFIX   make the scratch folder $work (WORK/PREFIX.XXXXXX) with the mount
#                                 point $mnt in it; whatever is mounted there and the folder are
#                                 removed when the script exits
#   overlay_mount IMAGE           a sparse raw copy of the qcow2 IMAGE in $work, its ext4 partition
#                                 (at sector 2048) mounted on $mnt through a loop device
#   overlay_write MASTER OUT      unmount it and write OUT as a qcow2 overlay of MASTER: `qemu-img
#                                 convert -B` keeps only the clusters that differ from the master

overlay_scratch() {
  mkdir -p "$1"
  work=$(mktemp -d "$1/$2.XXXXXX")
  mnt="$work/mnt"
  loop=
  trap overlay_cleanup EXIT
  mkdir "$mnt"
}

overlay_cleanup() {
  mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
  [ -n "$loop" ] && losetup -d "$loop"
  rm -rf "$work"
}

overlay_mount() {
  qemu-img convert -q -f qcow2 -O raw "$1" "$work/disk.raw"
  loop=$(losetup -o $((2048 * 512)) --show -f "$work/disk.raw")
  mount "$loop" "$mnt"
}

overlay_write() {
  umount "$mnt"
  losetup -d "$loop"
  loop=
  qemu-img convert -q -f raw -O qcow2 -B "$1" -F qcow2 "$work/disk.raw" "$work/overlay.qcow2"
  mv "$work/overlay.qcow2" "$2"
}
