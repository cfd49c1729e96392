#!/usr/bin/env bash
# Make sure the real servers the integration tests talk to are up on loopback:
# PostgreSQL (127.0.0.1:5432), NATS with JetStream (127.0.0.1:4222), ClickHouse (127.0.0.1:8123).
# Idempotent: does nothing for a server that already answers. Needs root (apt-get) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

apt_ready=0
apt_install() {
  if [ "$apt_ready" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_ready=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_port() {
  local port=$1 name=$2
  for _ in $(seq 1 100); do port_open "$port" && return 0; sleep 0.1; done
  echo "services: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}

# PostgreSQL
if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  wait_port 5432 PostgreSQL
fi
psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE test' >/dev/null
echo "services: PostgreSQL ready on 127.0.0.1:5432"

# NATS with JetStream
if ! port_open 4222; then
  command -v nats-server >/dev/null || apt_install nats-server
  mkdir -p .tmp/nats
  start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- \
    -a 127.0.0.1 -p 4222 -js -sd "$PWD/.tmp/nats" -l "$PWD/.tmp/nats/nats.log"
  wait_port 4222 NATS
fi
echo "services: NATS ready on 127.0.0.1:4222"

# ClickHouse (installed and started by its own script)
bash scripts/clickhouse.sh
