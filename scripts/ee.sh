#!/usr/bin/env bash
# Build the execution environment of execution-environment.yml from this checkout: builds the
# collection tarball (build/ee/poscloud-fleet.tar.gz, the file awx/collections/requirements.yml
# installs), then runs ansible-builder with the given command and options.
#
#   scripts/ee.sh create                 # the build context only, in build/ee/context; offline
#   scripts/ee.sh build --build-arg EE_BASE_IMAGE=registry.example.test/ansible/ee-minimal:latest
#   EE_CONTEXT=/tmp/ctx scripts/ee.sh create
#
# `create` needs no network. `build` needs a container engine (podman by default; add
# --container-runtime docker for Docker), the base image and the collection and package servers.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

command=${1:-create}
[ $# -gt 0 ] && shift
case "$command" in
  create | build) ;;
  *) echo "usage: scripts/ee.sh create|build [ansible-builder options]" >&2; exit 2 ;;
esac

out=build/ee
rm -rf "$out/collection"
mkdir -p "$out/collection"
ansible-galaxy collection build --force --output-path "$out/collection" . >/dev/null
tarballs=("$out"/collection/poscloud-fleet-*.tar.gz)
if [ "${#tarballs[@]}" -ne 1 ] || [ ! -f "${tarballs[0]}" ]; then
  echo "scripts/ee.sh: expected one collection tarball in $out/collection" >&2
  exit 1
fi
mv "${tarballs[0]}" "$out/poscloud-fleet.tar.gz"
rmdir "$out/collection"
echo "collection: $out/poscloud-fleet.tar.gz (from ${tarballs[0]##*/})"

exec ansible-builder "$command" --file execution-environment.yml --context "${EE_CONTEXT:-$out/context}" "$@"
