#!/usr/bin/env bash
# Build the network maintenance environment: the machine image's kernel and an initramfs holding a
# trimmed copy of its root (sshd, python3 for Ansible, util-linux and e2fsprogs to write the disk),
# started by a small /init that loads the NIC and disk drivers, configures the address given on
# the kernel command line, writes the netboot marker and runs sshd. Run by the netboot role.
#
#   NB_ROOT_TAR=.../root.tar NB_KVER=6.1.0-50-cloud-amd64 NB_KEYS=/path/authorized_keys
#   NB_ID=<build id> NB_OUT=/var/lib/poscloud-fleet/boot-lab/netboot/<id> NB_WORK=/var/tmp/... build-netboot.sh
set -euo pipefail
: "${NB_ROOT_TAR:?}" "${NB_KVER:?}" "${NB_KEYS:?}" "${NB_ID:?}" "${NB_OUT:?}" "${NB_WORK:?}"

mkdir -p "$NB_WORK" "$NB_OUT"
work=$(mktemp -d "$NB_WORK/netboot.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir "$root"
tar -C "$root" -xf "$NB_ROOT_TAR"
cp "$root/boot/vmlinuz-$NB_KVER" "$work/vmlinuz"

# Trim what a maintenance shell does not need: the kernel files, GRUB, docs, locales, the torture
# tool, the hardware database (no udev runs here), iPXE's images, X11 data, every module but the
# NIC, disk and filesystem drivers. The kernel unpacks the whole initramfs before /init starts, so
# every megabyte left out shortens the boot.
rm -rf "${root:?}"/boot/* "$root"/usr/lib/grub "$root"/usr/share/locale "$root"/usr/share/i18n \
  "$root"/usr/share/grub "$root"/usr/bin/stress-ng "$root"/var/cache/* "$root"/usr/lib/python3.11/test \
  "$root"/usr/share/ipxe "$root"/usr/lib/ipxe "$root"/usr/lib/x86_64-linux-gnu/gconv \
  "$root"/usr/lib/udev/hwdb.bin "$root"/usr/lib/udev/hwdb.d "$root"/etc/udev/hwdb.bin "$root"/usr/share/X11 \
  "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info
mods="$root/lib/modules/$NB_KVER"
keep=$(cd "$mods" && find kernel -name '*.ko*' \( -path '*virtio*' -o -name 'net_failover.ko*' \
  -o -name 'failover.ko*' -o -name 'crc32c*' -o -name 'crc16.ko*' \))
mkdir "$work/keep"
for m in $keep; do install -D -m 0644 "$mods/$m" "$work/keep/$m"; done
rm -rf "$mods/kernel"
mv "$work/keep/kernel" "$mods/kernel"
chroot "$root" depmod "$NB_KVER"

install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$NB_KEYS" "$root/root/.ssh/authorized_keys"
# No SSH host key goes into the initramfs: it is served over TFTP to anyone who asks, so a private
# key in it would be everybody's. /init reads the machine's own key from its disk (see there).
rm -f "$root"/etc/ssh/ssh_host_*
echo "poscloud-netboot" >"$root/etc/hostname"
printf 'POSCLOUD_NETBOOT=1\nPOSCLOUD_NETBOOT_ID=%s\n' "$NB_ID" >"$root/etc/poscloud-netboot"
cat >"$root/init" <<'INIT'
#!/bin/sh
# poscloud.fleet network maintenance environment.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run/sshd /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mkdir -p /run/sshd
echo "poscloud-netboot: starting" >/dev/console
for m in virtio_pci virtio_blk virtio_net; do modprobe "$m"; done
ip=; gw=; machine=; rootdev=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    poscloud.ip=*) ip=${arg#poscloud.ip=};;
    poscloud.gw=*) gw=${arg#poscloud.gw=};;
    poscloud.machine=*) machine=${arg#poscloud.machine=};;
    poscloud.rootdev=*) rootdev=${arg#poscloud.rootdev=};;
  esac
done
hostname poscloud-netboot
ip link set lo up
sleep 1
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip link set "$nic" up
[ -n "$ip" ] && ip addr add "$ip" dev "$nic"
[ -n "$gw" ] && ip route add default via "$gw"
printf 'POSCLOUD_NETBOOT_MACHINE=%s\n' "$machine" >>/etc/poscloud-netboot
# SSH host key: the machine's own, read from its disk (the file system labelled root, or
# poscloud.rootdev=DEVICE), so the environment answers as the machine does and the controller's
# known_hosts entry for the machine holds here too. A disk without one (blank, or unreadable) gets a
# new key made in memory. Either way the fingerprint is printed on the console.
mkdir -p /run/disk /etc/ssh
if mount -o ro,noload "${rootdev:-LABEL=root}" /run/disk 2>/dev/null; then
  for f in ssh_host_ed25519_key ssh_host_ed25519_key.pub; do
    [ -f "/run/disk/etc/ssh/$f" ] && cp "/run/disk/etc/ssh/$f" "/etc/ssh/$f"
  done
  umount /run/disk
fi
if [ ! -s /etc/ssh/ssh_host_ed25519_key ] || [ ! -s /etc/ssh/ssh_host_ed25519_key.pub ]; then
  rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub
  ssh-keygen -q -t ed25519 -N '' -C "poscloud-netboot-$machine" -f /etc/ssh/ssh_host_ed25519_key
  echo "poscloud-netboot: no host key on the disk; made a new one" >/dev/console
fi
chmod 0600 /etc/ssh/ssh_host_ed25519_key
echo "poscloud-netboot: host key $(ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub)" >/dev/console
/usr/sbin/sshd -e
echo "poscloud-netboot: ready on $nic $ip for $machine" >/dev/console
while true; do wait; sleep 5; done
INIT
chmod 0755 "$root/init"

# cpio from the root itself (initramfs-tools brings it), so the build host needs none.
chroot "$root" sh -c 'cd / && find . -xdev -print0 | cpio --null -o -H newc --quiet' | zstd -q -T0 -10 -o "$work/initrd.img"
mv "$work/vmlinuz" "$work/initrd.img" "$NB_OUT/"
date -u +%FT%TZ >"$NB_OUT/done"
