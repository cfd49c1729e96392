#!/usr/bin/env bash
# Install (if missing) and start a private ClickHouse server for this checkout, then print its URL.
# Usage: scripts/clickhouse.sh [start|stop]. Idempotent: a server that already answers on the HTTP port is left alone.
# Data, logs and config live under .tmp/clickhouse/ (gitignored) so nothing touches /var/lib.
# Ports: HTTP 8123 and native TCP 9000 on 127.0.0.1 (override with CLICKHOUSE_HTTP_PORT / CLICKHOUSE_TCP_PORT).
set -euo pipefail
cd "$(dirname "$0")/.."

HTTP_PORT="${CLICKHOUSE_HTTP_PORT:-8123}"
TCP_PORT="${CLICKHOUSE_TCP_PORT:-9000}"
ROOT="$PWD/.tmp/clickhouse"
URL="http://127.0.0.1:${HTTP_PORT}"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Plain bash HTTP probe: a fresh machine may have no curl.
answers() {
  local reply
  reply=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/${HTTP_PORT} && printf 'GET /?query=SELECT%%201 HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3" 2>/dev/null) || return 1
  [ "$(printf '%s' "$reply" | tail -n 1 | tr -d '\r')" = 1 ]
}

if [ "${1:-start}" = stop ]; then
  pid=$(cat "$ROOT/clickhouse.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "clickhouse: stopped"
  else
    echo "clickhouse: not running from ${ROOT}"
  fi
  exit 0
fi

# A server can answer SELECT 1 and still be unusable: one started from a checkout that has since been
# deleted has lost its data directory and fails every DDL. Probe with a DDL round trip.
ddl_ok() {
  local q reply
  for q in 'CREATE%%20DATABASE%%20IF%%20NOT%%20EXISTS%%20kestrel_probe' 'DROP%%20DATABASE%%20IF%%20EXISTS%%20kestrel_probe'; do
    reply=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/${HTTP_PORT} && printf 'POST /?query=${q} HTTP/1.0\\r\\nContent-Length: 0\\r\\n\\r\\n' >&3 && cat <&3" 2>/dev/null) || return 1
    printf '%s' "$reply" | head -n 1 | grep -q ' 200 ' || return 1
  done
}

if answers; then
  if ddl_ok; then
    echo "clickhouse: ready at ${URL}"
    exit 0
  fi
  # Replace the broken server: find who listens on the HTTP port and stop it.
  stale=$(ss -ltnpH "sport = :${HTTP_PORT}" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)
  if [ -n "$stale" ] && ps -p "$stale" -o comm= | grep -q clickhouse; then
    echo "clickhouse: server on ${URL} (pid ${stale}) answers but cannot run DDL (data directory gone?); restarting it" >&2
    kill "$stale"
    for _ in $(seq 1 100); do kill -0 "$stale" 2>/dev/null || break; sleep 0.1; done
  else
    echo "clickhouse: server on ${URL} answers but cannot run DDL, and it is not a clickhouse process we can restart" >&2
    exit 1
  fi
fi

if ! command -v clickhouse-server >/dev/null || ! command -v clickhouse-client >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "clickhouse: not installed and not root; install clickhouse-server and clickhouse-client" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
fi

# Something else holds our ports but is not answering as ClickHouse: refuse instead of fighting it.
for p in "$HTTP_PORT" "$TCP_PORT"; do
  if port_open "$p"; then
    echo "clickhouse: port ${p} on 127.0.0.1 is taken by another process; set CLICKHOUSE_HTTP_PORT/CLICKHOUSE_TCP_PORT" >&2
    exit 1
  fi
done

mkdir -p "$ROOT/data" "$ROOT/tmp" "$ROOT/user_files" "$ROOT/format_schemas" "$ROOT/log"
cp /etc/clickhouse-server/config.xml "$ROOT/config.xml"
cp /etc/clickhouse-server/users.xml "$ROOT/users.xml"
# Rewrite the copied config: own paths, loopback only, our ports, no interserver/mysql listeners.
python3 - "$ROOT" "$HTTP_PORT" "$TCP_PORT" <<'PY'
import re, sys
root, http_port, tcp_port = sys.argv[1], sys.argv[2], sys.argv[3]
path = f"{root}/config.xml"
xml = open(path, encoding="utf-8").read()
def set_tag(tag, value):
    global xml
    pat = re.compile(rf"<{tag}>.*?</{tag}>", re.S)
    if pat.search(xml):
        xml = pat.sub(f"<{tag}>{value}</{tag}>", xml, count=1)
    else:
        xml = xml.replace("</yandex>", f"    <{tag}>{value}</{tag}>\n</yandex>")
set_tag("path", f"{root}/data/")
set_tag("tmp_path", f"{root}/tmp/")
set_tag("user_files_path", f"{root}/user_files/")
set_tag("format_schema_path", f"{root}/format_schemas/")
set_tag("log", f"{root}/log/clickhouse-server.log")
set_tag("errorlog", f"{root}/log/clickhouse-server.err.log")
set_tag("level", "warning")
set_tag("http_port", http_port)
set_tag("tcp_port", tcp_port)
# Drop every listen_host and listen on loopback only; no interserver port (single node).
xml = re.sub(r"\s*<listen_host>.*?</listen_host>", "", xml)
xml = re.sub(r"\s*<interserver_http_port>.*?</interserver_http_port>", "", xml)
xml = re.sub(r"\s*<https_port>.*?</https_port>", "", xml)
xml = re.sub(r"\s*<tcp_port_secure>.*?</tcp_port_secure>", "", xml)
xml = xml.replace("</yandex>", "    <listen_host>127.0.0.1</listen_host>\n</yandex>", 1)
open(path, "w", encoding="utf-8").write(xml)
PY

clickhouse-server --daemon --config-file="$ROOT/config.xml" --pid-file="$ROOT/clickhouse.pid" \
  >"$ROOT/log/stdout.log" 2>&1 || true

for _ in $(seq 1 150); do
  if answers; then
    echo "clickhouse: ready at ${URL} (pid $(cat "$ROOT/clickhouse.pid" 2>/dev/null || echo '?'), data in ${ROOT})"
    exit 0
  fi
  sleep 0.2
done
echo "clickhouse: server did not answer SELECT 1 at ${URL}; see ${ROOT}/log/" >&2
tail -n 20 "$ROOT/log/clickhouse-server.err.log" >&2 2>/dev/null || true
exit 1
