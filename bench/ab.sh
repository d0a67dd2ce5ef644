#!/usr/bin/env bash
# Two stacks of `bench_server` side by side on a hot session, alternating: ROUNDS rounds of
# wrk -c$C for $D on each (the order flips every round), the server processes pinned to
# core 0 and wrk to core 1; prints each round's ratio A/B and their median. Each server has
# W tokio workers (default 1: it has one core, and that is what tokio starts there). With
# SESSIONS=N, each request carries one of N sessions at random (bench/load.lua) instead of
# the one hot session, and WORKLOAD names the route (default write). Bounded: ROUNDS x 2 x D.
#
#   bench/ab.sh                                       # redis against tower-sessions-redis, 4 connections
#   A=memory B=tower-sessions C=32 ROUNDS=5 bench/ab.sh
#   A=redis B=redis BIN_B=/tmp/bench_server.before bench/ab.sh   # two builds of this crate
#   A=memory B=bare WORKLOAD=read SESSIONS=256 C=32 bench/ab.sh    # reads, as bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-7}; C=${C:-4}; D=${D:-2s}
A=${A:-redis}; B=${B:-tower-sessions-redis}
BIN=target/release/bench_server
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --features compare --bin bench_server -p typed-sessions-bench
SESSIONS=${SESSIONS:-1}; WORKLOAD=${WORKLOAD:-write}
cookies=$(mktemp -d)
STACK=$A PORT=3401 TOKIO_WORKER_THREADS=${W:-1} taskset -c 0 "${BIN_A:-$BIN}" & pa=$!
STACK=$B PORT=3402 TOKIO_WORKER_THREADS=${W:-1} taskset -c 0 "${BIN_B:-$BIN}" & pb=$!
trap 'kill $pa $pb 2>/dev/null || true; rm -rf "$cookies"' EXIT
for port in 3401 3402; do
    for _ in $(seq 100); do curl -s -o /dev/null "127.0.0.1:$port/untouched" && break; sleep 0.1; done
done
# The sessions each server's requests carry (bare axum sets none: a cookie of the same size).
for port in 3401 3402; do
    for _ in $(seq "$SESSIONS"); do
        curl -s -D - -o /dev/null "127.0.0.1:$port/write" |
            awk -F'[ ;]' 'tolower($1)=="set-cookie:" {c=$2} END {print c ? c : "id=" sprintf("%064d", 0)}'
    done >"$cookies/$port"
done
rate() {
    if [ "$SESSIONS" = 1 ]; then script=(-s bench/hot.lua); else script=(-s bench/load.lua); fi
    COOKIE=$(head -1 "$cookies/$1") COOKIES="$cookies/$1" taskset -c 1 \
        wrk -t1 -c"$C" -d"$D" "${script[@]}" "http://127.0.0.1:$1/$WORKLOAD" |
        awk '/Requests\/sec/ {print $2}'
}
ratios=()
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then a=$(rate 3401); b=$(rate 3402)
    else b=$(rate 3402); a=$(rate 3401); fi
    ratio=$(echo "$a / $b" | bc -l)
    ratios+=("$ratio")
    printf 'round %d: %s %.0f  %s %.0f  ratio %.3f\n' "$round" "$A" "$a" "$B" "$b" "$ratio"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{r[NR]=$1} END {printf "median ratio %.3f\n", r[int((NR+1)/2)]}'
