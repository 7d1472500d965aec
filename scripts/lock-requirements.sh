#!/usr/bin/env bash
# Regenerate requirements.txt, with the SHA-256 of every distribution, from requirements.in.
# requirements.in is the human-edited list of the controller environment's direct dependencies;
# requirements.txt pins them and everything they pull in, and scripts/setup.sh installs it with
# `pip install --require-hashes`. pip-tools runs from a throwaway venv, so .venv is not touched.
# Versions already pinned in requirements.txt are kept; pass --upgrade (or
# --upgrade-package NAME) to move them. See docs/supply-chain.md.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
tools=$(mktemp -d "${TMPDIR:-/tmp}/pip-tools.XXXXXX")
trap 'rm -rf "$tools"' EXIT
"$python" -m venv "$tools"
"$tools/bin/python" -m pip install -q --disable-pip-version-check pip-tools
"$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
  --output-file requirements.txt "$@" requirements.in
echo "lock-requirements: requirements.txt regenerated; check it with a fresh venv:"
echo "  python3 -m venv /tmp/vtest && /tmp/vtest/bin/pip install --require-hashes -r requirements.txt"
