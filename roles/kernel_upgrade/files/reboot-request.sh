#!/bin/sh
# The machine's side of "send request to server to reboot, wait for ack": stop the named services
# cleanly, refuse when one does not stop, and acknowledge with the boot id. Prints one line:
#   ACK <boot id> <UTC time> stopped=<services>        (exit 0)
#   NACK <reason>                                      (exit 1)
set -u
stopped=
for svc in "$@"; do
  if ! systemctl stop "$svc"; then
    echo "NACK $svc did not stop"
    exit 1
  fi
  if systemctl is-active --quiet "$svc"; then
    echo "NACK $svc is still active"
    exit 1
  fi
  stopped="$stopped${stopped:+,}$svc"
done
sync
boot_id=$(cat /proc/sys/kernel/random/boot_id)
mkdir -p /run/poscloud
now=$(date -u +%FT%TZ)
echo "$boot_id $now $stopped" >/run/poscloud/reboot-ack
echo "ACK $boot_id $now stopped=${stopped:-none}"
