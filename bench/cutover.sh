#!/usr/bin/env bash
# Cutover benchmark, in the lab, on store 23456789 (its physical server, router, printer and cloud
# instance; the OS media and lab images must exist: make demo or make test-lab-images first).
# For each data size (BENCH_SIZES, MiB; default 200 and 2048), in the same run:
#  - deploy_pos.yml at each change rate (BENCH_CHANGE_PERCENTS, default 1): total time, downtime
#    (POS stopped on the physical server to a healthy cloud instance, from the evidence) and the
#    window's phases, with that share of the files rewritten on the physical server after the
#    pre-sync copied them, so the final sync has that delta; with the stock strategy and, unless
#    BENCH_MITOGEN=0, with Mitogen for Ansible (scripts/with-mitogen), run after each other;
#  - the naive cutover the old runbook amounts to, on the same data and the same path through the
#    tunnel: stop the POS on the physical server, copy everything into an empty cloud volume,
#    start the cloud POS and wait until it is healthy. Its downtime is the whole of it.
# Each figure is the median of BENCH_REPEAT runs (default 3) with their range; each deploy starts
# from a fresh lab server (its data generated anew) and an empty cloud volume.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
id=23456789
store=store_$id
sizes=${BENCH_SIZES:-200 2048}
changes=${BENCH_CHANGE_PERCENTS:-${BENCH_CHANGE_PERCENT:-1}}
repeat=${BENCH_REPEAT:-3}
strategies="stock"
[ "${BENCH_MITOGEN:-1}" = 0 ] || strategies="stock mitogen"
log=/tmp/poscloud-bench-cutover.log
out=/tmp/poscloud-bench-cutover.jsonl
hooks=$PWD/tests/e2e/hooks
keys=/var/lib/poscloud-fleet/stores/$id

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
run() { "$@" >"$log" 2>&1 || { tail -40 "$log"; echo "bench/cutover.sh: failed: $*" >&2; exit 1; }; }
healthy() { docker exec "$1" python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)" >/dev/null 2>&1; }
wait_healthy() { until healthy "$1"; do sleep 0.1; done; }
wait_down() { while healthy "$1"; do sleep 0.1; done; }
hold_dir() { echo "$(docker volume inspect -f '{{.Mountpoint}}' pos_${id}_state)/hold"; }
default_of() { python3 -c "import yaml; print(yaml.safe_load(open('roles/store_lab/defaults/main.yml'))['$1'])"; }

fresh_store() {  # $1: size in MiB. The store back on its physical server with a new data set.
  run ansible-playbook playbooks/lab.yml -l "$store" -e store_lab_state=absent
  # The role's sales rate, not the lighter one the inventory gives this store for the e2e tests.
  run ansible-playbook playbooks/lab.yml -l "$store" -e store_lab_posserver_data_mb="$1" \
    -e store_lab_posserver_sales_rate="$(default_of store_lab_posserver_sales_rate)"
  rm -f "$keys/cutover.json"
  docker rm -f "pos_$id" >/dev/null 2>&1 || true
  docker volume rm "pos_${id}_usr2_pos" >/dev/null 2>&1 || true
  # The cloud instance's record of an earlier move goes too (the store is back on its server).
  if docker volume inspect "pos_${id}_state" >/dev/null 2>&1; then
    mkdir -p "$(hold_dir)"; touch "$(hold_dir)/posd"; rm -f "$(dirname "$(hold_dir)")/cutover.json"
  fi
  wait_healthy "posserver_$id"
}

: >"$out"
for size in $sizes; do
  for change in $changes; do
    for strategy in $strategies; do
      for n in $(seq "$repeat"); do
        echo "== $size MiB, $change % changed after the pre-sync, $strategy strategy, run $n of $repeat" >&2
        fresh_store "$size"
        wrap=() extra=()
        # Mitogen's background jobs hang (docs/fleet.md): its pre-sync runs inline.
        [ "$strategy" = stock ] || { wrap=(scripts/with-mitogen); extra=(-e pos_data_progress_interval=0); }
        s=$(now)
        run "${wrap[@]}" ansible-playbook playbooks/deploy_pos.yml -l "$store" \
          -e "pos_cutover_hook_before_window=$hooks/churn_source.yml" -e "e2e_churn_percent=$change" "${extra[@]}"
        e=$(now)
        python3 - "reports/$store/cutover.json" "$size" "$change" "$strategy" "$(secs "$s" "$e")" >>"$out" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r['outcome'] == 'completed', r['reason']
