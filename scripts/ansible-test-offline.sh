#!/usr/bin/env bash
# Run `ansible-test sanity` on this checkout without any download other than Python packages.
#
# ansible-test needs the collection under a path ending in ansible_collections/poscloud/fleet and
# sees only files git tracks or does not ignore. The checkout's files (tracked, plus untracked ones
# that are not ignored) are copied to build/sanity/ansible_collections/poscloud/fleet, which gets
# its own throw-away git index, and ansible-test runs there with its own virtual environment.
#
#   scripts/ansible-test-offline.sh --prepare-only   only place the pip bootstrap stand-in
#   scripts/ansible-test-offline.sh [ansible-test sanity options]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

cache=~/.ansible/test/cache
mkdir -p "$cache"
# One stand-in serves every pip version ansible-test may ask for.
grep -hoE "pip='[0-9.]+'" .venv/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py \
  | grep -oE '[0-9][0-9.]*[0-9]' | sort -u | while read -r v; do
  target="$cache/get_pip_${v//./_}.py"
  cmp -s scripts/get_pip_offline.py "$target" 2>/dev/null || cp scripts/get_pip_offline.py "$target"
done
[ "${1:-}" = "--prepare-only" ] && exit 0

stage=build/sanity/ansible_collections/poscloud/fleet
rm -rf build/sanity
mkdir -p "$stage"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | rsync -a --from0 --files-from=- ./ "$stage/"
(
  cd "$stage"
  git init -q
  git add -A
  "$root/.venv/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
)
