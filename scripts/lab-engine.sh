#!/usr/bin/env bash
# The production-shaped lab's cloud hosts: each is a Docker engine of its own on this machine,
# reached from the controller only over SSH with a checked host key, as a cloud host is in
# production (docs/production.md).
#
#   scripts/lab-engine.sh up NAME INDEX   start cloud host NAME (INDEX 1-99 picks its addresses)
#   scripts/lab-engine.sh down NAME       stop it and remove everything it made
#   scripts/lab-engine.sh down-all        stop every lab cloud host
#   scripts/lab-engine.sh status          one line per lab cloud host
#
# A cloud host NAME is:
#  - a dockerd with its own data root (.state/lab/engines/NAME/data), exec root and socket
#    (/run/poscloud-lab/NAME/), pid file and log, and a bridge of its own, pclab-NAME, addressed
#    10.250.INDEX.1/24. It runs with --iptables=false: it writes no firewall rule, and it never
#    touches the first engine's docker0 (a --bridge none engine would delete docker0);
#  - its SSH front: a container on that engine, from the lab base image (copied into the engine
#    with `docker save | docker load`, its image id checked equal on both sides), running sshd
#    at 10.250.INDEX.2 (written to .state/lab/engines/NAME/address) with the engine's socket as
#    /var/run/docker.sock, the host's docker client and the engine's volumes folder at its own path,
#    as root on a cloud host has them (the collection's modules run the client there and read a POS
#    instance's data from its volumes). Its host key is made here
#    and written to .state/lab/engines/NAME/known_hosts; the controller's lab key
#    (.state/lab/id_ed25519) is the only key it accepts. .state/lab/engines/NAME/inventory.yml puts it
#    in the group cloud_hosts for ansible-playbook (-i inventories/lab -i that file).
# A failed `up` of a cloud host that did not exist takes down what it made. `down` leaves no process, socket, bridge, mount or state folder behind, and the first engine and
# its docker0 untouched. Nothing here reaches an address outside this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state=${POSCLOUD_LAB_ENGINES_DIR:-$root/.state/lab/engines}
run=/run/poscloud-lab
image=${POSCLOUD_LAB_ENGINE_IMAGE:-poscloud/lab-base:latest}
key=$root/.state/lab/id_ed25519

die() { echo "lab-engine: $*" >&2; exit 1; }
name_ok() { [[ $1 =~ ^[a-z][a-z0-9_]{0,8}$ ]] || die "NAME '$1' must be 1-9 characters, a-z, 0-9 and _, starting with a letter (the bridge's name, pclab-NAME, must fit 15 characters)"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
engine() { docker -H "unix://$run/$1/docker.sock" "${@:2}"; }
cleanup_name=""
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -n "$cleanup_name" ]; then
    echo "lab-engine: $cleanup_name did not come up; removing what this run made" >&2
    down "$cleanup_name" >/dev/null 2>&1 || true
  fi
}

