#!/usr/bin/env bash
# Start nats-server with Kestrel's per-role users and subject permissions
# (deploy/nats/nats-server.conf). The passwords come from the environment, or from a secrets file.
#
#   scripts/nats-auth.sh --gen-secrets var/nats/secrets.env      # once: random passwords, mode 0600
#   scripts/nats-auth.sh --secrets-file var/nats/secrets.env [--port 4222] [--host 127.0.0.1] \
#       [--store var/nats/js] [--tls-cert server.pem --tls-key server.key]
#
# Services then connect with KESTREL_NATS_USER=<role> and KESTREL_NATS_PASSWORD (or _FILE).
# The server runs in the foreground (exec): its pid is this script's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
conf="$here/deploy/nats/nats-server.conf"
roles=(EXECUTOR GATEWAY EXECUTOR_GATEWAY INGESTION STRATEGY RISK OPERATOR SESSION REPLAY POSITIONS AUDIT RECORDER)
host=127.0.0.1
port=4222
store=""
tls_cert=""
tls_key=""
secrets=""

die() { echo "nats-auth: $*" >&2; exit 2; }

owner_only() { # a secret file must not be readable by group or others
  local mode
  mode="$(stat -c %a "$1")"
  [[ "${mode: -2}" == "00" ]] || die "$1 is readable by group or others (mode $mode); chmod 600 it"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --gen-secrets)
      out="${2:?--gen-secrets needs a file}"
      [[ -e "$out" ]] && die "$out exists; not overwriting"
      mkdir -p "$(dirname "$out")"
      (umask 077; for r in "${roles[@]}"; do echo "KESTREL_NATS_${r}_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')"; done > "$out")
      echo "nats-auth: wrote $out (mode 600)"
      exit 0 ;;
    --secrets-file) secrets="${2:?}"; shift 2 ;;
    --port) port="${2:?}"; shift 2 ;;
    --host) host="${2:?}"; shift 2 ;;
    --store) store="${2:?}"; shift 2 ;;
    --tls-cert) tls_cert="${2:?}"; shift 2 ;;
    --tls-key) tls_key="${2:?}"; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done

if [[ -n "$secrets" ]]; then
  owner_only "$secrets"
  set -a
  # shellcheck disable=SC1090
  . "$secrets"
  set +a
fi
for r in "${roles[@]}"; do
  v="KESTREL_NATS_${r}_PASSWORD"
  [[ -n "${!v:-}" ]] || die "$v is not set (use --secrets-file, or --gen-secrets once)"
  val="${!v}"
  (( ${#val} >= 12 )) || die "$v is shorter than 12 characters"
  [[ "$val" != *[\"\\]* && "$val" != *$'\n'* ]] || die "$v may not contain \", \\ or a newline"
  # nats-server parses a referenced variable as a config value: quoted, so that a password like
  # "3f..." is a string and not a malformed number.
  export "$v=\"$val\""
done

args=(-c "$conf" -a "$host" -p "$port" -js)
[[ -n "$store" ]] && args+=(-sd "$store")
if [[ -n "$tls_cert" || -n "$tls_key" ]]; then
  [[ -n "$tls_cert" && -n "$tls_key" ]] || die "--tls-cert and --tls-key go together"
  owner_only "$tls_key"
  args+=(--tls --tlscert "$tls_cert" --tlskey "$tls_key")
fi
exec nats-server "${args[@]}"
