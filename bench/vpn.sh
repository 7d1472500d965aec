#!/usr/bin/env bash
# IPsec benchmark, in the lab, for store 12345678's tunnels (the lab must be up: lab.yml, a staged
# and started POS instance):
#  - time from state started (vpn.yml create, tunnels torn down first) to the CHILD_SAs installed;
#  - time of a no-op re-apply (vpn.yml create again, changed=0);
#  - beside them, the module alone for one tunnel: swanctl's own initiate time.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
store=store_12345678
pos=pos_12345678
docker exec "$pos" swanctl --stats >/dev/null 2>&1 || { echo "bench/vpn.sh: start the lab first (lab.yml, stage_pos.yml, pos_start.yml)" >&2; exit 1; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }
timed() { local s e; s=$(date +%s%N); "$@" >/tmp/poscloud-bench-vpn.log 2>&1 || { cat /tmp/poscloud-bench-vpn.log; exit 1; }; e=$(date +%s%N); ms $((e - s)); }

ansible-playbook playbooks/vpn.yml -l "$store" -e vpn_action=create >/dev/null
for t in phonehome backoffice; do docker exec "$pos" swanctl --terminate --ike "$t" --timeout 10 >/dev/null 2>&1 || true; done
up=$(timed ansible-playbook playbooks/vpn.yml -l "$store" -e vpn_action=create)
noop=$(timed ansible-playbook playbooks/vpn.yml -l "$store" -e vpn_action=create)
grep -q 'changed=0' /tmp/poscloud-bench-vpn.log || { echo "the re-apply was not a no-op" >&2; exit 1; }
docker exec "$pos" swanctl --terminate --ike phonehome --timeout 10 >/dev/null 2>&1 || true
raw=$(timed docker exec "$pos" swanctl --initiate --child phonehome --timeout 20)
echo
echo "IPsec benchmark (store 12345678, userspace data path, $(nproc) cores)"
printf '%-66s %8s\n' "" "seconds"
printf '%-66s %8s\n' "vpn.yml create: 2 tunnels from down to CHILD_SAs installed" "$up"
printf '%-66s %8s\n' "vpn.yml create again: no-op re-apply (changed=0)" "$noop"
printf '%-66s %8s\n' "swanctl --initiate of one tunnel alone (no Ansible), for comparison" "$raw"
