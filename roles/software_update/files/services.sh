#!/bin/sh
# Hold or release a machine's services around a software update (systemd).
#   services.sh hold UNIT...     mask each unit for this boot only (/run, so a unit file the
#                                release installs under /etc is not in the way) and stop it
#   services.sh release UNIT...  unmask, reload the unit files (the release may have changed
#                                them), start each unit and wait until it is active
# Prints one line per unit: UNIT STATE (the state before a hold, after a release). A runtime mask
# ends with the boot: a machine that restarts during an update starts its services again.
# With SU_MARKER and SU_MARKER_TEXT set, hold first writes SU_MARKER_TEXT to SU_MARKER (mode 0600,
# a rename), the mark of an update under way that the next run finds if this one dies.
set -u
action=$1
shift
rc=0
case "$action" in
  hold)
    if [ -n "${SU_MARKER:-}" ]; then
      umask 077
      printf '%s\n' "${SU_MARKER_TEXT:-}" > "$SU_MARKER.tmp" && sync "$SU_MARKER.tmp" && mv "$SU_MARKER.tmp" "$SU_MARKER" || exit 1
    fi
    for unit in "$@"; do
      before=$(systemctl is-active "$unit" 2>/dev/null)
      systemctl mask --runtime --quiet "$unit" || rc=1
      if [ "$(systemctl show -p LoadState --value "$unit")" != not-found ]; then
        systemctl stop "$unit" || rc=1
      fi
      echo "$unit ${before:-unknown}"
    done
    ;;
  release)
    for unit in "$@"; do
      systemctl unmask --runtime --quiet "$unit" || rc=1
    done
    systemctl daemon-reload || rc=1
    for unit in "$@"; do
      systemctl start "$unit" || rc=1
      n=0
      while [ "$(systemctl is-active "$unit")" = activating ] && [ $n -lt 60 ]; do
        sleep 0.5
        n=$((n + 1))
      done
      echo "$unit $(systemctl is-active "$unit")"
      [ "$(systemctl is-active "$unit")" = active ] || rc=1
    done
    ;;
  *)
    echo "services.sh: hold or release, not $action" >&2
    exit 2
    ;;
esac
exit $rc
