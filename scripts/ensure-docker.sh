#!/usr/bin/env bash
# Start the Docker engine when none answers.
#
# Where systemd runs, `systemctl start docker` is used. Otherwise dockerd is
# started in the background with its log and pid file under a state folder
# (POSCLOUD_STATE_DIR, default /var/lib/poscloud-fleet). A stale pid file from
# an engine that died is detected and removed. Waits until `docker info`
# answers or DOCKER_WAIT_SECONDS (default 60) pass.
set -euo pipefail

state_dir=${POSCLOUD_STATE_DIR:-/var/lib/poscloud-fleet}
wait_seconds=${DOCKER_WAIT_SECONDS:-60}
log_file="$state_dir/dockerd.log"
pid_file="$state_dir/dockerd.pid"

answers() { docker info >/dev/null 2>&1; }

if answers; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: dockerd is not installed; run 'make setup' (it installs docker.io)" >&2
  exit 1
fi

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

start_dockerd() {
  # A pid file left by an engine that is gone would make dockerd refuse to start.
  rm -f "$pid_file"
  for stale in ${DOCKER_PID_FILES:-/var/run/docker.pid /run/docker.pid /var/run/docker/containerd/containerd.pid}; do
    if [ -f "$stale" ] && ! alive "$(cat "$stale" 2>/dev/null)"; then
      echo "ensure-docker: removing stale pid file $stale"
      rm -f "$stale"
    fi
  done
  echo "ensure-docker: starting dockerd in the background (log: $log_file)"
  nohup setsid dockerd >>"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  pid=$!
}

systemd=false
pid=""
if [ -d "${SYSTEMD_RUN_DIR:-/run/systemd/system}" ] && command -v systemctl >/dev/null 2>&1; then
  systemd=true
  echo "ensure-docker: starting docker.service through systemd"
  systemctl start docker
else
  mkdir -p "$state_dir"
  [ -f "$pid_file" ] && pid=$(cat "$pid_file" 2>/dev/null || true)
  if alive "$pid" && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null; then
    echo "ensure-docker: dockerd (pid $pid) is running but does not answer yet; waiting"
  else
    start_dockerd
  fi
fi

restarted=false
for _ in $(seq 1 "$wait_seconds"); do
  if answers; then
    echo "ensure-docker: engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    exit 0
  fi
  # An engine that was shutting down when we looked (it answered nothing, then exited) is started
  # afresh, once.
  if ! $systemd && ! $restarted && ! alive "$pid"; then
    echo "ensure-docker: dockerd (pid $pid) exited without answering; starting it again"
    restarted=true
    start_dockerd
  fi
  sleep 1
done
echo "ensure-docker: the engine did not answer within ${wait_seconds}s; last log lines:" >&2
tail -n 20 "$log_file" >&2 || true
exit 1
