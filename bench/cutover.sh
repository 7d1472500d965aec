#!/usr/bin/env bash
# Cutover benchmark, in the lab, on store 23456789 (its physical server, router, printer and cloud
# instance; the OS media and lab images must exist: make demo or make test-lab-images first).
# For each data size (BENCH_SIZES, MiB; default 200 and 2048), in the same run:
#  - deploy_pos.yml at each change rate (BENCH_CHANGE_PERCENTS, default 1 and 10): total time and
#    downtime (POS stopped on the physical server to a healthy cloud instance, from the evidence),
#    with that share of the files rewritten on the physical server after the pre-sync copied them,
#    so the final sync has that delta;
#  - the naive cutover the old runbook amounts to, on the same data and the same path through the
#    tunnel: stop the POS on the physical server, copy everything into an empty cloud volume,
#    start the cloud POS and wait until it is healthy. Its downtime is the whole of it.
# Each deploy starts from a fresh lab server (its data generated anew) and an empty cloud volume.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
id=23456789
store=store_$id
sizes=${BENCH_SIZES:-200 2048}
changes=${BENCH_CHANGE_PERCENTS:-${BENCH_CHANGE_PERCENT:-1 10}}
log=/tmp/poscloud-bench-cutover.log
hooks=$PWD/tests/e2e/hooks
keys=/var/lib/poscloud-fleet/stores/$id

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
run() { "$@" >"$log" 2>&1 || { tail -40 "$log"; echo "bench/cutover.sh: failed: $*" >&2; exit 1; }; }
healthy() { docker exec "$1" python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)" >/dev/null 2>&1; }
wait_healthy() { until healthy "$1"; do sleep 0.1; done; }
wait_down() { while healthy "$1"; do sleep 0.1; done; }
hold_dir() { echo "$(docker volume inspect -f '{{.Mountpoint}}' pos_${id}_state)/hold"; }

fresh_store() {  # $1: size in MiB. The store back on its physical server with a new data set.
  run ansible-playbook playbooks/lab.yml -l "$store" -e store_lab_state=absent
  # The role's sales rate, not the lighter one the inventory gives this store for the e2e tests.
  run ansible-playbook playbooks/lab.yml -l "$store" -e store_lab_posserver_data_mb="$1" \
    -e store_lab_posserver_sales_rate="$(python3 -c "import yaml; print(yaml.safe_load(open('roles/store_lab/defaults/main.yml'))['store_lab_posserver_sales_rate'])")"
  rm -f "$keys/cutover.json"
  docker rm -f "pos_$id" >/dev/null 2>&1 || true
  docker volume rm "pos_${id}_usr2_pos" >/dev/null 2>&1 || true
  if docker volume inspect "pos_${id}_state" >/dev/null 2>&1; then mkdir -p "$(hold_dir)"; touch "$(hold_dir)/posd"; fi
  wait_healthy "posserver_$id"
}

declare -A res
for size in $sizes; do
  for change in $changes; do
    echo "== $size MiB: fresh data set" >&2
    fresh_store "$size"
    echo "== $size MiB: deploy_pos.yml ($change % of the files changed after the pre-sync)" >&2
    s=$(now)
    run ansible-playbook playbooks/deploy_pos.yml -l "$store" \
      -e "pos_cutover_hook_before_window=$hooks/churn_source.yml" -e "e2e_churn_percent=$change"
    e=$(now)
    r=reports/$store/cutover.json
    res[$size,$change,total]=$(secs "$s" "$e")
    res[$size,$change,down]=$(python3 -c "import json; print('%.1f' % json.load(open('$r'))['downtime_seconds'])")
    res[$size,$change,pre]=$(python3 -c "import json; print(round(json.load(open('$r'))['bytes_presynced'] / 1048576))")
    res[$size,$change,delta]=$(python3 -c "import json; print(round(json.load(open('$r'))['bytes_final_delta'] / 1048576, 1))")
    res[$size,$change,files]=$(python3 -c "import json; print(json.load(open('$r'))['manifest_files'])")
  done

  echo "== $size MiB: naive cutover (stop, full copy, start)" >&2
  # The same store and data back on its physical server, an empty cloud volume, the tunnel up.
  docker rm -f "pos_$id" >/dev/null; docker volume rm "pos_${id}_usr2_pos" >/dev/null
  touch "$(hold_dir)/posd"; rm -f "/var/lib/poscloud-fleet/lab/posserver_$id/hold/posd" "$keys/cutover.json"
  wait_healthy "posserver_$id"
  run ansible-playbook playbooks/pos_start.yml -l "$store"     # the empty instance, application held
  run ansible-playbook playbooks/vpn.yml -l "$store" -e vpn_action=create
  src=$(docker inspect -f '{{.Image}}' "pos_$id")
  s=$(now)
  touch "/var/lib/poscloud-fleet/lab/posserver_$id/hold/posd"
  wait_down "posserver_$id"
  docker run --rm --network "container:pos_$id" -v "$keys/sync_ed25519:/k:ro" -v "$keys/known_hosts:/h:ro" \
    -v "pos_${id}_usr2_pos:/usr2/pos" "$src" rsync -a --delete --exclude='*.tmp' --exclude='*.db-shm' \
    -e 'ssh -i /k -o UserKnownHostsFile=/h -o StrictHostKeyChecking=yes -o BatchMode=yes' \
    "root@$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "posserver_$id" | awk '{print $1}'):/" /usr2/pos/ >"$log" 2>&1
  rm -f "$(hold_dir)/posd"
  wait_healthy "pos_$id"
  e=$(now)
  res[$size,naive]=$(secs "$s" "$e")
done

echo "== leaving store $id as the lab makes it (default data set, on its physical server)" >&2
fresh_store "$(python3 -c "import yaml; print(yaml.safe_load(open('roles/store_lab/defaults/main.yml'))['store_lab_posserver_data_mb'])")"

echo
echo "Cutover benchmark (store $id through its IPsec tunnel, userspace data path, $(nproc) cores; same run)"
printf '%-7s %7s %7s %9s %11s %9s %10s %12s %8s\n' "data" "changed" "files" "presync" "final delta" "total" \
  "downtime" "naive down" "ratio"
for size in $sizes; do
  for change in $changes; do
    ratio=$(awk -v a="${res[$size,$change,down]}" -v b="${res[$size,naive]}" 'BEGIN { printf "%.3f", a / b }')
    printf '%-7s %6s%% %7s %8sM %10sM %8ss %9ss %11ss %8s\n' "${size}M" "$change" "${res[$size,$change,files]}" \
      "${res[$size,$change,pre]}" "${res[$size,$change,delta]}" "${res[$size,$change,total]}" \
      "${res[$size,$change,down]}" "${res[$size,naive]}" "$ratio"
  done
done
echo "downtime: POS stopped on the physical server to a healthy cloud instance (deploy_pos.yml evidence);"
echo "naive: stop, full copy through the tunnel into an empty volume, start; ratio = downtime / naive downtime."
