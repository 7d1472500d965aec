#!/usr/bin/env bash
# IPsec benchmark, in the lab, for store 12345678's two tunnels (the lab must be up: lab.yml, a staged
# and started POS instance):
#  - vpn.yml create from both tunnels down to both CHILD_SAs installed;
#  - vpn.yml create again, a no-op re-apply (changed=0);
#  - both again with ipsec_vpn_container (the call runs on the store's host and reaches the instance
#    with docker exec, the shape of a cloud host reached over SSH);
#  - beside them: Ansible's own floor here (ansible-playbook of a play with no task, same inventory),
#    swanctl's own initiate time, and the figures of the role before it made one call.
# Each figure is the median of BENCH_REPEAT runs (default 3) with their range.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
store=store_12345678
pos=pos_12345678
repeat=${BENCH_REPEAT:-3}
log=/tmp/poscloud-bench-vpn.log
docker exec "$pos" swanctl --stats >/dev/null 2>&1 || { echo "bench/vpn.sh: start the lab first (lab.yml, stage_pos.yml, pos_start.yml)" >&2; exit 1; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }
timed() { local s e; s=$(date +%s%N); "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }; e=$(date +%s%N); secs $((e - s)); }
down() { for t in phonehome backoffice; do docker exec "$pos" swanctl --terminate --ike "$t" --timeout 10 >/dev/null 2>&1 || true; done; }
noop_checked() { grep -q "$store.*changed=0 " "$log" || { echo "the re-apply was not a no-op:" >&2; cat "$log" >&2; exit 1; }; }
# "median (min-max)" of the numbers given
fig() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f (%.2f-%.2f)", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

play=$(mktemp /tmp/poscloud-bench-vpn-XXXXXX.yml)
trap 'rm -f "$play"' EXIT
printf -- '- hosts: %s\n  gather_facts: false\n  tasks: []\n' "$store" >"$play"

ansible-playbook playbooks/vpn.yml -l "$store" -e vpn_action=create >/dev/null
up=() noop=() cup=() cnoop=() floor=() raw=()
for _run in $(seq 1 "$repeat"); do
  down
  up+=("$(timed ansible-playbook playbooks/vpn.yml -l "$store" -e vpn_action=create)")
  noop+=("$(timed ansible-playbook playbooks/vpn.yml -l "$store" -e vpn_action=create)")
  noop_checked
  down
  cup+=("$(timed ansible-playbook playbooks/vpn.yml -l "$store" -e vpn_action=create -e ipsec_vpn_container=$pos)")
  cnoop+=("$(timed ansible-playbook playbooks/vpn.yml -l "$store" -e vpn_action=create -e ipsec_vpn_container=$pos)")
  noop_checked
  floor+=("$(timed ansible-playbook "$play")")
  docker exec "$pos" swanctl --terminate --ike phonehome --timeout 10 >/dev/null 2>&1 || true
  raw+=("$(timed docker exec "$pos" swanctl --initiate --child phonehome --timeout 20)")
done
ansible-playbook playbooks/vpn.yml -l "$store" -e vpn_action=create >/dev/null

echo
echo "IPsec benchmark (store 12345678, 2 tunnels, userspace data path, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo "Each figure: median of $repeat runs (range). Before: the role of separate tasks (install check, charon"
echo "settings templates, handler, wait for charon, data path probe, one task per tunnel, status)."
printf '%-58s %8s %18s %18s %8s\n' "seconds" "before" "now" "with container" "target"
printf '%-58s %8s %18s %18s %8s\n' "vpn.yml create: both tunnels down to CHILD_SAs installed" "6.9" "$(fig "${up[@]}")" "$(fig "${cup[@]}")" "3"
printf '%-58s %8s %18s %18s %8s\n' "vpn.yml create again: no-op re-apply (changed=0)" "7.1" "$(fig "${noop[@]}")" "$(fig "${cnoop[@]}")" "1.5"
printf '%-58s %8s %18s\n' "ansible-playbook of a play with no task (Ansible's floor)" "" "$(fig "${floor[@]}")"
printf '%-58s %8s %18s\n' "swanctl --initiate of one tunnel alone (no Ansible)" "" "$(fig "${raw[@]}")"
