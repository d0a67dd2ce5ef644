//! The load benchmark's server: `/untouched`, `/read` and `/write` on one stack, chosen by
//! `STACK`: `bare`, `memory`, `file`, `cookie`, `redis`, `postgres`, `postgres-durable`,
//! `sqlite`, `sqlite-defaults`, and with the `compare` feature tower-sessions on each of its
//! stores: `tower-sessions` (memory), `tower-sessions-file`, `tower-sessions-redis`,
//! `tower-sessions-postgres`. Listens on 127.0.0.1:`PORT`. Run by `examples/load.sh`.

use axum::Router;
use axum::routing::get;
use session::{
    CookieStore, FileStore, Key, MemoryStore, PostgresStore, RedisStore, Session, SessionLayer,
    SqliteStore,
};
use std::str::FromStr;

#[derive(Session, Default)]
struct Counter {
    count: u64,
}

fn ours(layer: SessionLayer) -> Router {
    Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route(
            "/read",
            get(|c: Session<Counter>| async move { c.count().to_string() }),
        )
        .route(
            "/write",
            get(|c: Session<Counter>| async move {
                c.update_count(|n| {
                    *n += 1;
                    *n
                })
                .to_string()
            }),
        )
        .layer(layer)
}

/// The same three routes on tower-sessions (`$ts`: the crate, 0.14 or 0.15) over `$store`.
#[cfg(feature = "compare")]
macro_rules! tower_sessions {
    ($ts:ident, $store:expr) => {{
        use $ts::{Session, SessionManagerLayer};
        async fn read(session: Session) -> String {
            session
                .get::<u64>("count")
                .await
                .ok()
                .flatten()
                .unwrap_or(0)
                .to_string()
        }
        async fn write(session: Session) -> String {
            let n = session
                .get::<u64>("count")
                .await
                .ok()
                .flatten()
                .unwrap_or(0)
                + 1;
            let _ = session.insert("count", n).await;
            n.to_string()
        }
        Router::new()
            .route("/untouched", get(|| async { "ok" }))
            .route("/read", get(read))
            .route("/write", get(write))
            .layer(SessionManagerLayer::new($store).with_secure(false))
    }};
}

/// tower-sessions with each of its stores, for the comparison.
#[cfg(feature = "compare")]
async fn compare(stack: &str) -> Router {
    match stack {
        // Bare axum behind a layer that does nothing: what wrapping routes in any layer costs.
        "noop-layer" => bare().layer(tower::util::MapRequestLayer::new(
            std::convert::identity::<axum::extract::Request>,
        )),
        "tower-sessions" => tower_sessions!(tower_sessions, tower_sessions::MemoryStore::default()),
        "tower-sessions-file" => {
            let dir = std::path::PathBuf::from("target/bench-ts-files");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("dir");
            tower_sessions!(
                tower_sessions,
                tower_sessions_file_store::FileSessionStorage::new_in_folder(dir)
            )
        }
        "tower-sessions-redis" => {
            use fred::prelude::{ClientLike, Config, Pool};
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let pool = Pool::new(
                Config::from_url(&url).expect("REDIS_URL"),
                None,
                None,
                None,
                6,
            )
            .expect("pool");
            // The connection task runs in the background; its handle is not needed.
            drop(pool.connect());
            pool.wait_for_connect().await.expect("redis");
            tower_sessions!(
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
            tower_sessions!(tower_sessions_014, store)
        }
        other => panic!("unknown STACK {other:?}"),
    }
}

#[cfg(not(feature = "compare"))]
async fn compare(stack: &str) -> Router {
    panic!("STACK={stack} needs `--features compare`")
}

/// The three routes with no session layer: the ceiling.
fn bare() -> Router {
    Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route("/read", get(|| async { "0" }))
        .route("/write", get(|| async { "1" }))
}

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
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
        "memory" => ours(SessionLayer::new(MemoryStore::new(), &key)),
        "file" => {
            let dir =
                std::env::var("SESSION_DIR").unwrap_or_else(|_| "target/bench-sessions".into());
            ours(SessionLayer::new(
                FileStore::new(dir).expect("session dir"),
                &key,
            ))
        }
        "cookie" => ours(SessionLayer::new(CookieStore::new(), &key)),
        "redis" => {
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            ours(SessionLayer::new(
                RedisStore::new(&url)
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
                PostgresStore::new(
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
                SqliteStore::open(&url).await.expect("open")
            } else {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                    .expect("url")
                    .create_if_missing(true);
                SqliteStore::new(sqlx::SqlitePool::connect_with(options).await.expect("open"))
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
