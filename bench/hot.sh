#!/usr/bin/env bash
# A hot session over real sockets: one session written (`/write`, `update_count(|n| *n += 1)`)
# by 1, 4 and 32 wrk connections at once, for each stack; then `/count` is read and checked
# against the successful writes: this crate must lose none, tower-sessions' losses are
# reported. With PROCESSES=2, two `bench_server` processes share the store (Redis,
# PostgreSQL) and each gets half the connections. Servers run as deployed, on a runtime of
# WORKERS threads: by default 2 (both cores, shared with wrk), or 1 with PIN=1 (the server
# has one core, and tokio starts one worker per core it may run on). With one worker, two
# requests of a session overlap only while one waits for its store. Bounded: stacks x 3 x
# DURATION.
#
#   bench/hot.sh                                             # every stack, 3 s each
#   STACKS="memory redis" PROCESSES=2 DURATION=2s bench/hot.sh
#   PIN=1 bench/hot.sh     # servers on core 0, wrk on core 1 (as the issue measures)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-3s}
PROCESSES=${PROCESSES:-1}
STACKS=(${STACKS:-memory file sqlite sqlite-defaults redis postgres tower-sessions tower-sessions-file tower-sessions-sqlite tower-sessions-redis tower-sessions-postgres})
BASE_PORT=${BASE_PORT:-3290}
server_cpu=(); client_cpu=(); workers=2
if [ "${PIN:-0}" = 1 ]; then server_cpu=(taskset -c 0); client_cpu=(taskset -c 1); workers=1; fi
WORKERS=${WORKERS:-$workers}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --features compare --bin bench_server -p typed-sessions-bench
rm -rf target/bench-sessions target/bench-ts-files

pids=()
misses=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
printf '%-26s %9s %7s %10s %9s %7s %7s\n' stack processes clients "req/s" "p99 ms" failed lost
for stack in "${STACKS[@]}"; do
    ports=()
    for p in $(seq "$PROCESSES"); do
        port=$((BASE_PORT + p))
        STACK=$stack PORT=$port TOKIO_WORKER_THREADS=$WORKERS "${server_cpu[@]}" target/release/bench_server &
        pids+=($!)
        ports+=("$port")
        for _ in $(seq 100); do curl -s -o /dev/null "127.0.0.1:$port/untouched" && break; sleep 0.1; done
    done
    for clients in 1 4 32; do
        cookie=$(curl -s -D - -o /dev/null "127.0.0.1:${ports[0]}/write" |
            awk -F'[ ;]' 'tolower($1)=="set-cookie:" {print $2}')
        per=$(( (clients + PROCESSES - 1) / PROCESSES ))
        outs=(); wrks=()
        for port in "${ports[@]}"; do
            out=$(mktemp)
            COOKIE=$cookie "${client_cpu[@]}" wrk -t1 -c"$per" -d"$DURATION" -s bench/hot.lua \
                "http://127.0.0.1:$port/write" >"$out" &
            outs+=("$out"); wrks+=($!)
        done
        wait "${wrks[@]}"
        requests=0; failed=0; rate=0; p99=0
        for out in "${outs[@]}"; do
            requests=$((requests + $(awk '/^requests/ {print $2}' "$out")))
            failed=$((failed + $(awk '/^failed/ {print $2}' "$out")))
            rate=$(echo "$rate + $(awk '/Requests\/sec/ {print $2}' "$out")" | bc -l)
            p99=$(awk -v p="$p99" '/^p99/ {print ($2 > p ? $2 : p)}' "$out")
            rm -f "$out"
        done
        count=$(curl -s -H "Cookie: $cookie" "127.0.0.1:${ports[0]}/count")
        # wrk does not count the requests in flight when it stops, which the server may
        # still have applied: an acknowledged write is lost only if the count is below them.
        lost=$((1 + requests - failed - count))
        [ "$lost" -ge 0 ] || lost=0
        printf '%-26s %9s %7s %10.0f %9s %7s %7s\n' "$stack" "$PROCESSES" "$clients" "$rate" "$p99" "$failed" "$lost"
        case $stack in
            tower-sessions*) ;;
            *) [ "$lost" = 0 ] && [ "$failed" = 0 ] || misses+=("$stack, $clients clients: lost $lost, failed $failed") ;;
        esac
    done
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    pids=()
done
if [ "${#misses[@]}" -gt 0 ]; then
    printf 'error: %s\n' "${misses[@]}" >&2
    exit 1
fi
