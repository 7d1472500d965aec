#!/usr/bin/env bash
# Fleet benchmark: a no-op playbooks/fleet_update.yml (every store already on the snapshot of
# today's inputs) over BENCH_FLEET_SIZES lab fleet stores (default 10 and 50) at forks 50, with
# the stock linear strategy and with Mitogen for Ansible (mitogen_linear), side by side in the same
# run. Each is run BENCH_REPEAT times (default 3, one after the other) and the median run is
# printed: wall time (with the range of all runs), CPU seconds of ansible-playbook and its children,
# host-tasks (the task results in the recap: ok + failed + skipped + unreachable), and wall and
# CPU per host-task.
# Also, for the stock strategy, the same update through the full staging path (BENCH_FULL=1, the
# default, run once): what a no-op costs without the one-call fast path.
#
# Setup (first run only, minutes): the lab fleet is sized to the largest size, staged on the fleet
# OS media and started (POSCLOUD_LAB_FLEET_SIZE). Nothing here leaves this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
read -r -a sizes <<<"${BENCH_FLEET_SIZES:-10 50}"
max=$(printf '%s\n' "${sizes[@]}" | sort -n | tail -1)
export POSCLOUD_LAB_FLEET_SIZE=$max
forks=${BENCH_FORKS:-50}
log=/tmp/poscloud-bench-fleet.log
mitogen_strategy=$(python -c 'import os, ansible_mitogen; print(os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy"))')

run() { "$@" >"$log" 2>&1 || { tail -40 "$log"; echo "bench/fleet.sh: failed: $*" >&2; exit 1; }; }

running=$(docker ps --filter label=poscloud.fleet.role=pos-instance --format '{{.Names}}' | grep -c '^pos_9' || true)
if [ "$running" -lt "$max" ]; then
  echo "bench/fleet.sh: staging and starting the lab fleet of $max stores (minutes, the first time)"
  run ansible-playbook playbooks/stage_pos.yml -l fleet_stores -f "$forks"
  run ansible-playbook playbooks/pos_start.yml -l fleet_stores -f "$forks"
fi
echo "bench/fleet.sh: bringing the $max stores to the current level (a no-op when they are)"
run ansible-playbook playbooks/fleet_update.yml -l fleet_stores -f "$forks"

# Let the machine settle after the set-up (up to 2 minutes, until the 1-minute load is below 1.5),
# so the figures measure the update, not what the set-up left running.
for _ in $(seq 1 24); do
  awk '{ exit !($1 < 1.5) }' /proc/loadavg && break
  sleep 5
done
echo "bench/fleet.sh: load before measuring: $(cut -d' ' -f1-3 /proc/loadavg)"

# measure <label> <limit> <env...>: one no-op fleet update; prints a table row.
measure() {
  local label=$1 limit=$2; shift 2
  python - "$label" "$limit" "$forks" "$log" "$@" <<'PY'
import os, re, resource, subprocess, sys, time
label, limit, forks, log = sys.argv[1:5]
env = dict(os.environ)
extra = []
repeat = int(os.environ.get('BENCH_REPEAT', '3'))
for kv in sys.argv[5:]:
    k, v = kv.split('=', 1)
    if k == 'EXTRA_VARS':
        extra += ['-e', v]
    elif k == 'REPEAT':
        repeat = int(v)
    else:
        env[k] = v
cmd = ['ansible-playbook', 'playbooks/fleet_update.yml', '-l', limit, '-f', forks] + extra
walls, cpus = [], []
for attempt in range(repeat):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    walls.append(time.time() - start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, 'w') as f:
        f.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        sys.exit('bench/fleet.sh: %s failed (rc %d), see %s' % (label, proc.returncode, log))
    cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
order = sorted(range(len(walls)), key=lambda i: walls[i])
mid = order[len(order) // 2]
wall, cpu = walls[mid], cpus[mid]
recap = re.findall(r'^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)', proc.stdout, re.M)
stores = [r for r in recap if r[0].startswith('store_')]
changed = sum(int(r[2]) for r in recap)
tasks = sum(int(r[1]) + int(r[3]) + int(r[4]) + int(r[5]) for r in recap)
print('| %-26s | %6d | %8.1f | %-11s | %7.1f | %10d | %14.3f | %13.3f | %7d |' % (
    label, len(stores), wall, '%.1f-%.1f' % (min(walls), max(walls)), cpu, tasks, wall / tasks, cpu / tasks, changed))
PY
}

echo
echo "No-op fleet update at forks $forks on this machine ($(nproc) cores):"
echo
echo "| run                        | stores | wall (s) | range (s)   | CPU (s) | host-tasks | wall/host-task | CPU/host-task | changed |"
echo "| -------------------------- | ------ | -------- | ----------- | ------- | ---------- | -------------- | ------------- | ------- |"
for n in "${sizes[@]}"; do
  limit="fleet_stores[0:$((n - 1))]"
  measure "stock, fast path" "$limit"
  measure "Mitogen, fast path" "$limit" ANSIBLE_STRATEGY_PLUGINS="$mitogen_strategy" ANSIBLE_STRATEGY=mitogen_linear
  if [ "${BENCH_FULL:-1}" = 1 ]; then
    measure "stock, full staging path" "$limit" EXTRA_VARS=fleet_update_fast_path=false REPEAT=1
  fi
done
