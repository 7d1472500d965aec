#!/usr/bin/env bash
# The build server's copy of a machine (a qcow2 overlay of its master) opened for a release and
# closed again:
#   copy-release.sh open   mount a raw scratch copy of it, after a snapshot (snapshots/<machine>/<name>.qcow2)
#   copy-release.sh close  write the scratch copy back as the overlay (one rename) and print its SHA-256
#   copy-release.sh abort  drop the scratch copy; the copy stays as it was
# Environment: CR_COPY=.../images/<machine>.qcow2 CR_MASTER=<its master qcow2> CR_WORK=<scratch
# folder> CR_SNAPSHOT=<snapshot name> (open only).
# The copy itself changes only in close's final rename: a run that dies before leaves it whole, and
# the next open clears what the dead run left in CR_WORK.
set -euo pipefail
: "${CR_COPY:?}" "${CR_WORK:?}"
action=${1:?open, close or abort}
name=$(basename "$CR_COPY" .qcow2)
raw="$CR_WORK/$name.release.raw"
mnt="$CR_WORK/$name.release.mnt"
loopfile="$CR_WORK/$name.release.loop"

clear_scratch() {
  if mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt"; fi
  if [ -s "$loopfile" ]; then losetup -d "$(cat "$loopfile")" 2>/dev/null || true; fi
  rm -f "$loopfile" "$raw" "$CR_WORK/$name.release.qcow2"
  rmdir "$mnt" 2>/dev/null || true
}

case "$action" in
  open)
    : "${CR_SNAPSHOT:?}"
    mkdir -p "$CR_WORK"
    clear_scratch
    snapdir="$(dirname "$CR_COPY")/snapshots/$name"
    mkdir -p "$snapdir"
    cp --sparse=always "$CR_COPY" "$snapdir/$CR_SNAPSHOT.qcow2"
    echo "snapshot $snapdir/$CR_SNAPSHOT.qcow2"
    qemu-img convert -q -f qcow2 -O raw "$CR_COPY" "$raw"
    losetup -o $((2048 * 512)) --show -f "$raw" > "$loopfile"
    mkdir -p "$mnt"
    mount "$(cat "$loopfile")" "$mnt"
    echo "root $mnt"
    ;;
  close)
    : "${CR_MASTER:?}"
    umount "$mnt"
    losetup -d "$(cat "$loopfile")"
    rm -f "$loopfile"
    qemu-img convert -q -f raw -O qcow2 -B "$CR_MASTER" -F qcow2 "$raw" "$CR_WORK/$name.release.qcow2"
    sync "$CR_WORK/$name.release.qcow2"
    mv "$CR_WORK/$name.release.qcow2" "$CR_COPY"
    clear_scratch
    echo "sha256 $(sha256sum "$CR_COPY" | cut -d' ' -f1)"
    ;;
  abort)
    clear_scratch
    echo "left $CR_COPY as it was"
    ;;
  *)
    echo "copy-release.sh: open, close or abort, not $action" >&2
    exit 2
    ;;
esac
