#!/usr/bin/env bash
# Scale, measured: a million live sessions on the Redis Cluster (3 masters, from
# scripts/redis-cluster) and on PostgreSQL, then the bytes each session costs the store,
# requests per second and p99 for read and write over one thousand live sessions among
# them, and the owner index at a million owners (bytes per owner, one lookup's time).
# Bounded: two fills of SESSIONS per store, and 2 x DURATION of wrk per store.
#
#   bench/scale.sh                                  # 1,000,000 sessions, 5 s of wrk each
#   SESSIONS=100000 DURATION=2s STORES=postgres bench/scale.sh
#
# The memory store at ten million: `SCALE_SESSIONS=10000000 cargo bench -p
# typed-sessions-bench --bench scale` (resident bytes per session).
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${SESSIONS:-1000000}
DURATION=${DURATION:-5s}
STORES=(${STORES:-redis-cluster postgres})
PORT=${PORT:-3480}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --bin bench_server --bin scale_fill -p typed-sessions-bench
server=
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true' EXIT

# Bytes the store holds now: the masters' `used_memory`, or the table's and its indexes'.
held() {
    case $1 in
    redis-cluster)
        for port in 7001 7002 7003; do
            redis-cli -p "$port" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'
        done | awk '{ n += $1 } END { print n }' ;;
    postgres)
        psql -qtA -h 127.0.0.1 -U postgres -d test -c \
            "SELECT pg_table_size('bench_session.sessions') || ' ' || pg_indexes_size('bench_session.sessions')" ;;
    esac
}

empty() {
    case $1 in
    redis-cluster)
        scripts/redis-cluster start >/dev/null
        for port in 7001 7002 7003; do redis-cli -p "$port" flushall >/dev/null; done ;;
    postgres)
        psql -q -h 127.0.0.1 -U postgres -d test -c "DROP SCHEMA IF EXISTS bench_session CASCADE" ;;
    esac
}

for stack in "${STORES[@]}"; do
    empty "$stack"
    STACK=$stack SESSIONS=1 target/release/scale_fill >/dev/null # creates the table
    [ "$stack" = postgres ] && psql -q -h 127.0.0.1 -U postgres -d test -c "VACUUM ANALYZE bench_session.sessions"
    before=$(held "$stack")
    STACK=$stack SESSIONS=$SESSIONS target/release/scale_fill
    [ "$stack" = postgres ] && psql -q -h 127.0.0.1 -U postgres -d test -c "VACUUM ANALYZE bench_session.sessions"
    sessions=$(held "$stack")
    STACK=$stack SESSIONS=$SESSIONS OWNERS=1 target/release/scale_fill
    [ "$stack" = postgres ] && psql -q -h 127.0.0.1 -U postgres -d test -c "VACUUM ANALYZE bench_session.sessions"
    owned=$(held "$stack")
    echo "$stack: held before/after sessions/after owned sessions: $before / $sessions / $owned"
    echo "$before $sessions $owned" | awk -v n="$SESSIONS" -v s="$stack" '{
        if (NF == 6) { # PostgreSQL: table bytes, index bytes
            printf "%s: per session %.0f bytes (table %.0f + indexes %.0f); an owned session %.0f (its owner in the index: %.0f more)\n",
                s, ($3 + $4 - $1 - $2) / n, ($3 - $1) / n, ($4 - $2) / n, ($5 + $6 - $3 - $4) / n, ($5 + $6 - $3 - $4 - ($3 + $4 - $1 - $2)) / n
        } else {
            printf "%s: per session %.0f bytes; an owned session %.0f (its owner index: %.0f more)\n",
                s, ($2 - $1) / n, ($3 - $2) / n, ($3 - $2 - ($2 - $1)) / n
        }
    }'

    STACK=$stack PORT=$PORT TOKIO_WORKER_THREADS=1 taskset -c 0 target/release/bench_server &
    server=$!
    for _ in $(seq 100); do curl -s -o /dev/null "127.0.0.1:$PORT/untouched" && break; sleep 0.1; done
    cookies=$(mktemp)
    for _ in $(seq 1000); do
        curl -s -D - -o /dev/null "127.0.0.1:$PORT/write" | awk -F'[ ;]' 'tolower($1)=="set-cookie:" {print $2}'
    done >"$cookies"
    for workload in read write; do
        out=$(COOKIES=$cookies taskset -c 1 wrk -t1 -c32 -d"$DURATION" --latency -s bench/load.lua \
            "http://127.0.0.1:$PORT/$workload")
        echo "$stack $workload over 1,000 of $((2 * SESSIONS)) live sessions:" \
            "$(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s," \
            "p99 $(echo "$out" | awk '$1 == "99%" {print $2}'), errors $(echo "$out" | awk '/^errors/ {print $2}')"
    done
    rm -f "$cookies"
    kill "$server"; wait "$server" 2>/dev/null || true; server=
done
