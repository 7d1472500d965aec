#!/usr/bin/env bash
# Build a kernel with a configuration fragment into Debian packages (make bindeb-pkg).
#   KC_SOURCE=tarball KC_BASE_CONFIG=file|'' KC_FRAGMENT=file KC_LOCALVERSION=-poscloud-<hash8>
#   KC_OUT=dir KC_WORK=dir KC_JOBS=N build-kernel.sh
set -euo pipefail
: "${KC_SOURCE:?}" "${KC_FRAGMENT:?}" "${KC_LOCALVERSION:?}" "${KC_OUT:?}" "${KC_WORK:?}" "${KC_JOBS:?}"
[ "$KC_JOBS" -gt 0 ] || KC_JOBS=$(nproc)
mkdir -p "$KC_WORK" "$KC_OUT"
work=$(mktemp -d "$KC_WORK/kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xf "$KC_SOURCE"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
cd "$src"
if [ -n "${KC_BASE_CONFIG:-}" ]; then cp "$KC_BASE_CONFIG" .config; else make -s x86_64_defconfig; fi
# Debian's configurations name a signing key that only Debian has.
scripts/config --set-str SYSTEM_TRUSTED_KEYS '' --set-str SYSTEM_REVOCATION_KEYS '' --disable MODULE_SIG_ALL
scripts/kconfig/merge_config.sh -m .config "$KC_FRAGMENT"
make -s olddefconfig
# Every line of the fragment must have survived olddefconfig (a dependency may have dropped it).
missing=0
while IFS= read -r line; do
  case "$line" in CONFIG_*=*|'# CONFIG_'*' is not set') grep -qxF "$line" .config || { echo "dropped by olddefconfig: $line" >&2; missing=1; };; esac
done <"$KC_FRAGMENT"
[ "$missing" -eq 0 ]
make -j"$KC_JOBS" bindeb-pkg LOCALVERSION="$KC_LOCALVERSION" >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
cp .config "$KC_OUT/config"
mv "$work"/linux-image-*.deb "$work"/linux-headers-*.deb "$KC_OUT/" 2>/dev/null || mv "$work"/linux-image-*.deb "$KC_OUT/"
rm -f "$KC_OUT"/linux-image-*-dbg_*.deb
cp "$work/build.log" "$KC_OUT/build.log"
(cd "$KC_OUT" && sha256sum ./*.deb >SHA256SUMS)
date -u +%FT%TZ >"$KC_OUT/done"
