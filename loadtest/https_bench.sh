#!/usr/bin/env bash
# ESipa over HTTPS: keep-alive nothing-pending polls per second against eimd,
# and in the same run against a static HTTPS baseline (Debian's nginx, one
# worker, the same P-256 certificate, answering a same-size body), both
# driven by wrk over loopback. Target: eimd >= 70 % of the baseline.
#
#   loadtest/https_bench.sh [SECONDS] [CONNECTIONS]
#
# eimd is built in Release (build-bench/); a throwaway PostgreSQL cluster is
# created and removed. Installs wrk and nginx-light if missing (sudo for apt
# when not root). Prints a table; exits 1 when the target is missed.
set -euo pipefail
seconds=${1:-10}
connections=${2:-64}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
. deploy/deps.env

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
deploy/bootstrap-deps >/dev/null
EIMD_WOLFSSL_PREFIX=$WOLFSSL_PREFIX cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release \
  -DEIMD_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target eimd >/dev/null

work=$(mktemp -d /tmp/eimd-https-bench.XXXXXX)
chmod 755 "$work" # the cluster inside runs as the postgres user when we are root
eimd_pid=""; nginx_pid=""
cleanup() {
  [ -n "$eimd_pid" ] && kill -TERM "$eimd_pid" 2>/dev/null && wait "$eimd_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null || true
  deploy/pg-cluster stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

deploy/pg-cluster init "$work/pg"
PG_FSYNC=off deploy/pg-cluster start "$work/pg"
deploy/pg-cluster createdb "$work/pg" eimd
https_port=$(free_port); admin_port=$(free_port); nginx_port=$(free_port)
export EIMD_DATABASE_DSN=$(deploy/pg-cluster dsn "$work/pg" eimd)
export EIMD_DATABASE_MIGRATE_ON_START=true EIMD_HTTPS_ENABLED=true EIMD_LOG_LEVEL=warn
# one EID polls as fast as wrk can: measure the poll path, not the per-EID limit
export EIMD_ESIPA_POLLS_PER_MINUTE=0
export EIMD_HTTPS_LISTEN=127.0.0.1:$https_port EIMD_ADMIN_LISTEN=127.0.0.1:$admin_port
export EIMD_KEYS_SIGNING_KEY=$work/keys/signing.key.pem EIMD_KEYS_TLS_CA_CERTIFICATE=$work/keys/ca.pem
export EIMD_KEYS_TLS_CA_KEY=$work/keys/ca.key.pem EIMD_KEYS_TLS_CERTIFICATE_CHAIN=$work/keys/chain.pem
export EIMD_KEYS_TLS_PRIVATE_KEY=$work/keys/tls.key.pem EIMD_KEYS_TLS_RAW_PUBLIC_KEY=$work/keys/tls.spki.der
build-bench/server/eimd keygen 2>/dev/null
build-bench/server/eimd serve 2>"$work/eimd.log" &
eimd_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$admin_port/readyz" >/dev/null && break; sleep 0.1; done

# nginx: one worker (eimd runs one loop), same certificate and key, TLS 1.2
# and 1.3, a fixed 6-byte answer, like eimd's nothing-pending BF4F 03 02 01 01.
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/keys/chain.pem;
    ssl_certificate_key $work/keys/tls.key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000000;
    location = /gsma/rsp2/asn1 {
      default_type application/x-gsma-rsp-asn1;
      return 200 "ABCDEF";
    }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" &
nginx_pid=$!
sleep 0.5

# GetEimPackage for an EID nobody queued work for: answered from memory.
cat >"$work/poll.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-gsma-rsp-asn1"
wrk.headers["X-Admin-Protocol"] = "gsma/rsp/v2.1.0"
wrk.body = "\191\79\18\90\16\137\4\144\50\18\52\81\35\69\18\52\86\120\144\18\53"
LUA

run() { # url -> requests/s; any non-2xx answer invalidates the run
  out=$(wrk -t1 -c"$connections" -d"${seconds}s" -s "$work/poll.lua" "$1" 2>&1)
  if grep -q 'Non-2xx' <<<"$out"; then echo "non-2xx answers from $1:" >&2; echo "$out" >&2; exit 1; fi
  awk '/^Requests\/sec/ {print $2}' <<<"$out"
}
check=$(curl -sk -X POST -H 'Content-Type: application/x-gsma-rsp-asn1' \
  --data-binary @<(printf '\277\117\022\132\020\211\004\220\062\022\064\121\043\105\022\064\126\170\220\022\065') \
  "https://127.0.0.1:$https_port/gsma/rsp2/asn1" | od -An -tx1 | tr -d ' \n')
[ "$check" = "bf4f03020101" ] || { echo "eimd did not answer noEimPackageAvailable ($check)"; cat "$work/eimd.log"; exit 1; }

eimd_rate=$(run "https://127.0.0.1:$https_port/gsma/rsp2/asn1")
nginx_rate=$(run "https://127.0.0.1:$nginx_port/gsma/rsp2/asn1")
ratio=$(awk -v a="$eimd_rate" -v b="$nginx_rate" 'BEGIN { printf "%.2f", a / b }')
printf '\n%-44s %14s\n' "keep-alive HTTPS, ${connections} connections, ${seconds} s" "requests/s"
printf '%-44s %14s\n' "nginx (static 6-byte answer, 1 worker)" "$nginx_rate"
printf '%-44s %14s\n' "eimd nothing-pending GetEimPackage" "$eimd_rate"
printf '%-44s %14s  (target >= 0.70)\n' "ratio eimd / nginx" "$ratio"
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.70) }'
