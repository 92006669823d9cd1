#!/usr/bin/env bash
# ESipa over CoAP/DTLS: nothing-pending GetEimPackage polls per second on
# established DTLS 1.2 sessions against eimd (with a Connection ID, every
# session moving to a new source port every few requests), and in the same
# run against Debian's libcoap `coap-server-openssl` 4.3.1 (DTLS 1.2, the
# same certificate, P-256 key and ECDHE-ECDSA-AES128-CCM-8 suite, answering
# a GET with a stored 6-byte body like eimd's BF4F 03 02 01 01; OpenSSL has
# no DTLS CID, so its sessions keep their ports). Both driven by
# loadtest/coap_bench.c over loopback. Each server's CPU time per request
# is split into user and kernel time; eimd's kernel time alone bounds the
# ratio any user-space work could reach. Then loadtest/dtls_bench: full and
# resumed handshakes/s next to the in-process wolfSSL rate, heap per live
# and per parked session, and PARKED parked sessions held for real.
#
#   loadtest/coap_bench.sh [SECONDS] [SESSIONS] [PARKED]
#
# Targets (issue 6): eimd >= 3x the libcoap server's request rate;
# handshakes >= 50 % of in-process; 100k parked sessions <= 100 MiB.
# eimd is built in Release (build-bench/); a throwaway PostgreSQL cluster
# is created and removed. Prints a table; exits 1 when a target is missed.
set -euo pipefail
seconds=${1:-5}
sessions=${2:-32}
parked=${3:-100000}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
. deploy/deps.env
command -v coap-server-openssl >/dev/null || {
  echo "coap-server-openssl missing (apt-get install libcoap3-bin)"
  exit 1
}
deploy/bootstrap-deps >/dev/null
EIMD_WOLFSSL_PREFIX=$WOLFSSL_PREFIX cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release \
  -DEIMD_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target eimd coap_bench dtls_bench >/dev/null

work=$(mktemp -d /tmp/eimd-coap-bench.XXXXXX)
chmod 755 "$work" # the cluster inside runs as the postgres user when we are root
eimd_pid=""; coap_pid=""
cleanup() {
  [ -n "$eimd_pid" ] && kill -TERM "$eimd_pid" 2>/dev/null && wait "$eimd_pid" 2>/dev/null || true
  [ -n "$coap_pid" ] && kill -TERM "$coap_pid" 2>/dev/null && wait "$coap_pid" 2>/dev/null || true
  deploy/pg-cluster stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_udp_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

deploy/pg-cluster init "$work/pg" >/dev/null
PG_FSYNC=off deploy/pg-cluster start "$work/pg" >/dev/null
deploy/pg-cluster createdb "$work/pg" eimd >/dev/null
coaps_port=$(free_udp_port); admin_port=$(free_port); libcoap_port=$(free_udp_port)
export EIMD_DATABASE_DSN=$(deploy/pg-cluster dsn "$work/pg" eimd)
export EIMD_DATABASE_MIGRATE_ON_START=true EIMD_COAPS_ENABLED=true EIMD_LOG_LEVEL=warn
export EIMD_COAPS_LISTEN=127.0.0.1:$coaps_port EIMD_ADMIN_LISTEN=127.0.0.1:$admin_port
export EIMD_COAPS_HANDSHAKE_RATE_PER_PREFIX=0
# every session polls as fast as it can: measure the poll path, not the per-EID limit
export EIMD_ESIPA_POLLS_PER_MINUTE=0
export EIMD_KEYS_SIGNING_KEY=$work/keys/signing.key.pem EIMD_KEYS_TLS_CA_CERTIFICATE=$work/keys/ca.pem
export EIMD_KEYS_TLS_CA_KEY=$work/keys/ca.key.pem EIMD_KEYS_TLS_CERTIFICATE_CHAIN=$work/keys/chain.pem
export EIMD_KEYS_TLS_PRIVATE_KEY=$work/keys/tls.key.pem EIMD_KEYS_TLS_RAW_PUBLIC_KEY=$work/keys/tls.spki.der
build-bench/server/eimd keygen 2>/dev/null
build-bench/server/eimd serve 2>"$work/eimd.log" &
eimd_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$admin_port/readyz" >/dev/null && break; sleep 0.1; done

# libcoap's example server on the same key; /example_data holds 6 bytes.
coap-server-openssl -A 127.0.0.1 -p "$libcoap_port" -c "$work/keys/chain.pem" \
  -j "$work/keys/tls.key.pem" -n -v 0 >"$work/libcoap.log" 2>&1 &
coap_pid=$!
sleep 0.5
printf 'ABCDEF' >"$work/six"
coap-client-openssl -m put -f "$work/six" -R "$work/keys/ca.pem" -B 5 \
  "coaps://127.0.0.1:$((libcoap_port + 1))/example_data" >/dev/null 2>&1 ||
  coap-client-openssl -m put -f "$work/six" -R "$work/keys/ca.pem" -B 5 \
    "coap://127.0.0.1:$libcoap_port/example_data" >/dev/null

# GetEimPackage for an EID nobody queued work for: answered from memory.
printf '\277\117\027\132\020\211\004\220\062\022\064\121\043\105\022\064\126\170\220\022\065\202\003\142\362\020' >"$work/poll.der"

# CPU seconds a process used so far, "user kernel" (utime, stime): the
# client shares the two cores, so requests per server CPU second is the
# capacity comparison; the kernel part (system calls and the loopback
# delivery they trigger) is what no user-space change can remove.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f %.3f", $14 / hz, $15 / hz }' "/proc/$1/stat"; }
# µs per request of the user, kernel and total CPU used between two cpu() readings
per_request() {
  awk -v n="$3" -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
    u = (y[1] - x[1]) * 1e6 / n; k = (y[2] - x[2]) * 1e6 / n; printf "%.2f %.2f %.2f\n", u, k, u + k }'
}
bench=build-bench/loadtest/coap_bench
eimd_cpu0=$(cpu "$eimd_pid")
read -r eimd_rate eimd_n eimd_len < <($bench -p "$coaps_port" -C "$work/keys/ca.pem" -s "$sessions" \
  -d "$seconds" -c -r 10 -f "$work/poll.der")
