#!/usr/bin/env bash
# Load benchmark over real sockets: wrk against `bench_server` on 127.0.0.1, every stack and
# workload, bounded in time (ROUNDS x stacks x 3 workloads x DURATION).
#
# On 2 cores, wrk and a server that share both swing by a quarter from run to run. So each
# server runs on core 0 with one tokio worker, wrk on core 1, and the stacks take turns
# within every round: the ratios compare like with like. Prints requests/second (median of
# the rounds) and the ratio to bare axum.
#
#   bench/load.sh                        # 3 rounds of 3 s, 32 connections
#   ROUNDS=1 DURATION=1s bench/load.sh   # quick
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3s}
CONNECTIONS=${CONNECTIONS:-32}
STACKS=(${STACKS:-bare memory file cookie redis tower-sessions})
BASE_PORT=${BASE_PORT:-3190}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --features compare --bin bench_server -p typed-sessions-bench
rm -rf target/bench-sessions

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
declare -A port rates errors
SESSIONS=${SESSIONS:-256}
cookies_dir=$(mktemp -d)
for i in "${!STACKS[@]}"; do
    stack=${STACKS[$i]}
    port[$stack]=$((BASE_PORT + i))
    STACK=$stack PORT=${port[$stack]} TOKIO_WORKER_THREADS=1 taskset -c 0 target/release/bench_server &
    pids+=($!)
done
for stack in "${STACKS[@]}"; do
    for _ in $(seq 50); do curl -s -o /dev/null "127.0.0.1:${port[$stack]}/untouched" && break; sleep 0.1; done
    # Existing sessions for the read and write workloads. A stack that sets no cookie (bare
    # axum) gets one of the same size all the same, so that every server parses the same
    # requests.
    for _ in $(seq "$SESSIONS"); do
        curl -s -D - -o /dev/null "127.0.0.1:${port[$stack]}/write" |
            awk -F'[ ;]' 'tolower($1)=="set-cookie:" {c=$2} END {print c ? c : "id=" sprintf("%064d", 0)}'
    done > "$cookies_dir/$stack"
done
for _ in $(seq "$ROUNDS"); do
    for workload in untouched read write; do
        for stack in "${STACKS[@]}"; do
            out=$(COOKIES="$cookies_dir/$stack" taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" \
                -s bench/load.lua "http://127.0.0.1:${port[$stack]}/$workload")
            rates[$stack/$workload]="${rates[$stack/$workload]:-} $(echo "$out" | awk '/Requests\/sec/ {print $2}')"
            errors[$stack]=$(( ${errors[$stack]:-0} + $(echo "$out" | awk '/^errors/ {print $2}') ))
        done
    done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-16s %-10s %10s %8s\n' stack workload "req/s" "vs bare"
for stack in "${STACKS[@]}"; do
    [ "${errors[$stack]}" = 0 ] || echo "warning: $stack answered ${errors[$stack]} requests with errors" >&2
done
for stack in "${STACKS[@]}"; do
    for workload in untouched read write; do
        ours=$(echo "${rates[$stack/$workload]}" | median)
        base=$(echo "${rates[bare/$workload]}" | median)
        printf '%-16s %-10s %10.0f %7.1f%%\n' "$stack" "$workload" "$ours" "$(echo "100 * $ours / $base" | bc -l)"
    done
done
