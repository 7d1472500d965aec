#!/bin/sh
# Lab store router: forwards between its public side and the store net, and runs charon
# (strongSwan) with the userspace data path. Keeps running charon if it exits.
set -u
mkdir -p /run/strongswan /etc/swanctl/conf.d
trap 'kill $(cat /run/charon.pid 2>/dev/null) 2>/dev/null; exit 0' TERM INT
while :; do
  /usr/sbin/charon-systemd &
  echo $! > /run/charon.pid
  # Load the tunnels kept in swanctl's folder once charon answers.
  for _ in $(seq 1 100); do
    swanctl --stats >/dev/null 2>&1 && { swanctl --load-all --noprompt >/dev/null 2>&1; break; }
    sleep 0.2
  done
  wait "$(cat /run/charon.pid)"
  sleep 1
done