[ "$eimd_len" = 6 ] || { echo "eimd did not answer noEimPackageAvailable ($eimd_len bytes)"; cat "$work/eimd.log"; exit 1; }
read -r eimd_user eimd_kernel eimd_total < <(per_request "$eimd_cpu0" "$(cpu "$eimd_pid")" "$eimd_n")
migrations=$(curl -s "http://127.0.0.1:$admin_port/metrics" | awk '/^eimd_dtls_cid_migrations_total / {print $2}')
lib_cpu0=$(cpu "$coap_pid")
read -r lib_rate lib_n lib_len < <($bench -p "$((libcoap_port + 1))" -C "$work/keys/ca.pem" \
  -s "$sessions" -d "$seconds" -m get -u example_data)
[ "$lib_len" = 6 ] || { echo "coap-server-openssl answered $lib_len bytes"; exit 1; }
read -r lib_user lib_kernel lib_total < <(per_request "$lib_cpu0" "$(cpu "$coap_pid")" "$lib_n")
ratio=$(awk -v a="$eimd_rate" -v b="$lib_rate" 'BEGIN { printf "%.2f", a / b }')
cpu_ratio=$(awk -v a="$lib_total" -v b="$eimd_total" 'BEGIN { printf "%.2f", a / b }')
# a server whose user-space work cost nothing would still pay eimd's kernel time
ceiling=$(awk -v a="$lib_total" -v b="$eimd_kernel" 'BEGIN { printf "%.2f", a / b }')

dtls=$(build-bench/loadtest/dtls_bench 2000 "$parked")
value() { printf '%s\n' "$dtls" | awk -F'|' -v k="$1" 'index($2, k) {print $3}' | sed 's/^ *//; s/ *$//'; }
baseline=$(value "in-process wolfSSL full")
full=$(value "eimd full handshakes")
full_rate=${full%% *}
hs_ratio=$(awk -v a="$full_rate" -v b="$baseline" 'BEGIN { printf "%.2f", a / b }')
mib=$(value "parked sessions held" | sed -n 's/.*(\([0-9.]*\) MiB.*/\1/p')

printf '\n| measure (loopback, %s sessions, %s s) | value | target |\n|---|---|---|\n' "$sessions" "$seconds"
printf '| libcoap 4.3.1 coap-server-openssl, DTLS 1.2, GET 6 bytes, requests/s | %s | baseline |\n' "$lib_rate"
printf '| eimd nothing-pending GetEimPackage over CoAP/DTLS 1.2+CID, new port every 10 requests, requests/s | %s (%s CID migrations) | |\n' "$eimd_rate" "$migrations"
printf '| ratio eimd / libcoap (wall clock; one client thread shares the 2 cores) | %s | |\n' "$ratio"
printf '| server CPU per request, user + kernel: libcoap | %s + %s = %s µs | |\n' "$lib_user" "$lib_kernel" "$lib_total"
printf '| server CPU per request, user + kernel: eimd | %s + %s = %s µs | |\n' "$eimd_user" "$eimd_kernel" "$eimd_total"
printf '| ratio eimd / libcoap per server CPU second | %s | >= 3 |\n' "$cpu_ratio"
printf '| ceiling of that ratio with eimd kernel time alone (user space free) | %s | |\n' "$ceiling"
printf '| in-process wolfSSL full handshakes/s | %s | baseline |\n' "$baseline"
printf '| eimd full handshakes/s (new source port each) | %s | |\n' "$full"
printf '| ratio eimd / in-process handshakes | %s | >= 0.50 |\n' "$hs_ratio"
printf '| eimd resumed handshakes/s | %s | |\n' "$(value "eimd resumed")"
printf '| heap per live session (server + client) | %s | |\n' "$(value "heap per live session")"
printf '| heap per parked session (server only) | %s | |\n' "$(value "heap per parked session")"
printf '| parked sessions held | %s | 100k <= 100 MiB |\n' "$(value "parked sessions held")"
awk -v r="$cpu_ratio" -v h="$hs_ratio" -v m="$mib" 'BEGIN { exit !(r >= 3 && h >= 0.5 && m <= 100) }'
