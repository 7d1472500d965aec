#!/usr/bin/env bash
# Make one machine's disk image on the build server: a qcow2 overlay of the master holding only
# what differs per machine (hostname, hosts, network, machine-id, SSH host keys, authorized keys).
# The master's ext4 partition is edited through a loop device on a sparse raw copy, and
# `qemu-img convert -B master` keeps only the clusters that differ from the master (overlay-root.sh).
#
#   MI_MASTER=.../master.qcow2 MI_OUT=.../images/<name>.qcow2 MI_HOSTNAME=machine01
#   MI_MAC=52:54:00:.. MI_ADDRESS=10.0.2.15/24 MI_GATEWAY=10.0.2.2 MI_DNS=10.0.2.3
#   MI_KEYS=/path/authorized_keys MI_WORK=/var/tmp/... make-machine.sh
# work (the scratch folder) and mnt (the root being edited) are set by overlay_scratch, from
# overlay-root.sh.
# shellcheck disable=SC2154
set -euo pipefail
: "${MI_MASTER:?}" "${MI_OUT:?}" "${MI_HOSTNAME:?}" "${MI_MAC:?}" "${MI_ADDRESS:?}" "${MI_GATEWAY:?}"
: "${MI_DNS:?}" "${MI_KEYS:?}" "${MI_WORK:?}"

. "$(dirname "$0")/overlay-root.sh"

mkdir -p "$(dirname "$MI_OUT")"
overlay_scratch "$MI_WORK" machine
overlay_mount "$MI_MASTER"

echo "$MI_HOSTNAME" >"$mnt/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$MI_HOSTNAME" >"$mnt/etc/hosts"
rm -f "$mnt/etc/systemd/network/10-lab.network"
cat >"$mnt/etc/systemd/network/10-$MI_HOSTNAME.network" <<NET
# $MI_HOSTNAME, written by poscloud.fleet disk_image
[Match]
MACAddress=$MI_MAC

[Network]
Address=$MI_ADDRESS
Gateway=$MI_GATEWAY
DNS=$MI_DNS
NET
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$mnt/etc/machine-id"
echo >>"$mnt/etc/machine-id"
rm -f "$mnt"/etc/ssh/ssh_host_*
for t in ed25519 rsa; do
  ssh-keygen -q -t "$t" -N '' -C "root@$MI_HOSTNAME" -f "$mnt/etc/ssh/ssh_host_${t}_key"
done
install -d -m 0700 "$mnt/root/.ssh"
install -m 0600 "$MI_KEYS" "$mnt/root/.ssh/authorized_keys"
cp "$mnt/etc/ssh/ssh_host_ed25519_key.pub" "$work/host_key.pub"

overlay_write "$MI_MASTER" "$MI_OUT"
cp "$work/host_key.pub" "${MI_OUT%.qcow2}.host_key.pub"