print(json.dumps({'size': int(sys.argv[2]), 'change': sys.argv[3], 'strategy': sys.argv[4], 'total': float(sys.argv[5]),
                  'down': r['downtime_seconds'], 'pre': r['bytes_presynced'], 'delta': r['bytes_final_delta'],
                  'files': r['manifest_files'], 'phases': dict((p['phase'], p['seconds']) for p in r['phases'])}))
EOF
      done
    done
  done

  for n in $(seq "$repeat"); do
    echo "== $size MiB: naive cutover (stop, full copy, start), run $n of $repeat" >&2
    # The same store and data back on its physical server, an empty cloud volume, the tunnel up, and
    # the copy's key authorized again (the cutover took it back).
    docker rm -f "pos_$id" >/dev/null; docker volume rm "pos_${id}_usr2_pos" >/dev/null
    touch "$(hold_dir)/posd"; rm -f "/var/lib/poscloud-fleet/lab/posserver_$id/hold/posd" "$keys/cutover.json"
    rm -f "$(dirname "$(hold_dir)")/cutover.json"
    docker exec "posserver_$id" sh -c "sed -i '/ poscloud-sync-$id\$/d' /root/.ssh/authorized_keys; \
      echo 'restrict,command=\"/usr/bin/rrsync -ro /usr2/pos\" $(cut -d' ' -f1,2 "$keys/sync_ed25519.pub") poscloud-sync-$id' \
      >> /root/.ssh/authorized_keys"
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
    echo "{\"size\": $size, \"naive\": $(secs "$s" "$e")}" >>"$out"
    docker exec "posserver_$id" sed -i "/ poscloud-sync-$id\$/d" /root/.ssh/authorized_keys
  done
done

echo "== leaving store $id as the lab makes it (default data set, on its physical server)" >&2
fresh_store "$(default_of store_lab_posserver_data_mb)"

python3 - "$out" "$(nproc)" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
def fig(values, unit='s'):
    values = sorted(values)
    return '%.2f%s (%.2f-%.2f)' % (statistics.median(values), unit, values[0], values[-1])
print()
print('Cutover benchmark (store 23456789 through its IPsec tunnel, userspace data path, %s cores; same run)' % sys.argv[2])
print('Each figure: median of the runs (n in the last column) with their range.')
print('%-6s %-7s %-8s %6s %8s %10s %-22s %-22s %-22s %-7s %s' % (
    'data', 'changed', 'strategy', 'files', 'presync', 'delta', 'deploy_pos.yml total', 'downtime',
    'naive downtime', 'ratio', 'n'))
for size in sorted(set(r['size'] for r in rows)):
    naive = [r['naive'] for r in rows if r['size'] == size and 'naive' in r]
    runs = [r for r in rows if r['size'] == size and 'down' in r]
    for key in sorted(set((r['change'], r['strategy']) for r in runs), key=lambda k: (float(k[0]), k[1] != 'stock')):
        sel = [r for r in runs if (r['change'], r['strategy']) == key]
        down = statistics.median(r['down'] for r in sel)
        ratio = '%.3f' % (down / statistics.median(naive)) if naive else '-'
        print('%-6s %6s%% %-8s %6d %7dM %9.1fM %-22s %-22s %-22s %-7s %d' % (
            '%dM' % size, key[0], key[1], sel[0]['files'], round(statistics.median(r['pre'] for r in sel) / 1048576),
            statistics.median(r['delta'] for r in sel) / 1048576, fig([r['total'] for r in sel]),
            fig([r['down'] for r in sel]), fig(naive) if naive else '-', ratio, len(sel)))
print()
print('Where the downtime went (median seconds per phase of the window):')
names = ['stop', 'read source', 'final sync', 'verify', 'commit', 'start', 'health']
print('%-6s %-7s %-8s ' % ('data', 'changed', 'strategy') + ' '.join('%11s' % n for n in names))
for size in sorted(set(r['size'] for r in rows)):
    runs = [r for r in rows if r['size'] == size and 'down' in r]
    for key in sorted(set((r['change'], r['strategy']) for r in runs), key=lambda k: (float(k[0]), k[1] != 'stock')):
        sel = [r for r in runs if (r['change'], r['strategy']) == key]
        print('%-6s %6s%% %-8s ' % ('%dM' % size, key[0], key[1]) + ' '.join(
            '%11.2f' % statistics.median(r['phases'].get(n, 0) for r in sel) for n in names))
print()
print('downtime: POS stopped on the physical server to a healthy cloud instance (deploy_pos.yml evidence);')
print('naive: stop, full copy through the tunnel into an empty volume, start; ratio = downtime / naive downtime.')
print('Targets: 200 MB, 1 % changed: downtime <= 3 s; 2 GB, 1 % changed: downtime <= 5 s, ratio <= 0.06.')
EOF
