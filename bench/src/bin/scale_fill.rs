//! Fills the store `bench_server` uses for `STACK` (`redis-cluster`, `redis` or `postgres`)
//! with `SESSIONS` live sessions of the demo's small idle record, through the public
//! `Store` API, 64 saves in flight; with `OWNERS=1`, each session of an owner of its own,
//! and then times 1,000 owner lookups. Prints one line of figures for `bench/scale.sh`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use typed_sessions::internals::bench::{encode_record, record, storage_key_of};
use typed_sessions::store::{SaveOutcome, StorageKey};
use typed_sessions::{Owner, PostgresStore, RedisStore, Store};
use typed_sessions_bench::{database_url, redis_cluster_nodes, redis_url};

const IN_FLIGHT: usize = 64;

#[tokio::main]
async fn main() {
    let stack = std::env::var("STACK").unwrap_or_else(|_| "redis-cluster".into());
    let sessions: usize = std::env::var("SESSIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let owners = std::env::var("OWNERS").is_ok_and(|v| v == "1");
    let store = store(&stack).await;
    let bytes = Arc::new(encode_record(&record(&[
        (
            "demo.user",
            postcard::to_allocvec(&Some("user-123456")).unwrap(),
        ),
        ("demo.visits", postcard::to_allocvec(&12u64).unwrap()),
    ])));
    // A run's owners are its own: a second run adds, it does not overwrite.
    let run = StorageKey::random().to_base64();
    let owner = move |n: usize| owners.then(|| Owner::new(format!("{}-{n}", &run[..8])).unwrap());
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..IN_FLIGHT {
        let (store, bytes, owner) = (Arc::clone(&store), Arc::clone(&bytes), owner.clone());
        workers.spawn(async move {
            let expires = SystemTime::now() + Duration::from_secs(6 * 3600);
            for n in (worker..sessions).step_by(IN_FLIGHT) {
                let owner = owner(n);
                let key = owner
                    .as_ref()
                    .map_or_else(StorageKey::random, storage_key_of);
                let saved = store
                    .save(&key, &bytes, expires, None, owner.as_ref())
                    .await
                    .expect("save");
                assert!(matches!(saved, SaveOutcome::Saved(_)), "{saved:?}");
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("worker");
    }
    let fill = started.elapsed();
    let lookup = if owners {
        let started = Instant::now();
        for n in (0..sessions).step_by((sessions / 1000).max(1)).take(1000) {
            let owned = store.owned(&owner(n).unwrap()).await.expect("owned");
            assert_eq!(owned.len(), 1, "each owner has its one session");
        }
        format!(
            " owner_lookup_us={:.0}",
            started.elapsed().as_secs_f64() * 1e6 / 1000.0
        )
    } else {
        String::new()
    };
    println!(
        "stack={stack} sessions={sessions} owners={owners} payload={} fill_s={:.1} saves_per_s={:.0}{lookup}",
        bytes.len(),
        fill.as_secs_f64(),
        sessions as f64 / fill.as_secs_f64()
    );
}

async fn store(stack: &str) -> Arc<dyn Store> {
    match stack {
        "redis-cluster" => {
            let nodes = redis_cluster_nodes();
            let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
            let store = RedisStore::connect_cluster(&nodes).await.expect("cluster");
            Arc::new(store.with_prefix("bench:"))
        }
        "redis" => {
            let store = RedisStore::connect(&redis_url()).await.expect("REDIS_URL");
            Arc::new(store.with_prefix("bench:"))
        }
        "postgres" => {
            let store = PostgresStore::connect(&database_url())
                .await
                .expect("DATABASE_URL")
                .with_table(Some("bench_session"), "sessions")
                .expect("name");
            store.migrate().await.expect("migrate");
            Arc::new(store)
        }
        other => panic!("STACK={other}: redis-cluster, redis or postgres"),
    }
}