up() {
  local name=$1 index=$2
  name_ok "$name"
  if ! [[ $index =~ ^[0-9]+$ ]] || [ "$index" -lt 1 ] || [ "$index" -gt 99 ]; then
    die "INDEX '$index' must be a number from 1 to 99"
  fi
  [ -f "$key.pub" ] || die "no lab controller key at $key.pub: run 'make setup'"
  local dir=$state/$name bridge=pclab-$name net=10.250.$index
  local front pid want
  want=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) || die "no $image on the first engine: run 'make test-lab-images' (or playbooks/build_media.yml)"
  # A cloud host this run starts from nothing is taken down again if any later step fails, so a
  # failed `up` leaves nothing behind. One that was already there is left as it was.
  if [ ! -d "$dir" ]; then
    cleanup_name=$name
    trap on_exit EXIT
  fi
  mkdir -p "$dir/data" "$dir/sshd" "$run/$name"
  chmod 0700 "$dir"
  # Another cloud host must not hold these addresses.
  if ip -o -4 addr show | grep -v " $bridge " | grep -q " $net\.1/"; then
    die "INDEX $index: $net.1 is already on another interface; pick another INDEX"
  fi
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$net.1/24" dev "$bridge"
  fi
  ip link set "$bridge" up
  pid=$(cat "$dir/dockerd.pid" 2>/dev/null || true)
  if ! alive "$pid"; then
    rm -f "$dir/dockerd.pid"
    nohup setsid dockerd --data-root "$dir/data" --exec-root "$run/$name/exec" \
      -H "unix://$run/$name/docker.sock" --pidfile "$dir/dockerd.pid" \
      --bridge "$bridge" --iptables=false --ip6tables=false --ip-masq=false \
      >>"$dir/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do engine "$name" info >/dev/null 2>&1 && break; sleep 0.5; done
    engine "$name" info >/dev/null 2>&1 || { tail -20 "$dir/dockerd.log" >&2; die "the engine of $name did not answer within 30 s"; }
  fi
  # The lab base image, copied without a registry, checked by its id.
  local have
  have=$(engine "$name" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  if [ "$have" != "$want" ]; then
    docker save "$image" | engine "$name" load -q >/dev/null
    have=$(engine "$name" image inspect --format '{{.Id}}' "$image")
    [ "$have" = "$want" ] || die "$image arrived on $name as $have, not $want"
  fi
  # The SSH front: its own host key, the controller's key only.
  [ -f "$dir/sshd/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "lab cloud host $name" -f "$dir/sshd/ssh_host_ed25519_key"
  install -m 0600 "$key.pub" "$dir/sshd/authorized_keys"
  cat >"$dir/sshd/sshd_config" <<EOF
Port 22
HostKey /etc/poscloud-sshd/ssh_host_ed25519_key
AuthorizedKeysFile /etc/poscloud-sshd/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  if [ "$(engine "$name" inspect --format '{{.State.Running}}' sshd 2>/dev/null || true)" != true ]; then
    engine "$name" rm -f sshd >/dev/null 2>&1 || true
    engine "$name" run -d --name sshd --restart unless-stopped --network bridge \
      --label poscloud.fleet.role=lab-cloud-host \
      -v "$dir/sshd:/etc/poscloud-sshd:ro" -v "$run/$name/docker.sock:/var/run/docker.sock" \
      -v /usr/bin/docker:/usr/bin/docker:ro -v "$dir/data/volumes:$dir/data/volumes" \
      "$image" sh -c 'mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -f /etc/poscloud-sshd/sshd_config' >/dev/null \
      || die "the SSH front of $name did not start"
  fi
  # The engine's default bridge gives its first container the first free address, .2.
  front=$(engine "$name" inspect --format '{{.NetworkSettings.IPAddress}}' sshd)
  echo "$front" >"$dir/address"
  printf '%s %s\n' "$front" "$(cut -d' ' -f1,2 "$dir/sshd/ssh_host_ed25519_key.pub")" >"$dir/known_hosts"
  inventory "$name" "$front" >"$dir/inventory.yml"
  for _ in $(seq 1 40); do
    ssh -q -i "$key" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$dir/known_hosts" \
      -o ConnectTimeout=2 "root@$front" true 2>/dev/null && { cleanup_name=""; echo "lab-engine: $name up: ssh root@$front (engine $run/$name/docker.sock)"; return 0; }
    sleep 0.5
  done
  engine "$name" logs --tail 20 sshd >&2 || true
  die "the SSH front of $name at $front does not answer"
}

# An inventory fragment with the cloud host in the group cloud_hosts, reached over SSH with its
# recorded host key and the lab key; give it to ansible-playbook beside inventories/lab.
inventory() {
  local name=$1 front=$2 dir=$state/$1
  cat <<EOF
# Written by scripts/lab-engine.sh up $name: the lab cloud host $name, reached over SSH only.
all:
  children:
    cloud_hosts:
      hosts:
        $name:
          ansible_host: $front
          ansible_connection: ssh
          ansible_user: root
          ansible_ssh_private_key_file: $key
          ansible_host_key_checking: true
          ansible_ssh_common_args: -o UserKnownHostsFile=$dir/known_hosts -o StrictHostKeyChecking=yes
          ansible_python_interpreter: /usr/bin/python3
EOF
}

down() {
  local name=$1 dir pid
  name_ok "$name"
  dir=$state/$name
  pid=$(cat "$dir/dockerd.pid" 2>/dev/null || true)
  if alive "$pid"; then
    # Containers first (a clean stop), then the engine; it takes its containerd with it.
    engine "$name" ps -aq 2>/dev/null | xargs -r docker -H "unix://$run/$name/docker.sock" rm -f >/dev/null 2>&1 || true
    kill "$pid"
    for _ in $(seq 1 60); do alive "$pid" || break; sleep 0.5; done
    alive "$pid" && { kill -9 "$pid"; sleep 1; }
  fi
  # What a killed engine may leave: its mounts and its exec root.
  grep -oE " ($run/$name|$dir)/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  ip link show "pclab-$name" >/dev/null 2>&1 && ip link delete "pclab-$name"
  rm -rf "${run:?}/$name" "${dir:?}"
  rmdir "$run" "$state" 2>/dev/null || true
  echo "lab-engine: $name down"
}

known() { ls "$state" 2>/dev/null || true; }

case "${1:-}" in
  up) [ $# -eq 3 ] || die "usage: $0 up NAME INDEX"; up "$2" "$3" ;;
  down) [ $# -eq 2 ] || die "usage: $0 down NAME"; down "$2" ;;
  down-all) for n in $(known); do down "$n"; done ;;
  status)
    for n in $(known); do
      pid=$(cat "$state/$n/dockerd.pid" 2>/dev/null || true)
      if alive "$pid"; then echo "$n up (dockerd $pid)"; else echo "$n down"; fi
    done ;;
  *) die "usage: $0 up NAME INDEX | down NAME | down-all | status" ;;
esac
