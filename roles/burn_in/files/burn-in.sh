#!/bin/sh
# Health and burn-in of a machine, run on it; prints one JSON object.
#   burn-in.sh BUILD_SERVER TOKEN_FILE STRESS_SECONDS "STRESS ARGS" READBACK_MIB "PATHS" SERVICE...
# Services that must be active, failed units, the build server's TFTP service answering with this
# machine's token (connectivity; an empty BUILD_SERVER skips it), a stress-ng run on CPU, memory
# and I/O, the kernel log, and a disk read-back: READBACK_MIB of random data written under each of
# the space-separated PATHS, synced, the page cache dropped, read back and compared by SHA-256.
set -u
server=$1 token_file=$2 seconds=$3 stress_args=$4 readback_mib=$5 paths=$6
shift 6
json() { python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().splitlines()))'; }
services=$(for s in "$@"; do printf '%s=%s\n' "$s" "$(systemctl is-active "$s")"; done | json)
failed=$(systemctl --failed --no-legend --plain | awk '{print $1}' | json)
if [ -z "$server" ]; then
  build_server=skipped
else
  build_server=$(python3 - "$server" "$token_file" <<'PY'
import socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
data, expected = b'', 1
try:
    s.sendto(b'\x00\x01' + name.encode() + b'\x00octet\x00', (server, 69))
    while True:
        packet, peer = s.recvfrom(516)
        opcode, number = struct.unpack('!HH', packet[:4])
        if opcode == 5:
            raise OSError('TFTP error %d' % number)
        if opcode == 3 and number == expected:
            data += packet[4:]
            expected += 1
        s.sendto(struct.pack('!HH', 4, number), peer)
        if len(packet) < 516:
            break
    print(data.decode('utf-8', 'replace').strip())
except (OSError, socket.timeout) as e:
    print('unreachable: %s' % e)
PY
)
fi
# shellcheck disable=SC2086
stress_out=$(stress-ng $stress_args --timeout "${seconds}s" --metrics-brief --temp-path /var/tmp 2>&1)
stress_rc=$?
stress_tail=$(printf '%s\n' "$stress_out" | tail -n 6 | json)
errors=$(dmesg | grep -E 'BUG:|Oops|Call Trace|soft lockup|hung_task' | head -n 5 | json)
readback=$(
  if [ "$readback_mib" -gt 0 ]; then
    for p in $paths; do
      f="$p/.poscloud-burn-in.$$"
      written=$(head -c "$((readback_mib * 1048576))" /dev/urandom | tee "$f" | sha256sum | cut -d' ' -f1)
      sync
      echo 3 >/proc/sys/vm/drop_caches
      read_back=$(sha256sum "$f" 2>/dev/null | cut -d' ' -f1)
      rm -f "$f"
      printf '%s %s %s\n' "$p" "$written" "${read_back:-unreadable}"
    done
  fi | python3 -c '
import json, sys
print(json.dumps([dict(zip(("path", "written", "read"), l.split())) for l in sys.stdin.read().splitlines()]))'
)
printf '{"services": %s, "failed_units": %s, "build_server": %s, "stress_rc": %s, "stress": %s, "kernel_errors": %s, "readback": %s}\n' \
  "$services" "$failed" "$(printf '%s' "$build_server" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')" \
  "$stress_rc" "$stress_tail" "$errors" "$readback"
