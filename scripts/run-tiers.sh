#!/usr/bin/env bash
# Run test tiers in order and print one line per tier with its time, then a closing
# "N passed, N failed" line. Stops at nothing: every tier named runs, the exit code is 1 when
# any failed.
#
#   scripts/run-tiers.sh unit sanity lint lab-images molecule e2e boot
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
tier_e2e()        { "${pytest[@]}" tests/e2e -v; }
tier_boot()       { "${pytest[@]}" tests/boot -v; }

passed=0; failed=0; report=()
for tier in "$@"; do
  echo "=== tier: $tier"
  start=$(date +%s)
  if "tier_$tier"; then
    passed=$((passed + 1)); status=passed
  else
    failed=$((failed + 1)); status=FAILED
  fi
  report+=("$(printf '%-12s %-7s %5ss' "$tier" "$status" "$(( $(date +%s) - start ))")")
done
echo "=== tiers"
printf '%s\n' "${report[@]}"
echo "tiers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
