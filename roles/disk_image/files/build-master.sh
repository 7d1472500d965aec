#!/usr/bin/env bash
# Build the boot lab's master disk image: a debootstrap root with a Debian kernel and initramfs on an
# ext4 partition of an MBR disk, GRUB for BIOS (i386-pc) in the MBR gap, grub.cfg made by Debian's own
# grub-mkconfig, fstab by UUID and a serial console. Also leaves the root tree behind for the netboot
# role. Run by the disk_image role; every input comes from the environment (see the role's defaults).
#
#   DI_OUT=/var/lib/poscloud-fleet/boot-lab/master/<hash>  DI_MIRROR=...  DI_SUITE=bookworm
#   DI_KERNEL=linux-image-6.1.0-50-cloud-amd64  DI_PACKAGES="a b c"  DI_CACHE=/var/cache/...debs
#   DI_SIZE_MIB=2048  DI_ROOT_UUID=<uuid>  DI_WORK=/var/tmp/...  build-master.sh
#
# Writes $DI_OUT/master.qcow2, $DI_OUT/root.tar (the configured root, for netboot and for the
# build server's copies), $DI_OUT/kernel-version and $DI_OUT/build.log, and $DI_OUT/done last.
set -euo pipefail

: "${DI_OUT:?}" "${DI_MIRROR:?}" "${DI_SUITE:?}" "${DI_KERNEL:?}" "${DI_PACKAGES:?}" "${DI_CACHE:?}"
: "${DI_SIZE_MIB:?}" "${DI_ROOT_UUID:?}" "${DI_WORK:?}" "${DI_CMDLINE:=console=ttyS0,115200n8}"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

mkdir -p "$DI_OUT" "$DI_CACHE" "$DI_WORK"
work=$(mktemp -d "$DI_WORK/master.XXXXXX")
root="$work/root"
cleanup() {
  for m in dev/pts dev proc sys; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

log "debootstrap $DI_SUITE with $DI_KERNEL"
include="$DI_KERNEL,$(echo "$DI_PACKAGES" | tr ' ' ',')"
debootstrap --variant=minbase --cache-dir="$DI_CACHE" --include="$include" \
  --keyring=/usr/share/keyrings/debian-archive-keyring.gpg "$DI_SUITE" "$root" "$DI_MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

kver=$(basename "$(ls -d "$root"/lib/modules/*)")
if [ ! -f "$root/boot/vmlinuz-$kver" ] || [ ! -f "$root/boot/initrd.img-$kver" ]; then log "no kernel or initrd in the root"; exit 1; fi
log "kernel $kver"

log "configure the root"
echo "localhost" >"$root/etc/hostname"
printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$DI_ROOT_UUID" >"$root/etc/fstab"
: >"$root/etc/machine-id"
rm -f "$root"/etc/ssh/ssh_host_*
install -d -m 0700 "$root/root/.ssh"
# Machine-specific files (hostname, network, host keys, authorized keys) are written into each
# machine's overlay by the role; the master only carries the defaults.
cat >"$root/etc/systemd/network/10-lab.network" <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1
chroot "$root" systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 || true
# A machine without host keys cannot be reached: make them at boot when missing.
cat >"$root/etc/systemd/system/poscloud-ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Create missing SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable poscloud-ssh-hostkeys.service >/dev/null 2>&1
cat >"$root/etc/default/grub" <<GRUB
# Written by poscloud.fleet disk_image. GRUB_DEFAULT=saved lets the environment block choose the
# default (poscloud.fleet.grub_boot_target); the serial console carries the boot evidence.
GRUB_DEFAULT=saved
GRUB_TIMEOUT=1
GRUB_TIMEOUT_STYLE=menu
GRUB_DISTRIBUTOR=\`lsb_release -i -s 2> /dev/null || echo Debian\`
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="$DI_CMDLINE"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB_DISABLE_RECOVERY=true
GRUB
# Debian's ipxe package adds a generic "Network boot (iPXE)" entry; the netboot role adds its own.
rm -f "$root/etc/grub.d/20_ipxe"

log "grub modules and grub.cfg"
install -d "$root/boot/grub/i386-pc"
cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst "$root/boot/grub/i386-pc/"
chroot "$root" grub-editenv /boot/grub/grubenv create
# grub-mkconfig asks grub-probe about the device holding /; in this chroot that is the build host's
# disk, so answer for the disk being built instead, just for this run.
mv "$root/usr/sbin/grub-probe" "$root/usr/sbin/grub-probe.real"
cat >"$root/usr/sbin/grub-probe" <<PROBE
#!/bin/sh
for a in "\$@"; do case "\$a" in --target=*) t=\${a#--target=};; esac; done
case "\$t" in
  device) echo /dev/vda1;; fs) echo ext2;; fs_uuid) echo $DI_ROOT_UUID;; partmap) echo msdos;;
  abstraction) echo;; drive) echo '(hd0,msdos1)';; compatibility_hint) echo 'hd0,msdos1';;
  hints_string) echo '--hint-bios=hd0,msdos1 --hint=hd0,msdos1';; partuuid) echo;; disk) echo /dev/vda;;
  *) echo "fake grub-probe: unknown target \$t" >&2; exit 1;;
esac
PROBE
chmod 0755 "$root/usr/sbin/grub-probe"
for m in proc sys dev; do mount --bind "/$m" "$root/$m"; done
chroot "$root" grub-mkconfig -o /boot/grub/grub.cfg >>"$work/debootstrap.log" 2>&1
for m in dev proc sys; do umount -l "$root/$m"; done
mv "$root/usr/sbin/grub-probe.real" "$root/usr/sbin/grub-probe"
grep -q "save_env next_entry" "$root/boot/grub/grub.cfg" || { log "grub.cfg lacks the one-time boot code"; exit 1; }
chroot "$root" grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -o /boot/grub/i386-pc/core.img \
  -p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2
cp "$root/usr/lib/grub/i386-pc/boot.img" "$root/boot/grub/i386-pc/boot.img"

log "clean"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
echo "$kver" >"$work/kernel-version"

log "disk image ${DI_SIZE_MIB} MiB"
raw="$work/disk.raw"
truncate -s "${DI_SIZE_MIB}M" "$raw"
echo 'label: dos
start=2048, type=83, bootable' | sfdisk -q "$raw"
part_kib=$(( (DI_SIZE_MIB - 1) * 1024 ))
mke2fs -q -t ext4 -L root -U "$DI_ROOT_UUID" -d "$root" -E offset=$((2048 * 512)) "$raw" "${part_kib}k"
# GRUB for BIOS, as grub-install would lay it out: boot.img in the MBR code area (the partition
# table stays), core.img in the gap before the first partition. Both defaults (core at sector 1,
# the rest of core at sector 2) match this layout, so no blocklist patching is needed.
core="$root/boot/grub/i386-pc/core.img"
[ "$(stat -c %s "$core")" -lt $(( 2047 * 512 )) ] || { log "core.img does not fit the MBR gap"; exit 1; }
dd if="$root/boot/grub/i386-pc/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
dd if="$core" of="$raw" bs=512 seek=1 conv=notrunc status=none

log "root tree and qcow2"
tar -C "$root" --numeric-owner -cf "$work/root.tar" .
qemu-img convert -q -f raw -O qcow2 "$raw" "$work/master.qcow2"
mv "$work/master.qcow2" "$work/root.tar" "$work/kernel-version" "$DI_OUT/"
cp "$work/debootstrap.log" "$DI_OUT/build.log"
date -u +%FT%TZ >"$DI_OUT/done"
log "done: $DI_OUT"
