#!/usr/bin/env bash
# Boot lab benchmark: see bench/boot.py for what is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/boot.py "$@"
