#!/bin/sh
# Lab store router: forwards between its public side and the store net, and runs charon
# (strongSwan) with the userspace data path. Keeps running charon if it exits.
set -u
mkdir -p /run/strongswan /etc/swanctl/conf.d
trap 'kill $(cat /run/charon.pid 2>/dev/null) 2>/dev/null; exit 0' TERM INT
while :; do
  /usr/sbin/charon-systemd &
  echo $! > /run/charon.pid
  wait $!
  sleep 1
done
