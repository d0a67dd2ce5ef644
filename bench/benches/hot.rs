//! A hot session: N clients (1, 4, 32) writing one session at once (`/write`, an
//! `update_count(|n| *n += 1)`), in process on a 2-worker runtime, bounded in requests.
//! Prints requests per second, the 99th percentile latency, and how many increments the
//! store lost (the final count against the number of successful writes), for this crate's
//! stores and tower-sessions' `MemoryStore`.
//!
//! `cargo bench -p typed-sessions-bench --bench hot` (the Redis and PostgreSQL rows need them on
//! `REDIS_URL` / `DATABASE_URL`).

use axum::Router;
use std::time::{Duration, Instant};
use typed_sessions::{
    FileStore, Key, MemoryStore, PostgresStore, RedisStore, SessionLayer, SqliteStore,
};
use typed_sessions_bench::{call, database_url, redis_url, router};

/// Writes per cell (all clients together).
const WRITES: usize = 4000;

async fn stacks(dir: &std::path::Path) -> Vec<(&'static str, Router)> {
    let key = Key::from_secret(&[7; 64]).unwrap();
    let sqlite = SqliteStore::connect(&format!("sqlite://{}", dir.join("hot.db").display()))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let postgres = PostgresStore::connect(&database_url())
        .await
        .unwrap()
        .with_table(Some("bench_hot"), "sessions")
        .unwrap();
    postgres.migrate().await.unwrap();
    let redis = RedisStore::connect(&redis_url())
        .await
        .unwrap()
        .with_prefix("bench-hot:");
    let ours = |layer: SessionLayer| router(layer).with_state(());
    vec![
        (
            "session MemoryStore",
            ours(SessionLayer::new(MemoryStore::new(), &key)),
        ),
        (
            "session FileStore",
            ours(SessionLayer::new(FileStore::open(dir).unwrap(), &key)),
        ),
        ("session SqliteStore", ours(SessionLayer::new(sqlite, &key))),
        ("session RedisStore", ours(SessionLayer::new(redis, &key))),
        (
            "session PostgresStore",
            ours(SessionLayer::new(postgres, &key)),
        ),
        (
            "tower-sessions MemoryStore",
            typed_sessions_bench::tower_sessions_router!(
                ::tower_sessions,
                ::tower_sessions::MemoryStore::default()
            )
            .with_state(()),
        ),
    ]
}

/// `clients` tasks share `writes` requests on the session of `cookie`: the throughput, the
/// 99th percentile latency, and the successful writes.
async fn run(
    router: &Router,
    cookie: &str,
    clients: usize,
    writes: usize,
) -> (f64, Duration, usize) {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let (router, cookie) = (router.clone(), cookie.to_owned());
        let share = writes / clients + usize::from(client < writes % clients);
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(share);
            for _ in 0..share {
                let sent = Instant::now();
                call(&router, "/write", Some(&cookie)).await;
                latencies.push(sent.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(writes);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    (
        latencies.len() as f64 / elapsed.as_secs_f64(),
        p99,
        latencies.len(),
    )
}

async fn count(router: &Router, cookie: &str) -> u64 {
    let response = tower::ServiceExt::oneshot(
        router.clone(),
        axum::http::Request::get("/count")
            .header("cookie", cookie)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let body = axum::body::to_bytes(response.into_body(), 64)
        .await
        .unwrap();
    std::str::from_utf8(&body).unwrap().parse().unwrap()
}

fn main() {
    // In test mode (`cargo test --benches`) a few writes per cell check that it runs.
    let writes = if std::env::args().any(|arg| arg == "--bench") {
        WRITES
    } else {
        64
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stacks = runtime.block_on(stacks(dir.path()));
    println!(
        "{:<28} {:>7} {:>10} {:>10} {:>6}",
        "stack", "clients", "req/s", "p99", "lost"
    );
    for (name, router) in &stacks {
        for clients in [1, 4, 32] {
            let (rate, p99, ok, lost) = runtime.block_on(async {
                let cookie = call(router, "/write", None).await.expect("a new session");
                let (rate, p99, ok) = run(router, &cookie, clients, writes).await;
                let lost = (1 + ok as u64).saturating_sub(count(router, &cookie).await);
                (rate, p99, ok, lost)
            });
            assert_eq!(ok, writes);
            println!(
                "{name:<28} {clients:>7} {rate:>10.0} {:>8.2}ms {lost:>6}",
                p99.as_secs_f64() * 1e3
            );
            if name.starts_with("session") {
                assert_eq!(lost, 0, "{name} lost increments");
            }
        }
    }
}
