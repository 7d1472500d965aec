#!/usr/bin/env bash
# Run test tiers in order and print one line per tier with its time, then a closing
# "N passed, N failed" line. Stops at nothing: every tier named runs, the exit code is 1 when
# any failed.
#
#   scripts/run-tiers.sh unit sanity lint lab-images molecule e2e boot
#
# "--beside TIER" runs TIER from the start, beside the others, its lines prefixed with its name:
# `make test` runs the boot tier (qemu VMs; it needs no Docker image) beside the rest, so the suite
# takes about as long as the longer of the two.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
inventory=inventories/lab
pytest=(python -m pytest -p no:cacheprovider)

tier_unit()       { "${pytest[@]}" tests/unit -q; }
tier_sanity()     { scripts/ansible-test-offline.sh; }
# Molecule and ansible-lint may install a copy of the collection under ~/.ansible; a copy left from
# another checkout would shadow this one, so it is removed first.
forget_installed_copy() { rm -rf ~/.ansible/collections/ansible_collections/poscloud/fleet; }
export ANSIBLE_COLLECTIONS_PATH="$PWD/.collections"

tier_lint()       { forget_installed_copy; ansible-lint --profile production --offline && antsibull-changelog lint; }
tier_lab-images() { ansible-playbook -i "$inventory" playbooks/build_media.yml; }
tier_molecule()   { forget_installed_copy; scripts/molecule-all.sh; }
# The end-to-end tests run as two streams side by side, on separate lab stores: the cutover and
# backup tests (stores 23456789 and 34567890) and the rest (store 12345678, the lab fleet, the OS media). The
# lab stores are made first, so the streams never race to create the lab's shared networks.
# POSCLOUD_E2E_SERIAL=1 runs the two streams one after the other.
e2e_cutover=(tests/e2e/test_cutover.py tests/e2e/test_backup.py)
# The fleet update through the runner comes after test_fleet.py, which leaves the fleet at the
# patch level the runner's survey asks for: the job runs every store's no-op path, and the real
# rollout is proven once, in test_fleet.py. The deploy through the runner comes before it (the fleet
# status test reads the store it cut over).
e2e_rest=(tests/e2e/test_pos.py tests/e2e/test_vpn.py tests/e2e/test_secrets.py tests/e2e/test_console.py
          tests/e2e/test_runner.py::test_deploy_through_the_runner_with_the_survey_confirmation
          tests/e2e/test_runner.py::test_a_wrong_confirmation_stops_the_deploy_before_anything
          tests/e2e/test_fleet.py tests/e2e/test_runner.py::test_fleet_update_through_the_runner
          tests/e2e/test_media.py tests/e2e/test_lab_engines.py)
e2e_stream() {  # name, test files...
  local name=$1; shift
  "${pytest[@]}" "$@" -v --durations=25 2>&1 | sed -u "s/^/[$name] /"
}
tier_e2e() {
  local log=tests/output/e2e-lab.log
  mkdir -p tests/output
  if ! ansible-playbook -i "$inventory" playbooks/lab.yml -l store_12345678,store_23456789,store_34567890 >"$log" 2>&1; then
    tail -40 "$log"; echo "e2e: the lab stores could not be made (lab.yml; $log)"; return 1
  fi
  if [ -n "${POSCLOUD_E2E_SERIAL:-}" ]; then
    e2e_stream cutover "${e2e_cutover[@]}"; local a=$?
    e2e_stream rest "${e2e_rest[@]}"; local b=$?
  else
    e2e_stream cutover "${e2e_cutover[@]}" & local pa=$!
    e2e_stream rest "${e2e_rest[@]}" & local pb=$!
    wait "$pa"; local a=$?
    wait "$pb"; local b=$?
  fi
  echo "e2e: cutover stream rc $a, other stream rc $b"
  [ "$a" -eq 0 ] && [ "$b" -eq 0 ]
}
# The boot tier has a limit of its own (POSCLOUD_BOOT_MINUTES, 70 by default), so that a machine
# that hangs ends the suite inside CI's limit with the machines' consoles printed; each playbook of
# the tier has its own limit too (tests/boot/conftest.py).
tier_boot() {
  local minutes=${POSCLOUD_BOOT_MINUTES:-70} rc
  timeout --kill-after=30 "${minutes}m" "${pytest[@]}" tests/boot -v --durations=8; rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "boot: stopped after $minutes minutes; the machines' serial consoles end with:"
    python -c 'import sys; sys.path.insert(0, "tests/boot"); import conftest; print(conftest.consoles(25))'
    ansible-playbook -i "$inventory" playbooks/boot_lab.yml -e boot_lab_state=down >/dev/null 2>&1
  fi
  return "$rc"
}

# cpu_ticks: the machine's busy and total CPU time so far, in clock ticks (from /proc/stat).
cpu_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }

# run_tier TIER: runs it; its report line goes to tests/output/tier-TIER.report, with how busy the
# whole machine was meanwhile (the suite is bound by CPU: a tier that keeps it busy costs its time
# to every tier beside it).
run_tier() {
  local tier=$1 start status busy0 total0 busy1 total1
  echo "=== tier: $tier"
  start=$(date +%s)
  read -r busy0 total0 < <(cpu_ticks)
  if "tier_$tier"; then status=passed; else status=FAILED; fi
  read -r busy1 total1 < <(cpu_ticks)
  printf '%-12s %-7s %5ss  machine busy %3s%%\n' "$tier" "$status" "$(( $(date +%s) - start ))" \
    "$(( total1 > total0 ? 100 * (busy1 - busy0) / (total1 - total0) : 0 ))" >"tests/output/tier-$tier.report"
}
passed=0; failed=0; report=()
count() {  # TIER: add its report line to the summary
  local line
  line=$(cat "tests/output/tier-$1.report" 2>/dev/null) || line=$(printf '%-12s %-7s' "$1" FAILED)
  report+=("$line")
  case "$line" in *" passed "*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
}

mkdir -p tests/output
beside=(); pids=()
while [ "${1:-}" = --beside ]; do
  beside+=("$2"); shift 2
done
for tier in "${beside[@]}"; do
  rm -f "tests/output/tier-$tier.report"
  run_tier "$tier" 2>&1 | sed -u "s/^/[$tier] /" &
  pids+=($!)
done
for tier in "$@"; do
  rm -f "tests/output/tier-$tier.report"
  run_tier "$tier"
  count "$tier"
done
for i in "${!beside[@]}"; do
  wait "${pids[$i]}"
  count "${beside[$i]}"
done
echo "=== tiers"
printf '%s\n' "${report[@]}"
echo "tiers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
