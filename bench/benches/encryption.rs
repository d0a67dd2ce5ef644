//! What encryption at rest costs a request on the stores it is for: a read and a write of a
//! 256-byte record on Redis and PostgreSQL (and the memory store, where nothing else hides
//! it), plain against sealed. A store's latency drifts far more than sealing costs, so the
//! two are measured in alternating rounds of `REQUESTS` requests each, and the table gives
//! the median round of each and their ratio.
//!
//! `taskset -c 1 cargo bench -p typed-sessions-bench --bench encryption` (Redis and
//! PostgreSQL on `REDIS_URL` / `DATABASE_URL`).

use axum::Router;
use std::time::{Duration, Instant};
use typed_sessions::encryption::{Encryption, KeyRing};
use typed_sessions::store::Store;
use typed_sessions::{Key, MemoryStore, PostgresStore, RedisStore, SessionLayer};
use typed_sessions_bench::stacks::WORKLOADS;
use typed_sessions_bench::{call, database_url, median, padded_router, redis_url};

/// Requests per round, per store: memory, Redis, PostgreSQL.
const REQUESTS: [u32; 3] = [20_000, 1_000, 500];
const ROUNDS: usize = 9;

/// `store` plain and sealed.
fn both(store: impl Store + Clone, key: &Key) -> [Router; 2] {
    let sealed = Encryption::on(KeyRing::new(1, key));
    [
        padded_router(SessionLayer::new(store.clone(), key)).with_state(()),
        padded_router(SessionLayer::new(store, key).with_encryption(sealed)).with_state(()),
    ]
}

/// The time per request of `requests` requests of `path`.
async fn round(router: &Router, path: &str, cookie: Option<&str>, requests: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..requests {
        std::hint::black_box(call(router, path, cookie).await);
    }
    start.elapsed() / requests
}

fn main() {
    let (rounds, scale) = typed_sessions_bench::rounds(ROUNDS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let key = Key::from_secret(&[7; 64]).unwrap();
        let redis = RedisStore::connect(&redis_url()).await.unwrap();
        let postgres = PostgresStore::connect(&database_url())
            .await
            .unwrap()
            .with_table(Some("bench_encryption"), "sessions")
            .unwrap();
        postgres.migrate().await.unwrap();
        let stores = [
            ("MemoryStore", both(MemoryStore::new(), &key)),
            (
                "RedisStore",
                both(redis.with_prefix("bench-encryption:"), &key),
            ),
            ("PostgresStore", both(postgres, &key)),
        ];
        println!("| store | workload | plain | encrypted | encrypted / plain |");
        println!("|---|---|---|---|---|");
        for ((name, [plain, sealed]), requests) in stores.iter().zip(REQUESTS) {
            for workload in &WORKLOADS[1..3] {
                let cookies = [workload.cookie(plain).await, workload.cookie(sealed).await];
                let (mut plain_times, mut sealed_times) = (Vec::new(), Vec::new());
                let requests = (requests / scale).max(1);
                for _ in 0..rounds {
                    let path = workload.path;
                    plain_times.push(round(plain, path, cookies[0].as_deref(), requests).await);
                    sealed_times.push(round(sealed, path, cookies[1].as_deref(), requests).await);
                }
                let (plain, sealed) = (median(plain_times), median(sealed_times));
                println!(
                    "| {name} | {} | {plain:.2?} | {sealed:.2?} | {:.3} |",
                    workload.name,
                    sealed.as_secs_f64() / plain.as_secs_f64()
                );
            }
        }
    });
}
