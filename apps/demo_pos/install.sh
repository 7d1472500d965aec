#!/bin/sh
# Installs demo-pos from its media: run from the unpacked media folder, as root.
#   sh install.sh [--prefix /opt/demo-pos] [--data /usr2/pos] [--user pos]
set -eu
prefix=/opt/demo-pos
data=/usr2/pos
user=pos
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "install.sh: python3 is required" >&2; exit 1; }
id "$user" >/dev/null 2>&1 || { echo "install.sh: user $user does not exist; create it first" >&2; exit 1; }
install -d -m 0755 "$prefix/bin" "$prefix/lib" /etc/demo-pos
for prog in posd posgen; do
  install -m 0644 "$here/$prog.py" "$prefix/lib/$prog.py"
  printf '#!/bin/sh\nexec python3 %s/lib/%s.py "$@"\n' "$prefix" "$prog" > "$prefix/bin/$prog"
  chmod 0755 "$prefix/bin/$prog"
done
install -m 0644 "$here/VERSION" "$prefix/VERSION"
install -d -m 0750 -o "$user" -g "$user" "$data"
if [ ! -f /etc/demo-pos/posd.json ]; then
  printf '{"data_dir": "%s"}\n' "$data" > /etc/demo-pos/posd.json
fi
echo "demo-pos $(cat "$here/VERSION") installed in $prefix, data in $data"
