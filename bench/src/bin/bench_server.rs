//! The load benchmark's server: `/untouched`, `/read` and `/write` on one stack, chosen by
//! `STACK`: `bare`, `memory`, `file`, `cookie`, `redis`, `redis-cluster` and
//! `redis-sentinel` (on the set-ups of `scripts/`), `postgres`, `postgres-durable`,
//! `sqlite`, `sqlite-defaults`, `noop-layer` (bare axum behind a layer that does nothing),
//! `tower-sessions` (its memory store), and with the `compare` feature tower-sessions' other
//! stores: `tower-sessions-file`, `tower-sessions-redis`, `tower-sessions-redis-cluster`,
//! `tower-sessions-postgres`, `tower-sessions-sqlite`. Listens on 127.0.0.1:`PORT`. Run by
//! `bench/load.sh`.

use axum::Router;
use std::str::FromStr;
use typed_sessions::{
    CookieBackend, FileStore, Key, MemoryStore, PostgresStore, RedisStore, SessionLayer,
    SqliteStore,
};
use typed_sessions_bench::{
    bare, database_url, redis_cluster_nodes, redis_url, router as ours, tower_sessions_router,
};

/// tower-sessions with each of its stores, for the comparison.
#[cfg(feature = "compare")]
async fn compare(stack: &str) -> Router {
    match stack {
        "tower-sessions-file" => {
            let dir = std::path::PathBuf::from("target/bench-ts-files");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("dir");
            tower_sessions_router!(
                tower_sessions,
                tower_sessions_file_store::FileSessionStorage::new_in_folder(dir)
            )
        }
        // The same cluster as ours, through fred's cluster support.
        "tower-sessions-redis" | "tower-sessions-redis-cluster" => {
            use fred::prelude::{ClientLike, Config, Pool};
            let url = if stack == "tower-sessions-redis" {
                redis_url()
            } else {
                let nodes = redis_cluster_nodes();
                let (first, rest) = nodes.split_first().expect("a node");
                let host = |url: &str| url.trim_start_matches("redis://").to_owned();
                let rest: Vec<String> = rest.iter().map(|n| format!("node={}", host(n))).collect();
                format!("redis-cluster://{}?{}", host(first), rest.join("&"))
            };
            let pool = Pool::new(
                Config::from_url(&url).expect("a Redis URL"),
                None,
                None,
                None,
                6,
            )
            .expect("pool");
            // The connection task runs in the background; its handle is not needed.
            drop(pool.connect());
            pool.wait_for_connect().await.expect("redis");
            tower_sessions_router!(
                tower_sessions_014,
                tower_sessions_redis_store::RedisStore::new(pool)
            )
        }
        "tower-sessions-postgres" => {
            let pool = sqlx08::PgPool::connect(&database_url())
                .await
                .expect("DATABASE_URL");
            let store = tower_sessions_sqlx_store::PostgresStore::new(pool)
                .with_schema_name("bench_tower_sessions")
                .expect("schema");
            store.migrate().await.expect("migrate");
            tower_sessions_router!(tower_sessions_014, store)
        }
        // On sqlx's default options, as tower-sessions' docs open a pool.
        "tower-sessions-sqlite" => {
            let path = "target/bench-tower-sessions.db";
            let _ = std::fs::remove_file(path);
            let store = typed_sessions_bench::tower_sqlite::TowerSqliteStore::open(&format!(
                "sqlite://{path}"
            ))
            .await
            .expect("open");
            tower_sessions_router!(tower_sessions, store)
        }
        other => panic!("unknown STACK {other:?}"),
    }
}

#[cfg(not(feature = "compare"))]
async fn compare(stack: &str) -> Router {
    panic!("STACK={stack} needs `--features compare`")
}

#[tokio::main]
async fn main() {
    let stack = std::env::var("STACK").unwrap_or_else(|_| "memory".into());
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3100);
    let key = Key::from_secret(&[7; 64]).expect("64 bytes");
    let app = match stack.as_str() {
        "bare" => bare(),
        "noop-layer" => typed_sessions_bench::noop_layer(),
        "tower-sessions" => {
            tower_sessions_router!(tower_sessions, tower_sessions::MemoryStore::default())
        }
        "memory" => ours(SessionLayer::new(MemoryStore::new(), &key)),
        "file" => {
            let dir =
                std::env::var("SESSION_DIR").unwrap_or_else(|_| "target/bench-sessions".into());
            ours(SessionLayer::new(
                FileStore::open(dir).expect("session dir"),
                &key,
            ))
        }
        "cookie" => ours(SessionLayer::new(CookieBackend::sealed(), &key)),
        "redis-sentinel" => {
            let sentinels = ["redis://127.0.0.1:26379", "redis://127.0.0.1:26380"];
            ours(SessionLayer::new(
                RedisStore::connect_sentinel(&sentinels, "mymaster")
                    .await
                    .expect("sentinel URLs")
                    .with_prefix("bench:"),
                &key,
            ))
        }
        "redis-cluster" => {
            let nodes = redis_cluster_nodes();
            let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
            ours(SessionLayer::new(
                RedisStore::connect_cluster(&nodes)
                    .await
                    .expect("REDIS_CLUSTER_NODES")
                    .with_prefix("bench:"),
                &key,
            ))
        }
        "redis" => {
            let url = redis_url();
            ours(SessionLayer::new(
                RedisStore::connect(&url)
                    .await
                    .expect("REDIS_URL")
                    .with_prefix("bench:"),
                &key,
            ))
        }
        // `PostgresStore::connect` (commits that do not wait for the disk), and the same
        // store on a pool with sqlx's defaults (every commit durable), for comparison.
        "postgres" | "postgres-durable" => {
            let store = if stack == "postgres" {
                PostgresStore::connect(&database_url())
                    .await
                    .expect("DATABASE_URL")
            } else {
                PostgresStore::from_pool(
                    sqlx::PgPool::connect(&database_url())
                        .await
                        .expect("DATABASE_URL"),
                )
            };
            let store = store
                .with_table(Some("bench_session"), "sessions")
                .expect("name");
            store.migrate().await.expect("migrate");
            ours(SessionLayer::new(store, &key))
        }
        // SQLite as `SqliteStore::open` sets it up (WAL, synchronous = NORMAL, busy timeout,
        // 4 connections), and the same store on sqlx's default options, for comparison.
        "sqlite" | "sqlite-defaults" => {
            let path = format!("target/bench-{stack}.db");
            let _ = std::fs::remove_file(&path);
            let url = format!("sqlite://{path}");
            let store = if stack == "sqlite" {
                SqliteStore::connect(&url).await.expect("open")
            } else {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                    .expect("url")
                    .create_if_missing(true);
                SqliteStore::from_pool(sqlx::SqlitePool::connect_with(options).await.expect("open"))
            };
            store.migrate().await.expect("migrate");
            ours(SessionLayer::new(store, &key))
        }
        other => compare(other).await,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
