#!/usr/bin/env bash
# Staging benchmark: time to stage the demo profile for a store, from OS media already built,
# beside the 41m46s the hand-run menu took (seed walkthrough), and the no-op re-run.
# Uses a store of its own (99999998), removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
inv=$(mktemp -d)
trap 'ansible-playbook -i "$inv/hosts.yml" playbooks/purge.yml -e pos_instance_purge_confirm=99999998 -e pos_instance_delete_data_confirm=99999998 >/dev/null 2>&1 || true; rm -rf "$inv"' EXIT
cat >"$inv/hosts.yml" <<YAML
all:
  children:
    stores:
      hosts:
        store_99999998:
          ansible_connection: local
          ansible_python_interpreter: $PWD/.venv/bin/python
          store_id: "99999998"
          store_app_profile: demo
          store_cloud_net: 192.168.228.0/24
          store_pos_ip: 192.168.228.222
          poscloud_reports_dir: /var/tmp/poscloud-fleet/bench/reports
          pos_stage_build_media: false
          pos_stage_support_users:
            - name: posadmin
              ssh_keys: ["$(cat .state/lab/id_ed25519.pub)"]
              sudo: true
YAML
docker image inspect poscloud/media:latest >/dev/null 2>&1 || { echo "bench/stage.sh: build the OS media first (make test-lab-images)" >&2; exit 1; }

run() {
  local start end
  start=$(date +%s%N)
  ansible-playbook -i "$inv/hosts.yml" playbooks/stage_pos.yml >"$inv/last.log" 2>&1 || { cat "$inv/last.log"; exit 1; }
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.1f", ns / 1e9 }'
}
cold=$(run)
noop=$(run)
changed=$(grep -oE 'changed=[0-9]+' "$inv/last.log" | tail -1)
echo
echo "Staging benchmark (demo profile, $(nproc) cores)"
printf '%-52s %9s\n' "" "seconds"
printf '%-52s %9.1f\n' "stage_pos.yml, demo profile (OS media present)" "$cold"
printf '%-52s %9.1f   (%s)\n' "stage_pos.yml again, unchanged inputs" "$noop" "$changed"
printf '%-52s %9.1f\n' "hand-run menu, Stage POS (seed walkthrough, 41m46s)" 2506.8
echo
awk -v c="$cold" 'BEGIN { printf "target <= 120 s: %s; %.0fx faster than the menu\n", (c <= 120 ? "met" : "NOT MET"), 2506.8 / c }'
