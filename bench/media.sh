#!/usr/bin/env bash
# OS media build benchmark: see bench/media.py for what is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/media.py "$@"
