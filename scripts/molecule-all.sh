#!/usr/bin/env bash
# Run every Molecule scenario under molecule/ with its full sequence (including idempotence).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
rc=0
for dir in molecule/*/; do
  scenario=$(basename "$dir")
  [ -f "$dir/molecule.yml" ] || continue
  echo "--- molecule scenario: $scenario"
  molecule test -s "$scenario" || rc=1
done
exit $rc
