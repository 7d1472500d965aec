#!/usr/bin/env bash
# Idempotent set-up for a Debian 12 machine, run as root by `make setup`.
#
#  1. installs the Debian packages the project needs (only those missing);
#  2. starts the Docker engine when none answers (scripts/ensure-docker.sh);
#  3. creates .venv with the pinned Python dependencies (requirements.txt), re-installing only
#     when requirements.txt changed;
#  4. links the checkout as .collections/ansible_collections/poscloud/fleet so Ansible finds the
#     collection by its name.
# A second run on a ready machine only checks, and takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

packages=(
  docker.io debootstrap mmdebstrap debian-archive-keyring rsync git make python3-venv curl ca-certificates
  iproute2 openssh-client sqlite3 shellcheck qemu-system-x86 qemu-utils zstd fdisk grub-common
  chromium tmux
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages present"
fi

scripts/ensure-docker.sh

python=${PYTHON:-python3}
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv with the pinned Python dependencies (requirements.txt)"
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.txt
  echo "$want" >"$stamp"
else
  echo "setup: .venv matches requirements.txt"
fi

# The operator's console, `poscloud` (console/, outside the collection), as an entry point of the
# venv, editable so it always runs this checkout's code; its dependencies are in requirements.txt.
if [ "$(.venv/bin/python -c 'import poscloud_console, os; print(os.path.dirname(os.path.dirname(os.path.abspath(poscloud_console.__file__))))' 2>/dev/null)" != "$root/console" ] \
   || [ ! -x .venv/bin/poscloud ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation --no-index -e console
  echo "setup: installed the console as .venv/bin/poscloud"
fi

link=.collections/ansible_collections/poscloud/fleet
if [ "$(readlink "$link" 2>/dev/null)" != "$root" ]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn "$root" "$link"
  echo "setup: linked the checkout as the collection poscloud.fleet ($link)"
fi

# The lab controller's SSH key: support users of lab instances and lab hosts accept it.
if [ ! -f .state/lab/id_ed25519 ]; then
  mkdir -p .state/lab
  ssh-keygen -q -t ed25519 -N '' -C "poscloud-fleet-lab" -f .state/lab/id_ed25519
  echo "setup: made the lab controller key .state/lab/id_ed25519"
fi
# Keys of the users the lab's new machine (machine03) is installed with (inventories/lab).
for u in alice bob; do
  if [ ! -f ".state/lab/users/$u" ]; then
    mkdir -p .state/lab/users
    ssh-keygen -q -t ed25519 -N '' -C "$u@poscloud-fleet-lab" -f ".state/lab/users/$u"
    echo "setup: made the lab user key .state/lab/users/$u"
  fi
done

# ansible-test looks for a pip bootstrap script it would otherwise download; give it one that
# uses the interpreter's own ensurepip (see tests/sanity/README.md).
scripts/ansible-test-offline.sh --prepare-only

echo "setup: ready"
