#!/bin/sh
# Lab stand-in for a store's physical POS server: the demo POS (apps/demo_pos) with a generated
# data set, a sales generator that keeps selling while the POS answers, and sshd, all supervised
# by the same init as the cloud instances (a service is held by a file in /var/lib/posserver/hold).
# Environment: STORE_ID, CLOUD_NET, ROUTER_IP, PRINTER_IP, DATA_MB, SALES_RATE.
set -eu
state=/var/lib/posserver
share=/usr/local/share/posserver
mkdir -p "$state/hold" /run/sshd /var/log/posgen
# Replies to the cloud net go back through the store router (the tunnel's store end).
ip route replace "$CLOUD_NET" via "$ROUTER_IP"
# The host key lives outside the container, so a re-created server keeps its identity.
[ -f "$state/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$state/ssh_host_ed25519_key"
# The lab controller's key may log in as root (a checkout with a new key adds its own; the keys the
# cutover authorizes for its copy stay).
install -d -m 0700 /root/.ssh
touch /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
grep -qxF "$(cat "$share/controller.pub")" /root/.ssh/authorized_keys || cat "$share/controller.pub" >> /root/.ssh/authorized_keys
# The POS application, installed the way its media's install script does it.
id pos >/dev/null 2>&1 || useradd -u 2001 -U -d /home/pos -s /usr/sbin/nologin pos
[ -f /opt/demo-pos/VERSION ] || sh "$share/demo-pos/install.sh" --prefix /opt/demo-pos --data /usr2/pos --user pos
chown pos:pos /usr2/pos /var/log/posgen
cat > /etc/demo-pos/posd.json <<JSON
{"store_id": "$STORE_ID", "data_dir": "/usr2/pos", "listen_host": "0.0.0.0", "listen_port": 8080,
 "printer_host": "$PRINTER_IP", "printer_port": 9100}
JSON
python3 "$share/labdata.py" generate --dir /usr2/pos --size-mb "$DATA_MB" --owner pos
mkdir -p /etc/poscloud
cat > /etc/poscloud/services.json <<JSON
[{"name": "sshd", "command": ["/usr/sbin/sshd", "-D", "-e", "-h", "$state/ssh_host_ed25519_key"]},
 {"name": "posd", "command": ["/opt/demo-pos/bin/posd", "--config", "/etc/demo-pos/posd.json"], "user": "pos",
  "stop_timeout": 10},
 {"name": "posgen", "command": ["/opt/demo-pos/bin/posgen", "--url", "http://127.0.0.1:8080", "--rate", "$SALES_RATE",
  "--log", "/var/log/posgen/acks.jsonl"], "user": "pos"}]
JSON
export POSCLOUD_HOLD_DIR="$state/hold"
exec python3 "$share/init.py"
