//! Where the demo keeps sessions (`SESSION_STORE`), and cookie sessions' revocations
//! (`SESSION_REVOCATION_STORE`).

use std::path::PathBuf;
use std::sync::Arc;
use typed_sessions::import::{
    TowerSessionsImport, TowerSessionsPostgres, TowerSessionsRedis, TowerSessionsSqlite,
};
use typed_sessions::{
    CookieBackend, FileStore, Key, MemoryStore, PostgresStore, RedisStore, SessionLayer,
    SqliteStore, Store,
};

/// Where the demo keeps sessions (`SESSION_STORE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// `file` (the default): one file per session under `SESSION_DIR`.
    File(PathBuf),
    /// `memory`: gone when the process ends.
    Memory,
    /// `cookie`: sealed in the cookie (XChaCha20-Poly1305); no server-side storage.
    Cookie,
    /// `signed-cookie`: signed in the cookie (HMAC-SHA256), readable by the client.
    SignedCookie,
    /// `redis`: at `REDIS_URL` (default `redis://127.0.0.1:6379`).
    Redis(String),
    /// `redis-cluster`: the Redis Cluster of `REDIS_CLUSTER_NODES` (comma-separated seed
    /// URLs, default the three masters `scripts/redis-cluster` starts on 7001-7003).
    RedisCluster(Vec<String>),
    /// `redis-sentinel`: the master that the sentinels of `REDIS_SENTINELS` (comma-separated
    /// URLs, default the three `scripts/redis-sentinel` starts on 26379-26381) know as
    /// `REDIS_SENTINEL_MASTER` (default `mymaster`; a URL such as
    /// `redis://:password@mymaster/2` for a master with a password or another database).
    RedisSentinel {
        /// The sentinels' URLs.
        sentinels: Vec<String>,
        /// The master's name.
        master: String,
    },
    /// `postgres`: at `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
    Postgres(String),
    /// `sqlite`: at `SQLITE_URL` (default `sqlite://sessions.db`).
    Sqlite(String),
}

/// Where cookie sessions' revocations are kept (`SESSION_REVOCATION_STORE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevocationStore {
    /// `memory` (the default): this process's own.
    Memory,
    /// `redis`: at `REDIS_URL` (default `redis://127.0.0.1:6379`).
    Redis(String),
    /// `postgres`: at `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
    Postgres(String),
}

const REDIS_URL: &str = "redis://127.0.0.1:6379";
const DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

impl StoreKind {
    /// `SESSION_STORE` and the variables of the store it names.
    ///
    /// # Errors
    /// An unknown `SESSION_STORE`.
    pub fn from_vars(var: &impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let dir = var("SESSION_DIR").map_or_else(|| PathBuf::from("sessions"), PathBuf::from);
        Ok(match var("SESSION_STORE").as_deref() {
            None | Some("file") => StoreKind::File(dir),
            Some("memory") => StoreKind::Memory,
            Some("cookie") => StoreKind::Cookie,
            Some("signed-cookie") => StoreKind::SignedCookie,
            Some("redis") => StoreKind::Redis(var("REDIS_URL").unwrap_or_else(|| REDIS_URL.into())),
            Some("redis-cluster") => StoreKind::RedisCluster(list(
                var,
                "REDIS_CLUSTER_NODES",
                "redis://127.0.0.1:7001,redis://127.0.0.1:7002,redis://127.0.0.1:7003",
            )),
            Some("redis-sentinel") => StoreKind::RedisSentinel {
                sentinels: list(
                    var,
                    "REDIS_SENTINELS",
                    "redis://127.0.0.1:26379,redis://127.0.0.1:26380,redis://127.0.0.1:26381",
                ),
                master: var("REDIS_SENTINEL_MASTER").unwrap_or_else(|| "mymaster".into()),
            },
            Some("postgres") => {
                StoreKind::Postgres(var("DATABASE_URL").unwrap_or_else(|| DATABASE_URL.into()))
            }
            Some("sqlite") => StoreKind::Sqlite(
                var("SQLITE_URL").unwrap_or_else(|| "sqlite://sessions.db".into()),
            ),
            Some(other) => {
                return Err(format!(
                    "SESSION_STORE={other:?}: expected `file`, `memory`, `cookie`, `signed-cookie`, `redis`, `redis-cluster`, `redis-sentinel`, `postgres` or `sqlite`"
                ));
            }
        })
    }

    /// A layer on this store, connected (its table created), with `key`; cookie sessions
    /// revoked through `revocations`.
    pub(super) async fn layer(
        &self,
        key: &Key,
        revocations: &RevocationStore,
    ) -> Result<SessionLayer, String> {
        Ok(match self {
            // Revocations where `SESSION_REVOCATION_STORE` says: instances that share
            // one reach each other's cookies.
            StoreKind::Cookie => SessionLayer::new(CookieBackend::sealed(), key)
                .with_revocation_store(revocations.open().await?),
            StoreKind::SignedCookie => SessionLayer::new(CookieBackend::signed(), key)
                .with_revocation_store(revocations.open().await?),
            _ => SessionLayer::new(self.server_store().await?, key),
        })
    }

    /// The store that keeps the sessions, connected (its table created). The cookie stores
    /// keep them in the browser: an error names that.
    ///
    /// # Errors
    /// A store that cannot be reached, and the cookie stores.
    pub async fn server_store(&self) -> Result<Arc<dyn Store>, String> {
        Ok(match self {
            StoreKind::File(dir) => Arc::new(
                FileStore::open(dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?,
            ),
            StoreKind::Memory => Arc::new(MemoryStore::new()),
            StoreKind::Cookie | StoreKind::SignedCookie => {
                return Err(
                    "SESSION_STORE=cookie or signed-cookie: cookie sessions live in the browser's cookies; there is no store"
                        .to_owned(),
                );
            }
            StoreKind::Redis(url) => Arc::new(
                RedisStore::connect(url)
                    .await
                    .map_err(|e| format!("REDIS_URL: {e}"))?,
            ),
            StoreKind::RedisCluster(nodes) => {
                let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
                Arc::new(
                    RedisStore::connect_cluster(&nodes)
                        .await
                        .map_err(|e| format!("REDIS_CLUSTER_NODES: {e}"))?,
                )
            }
            StoreKind::RedisSentinel { sentinels, master } => {
                let sentinels: Vec<&str> = sentinels.iter().map(String::as_str).collect();
                Arc::new(
                    RedisStore::connect_sentinel(&sentinels, master)
                        .await
                        .map_err(|e| format!("REDIS_SENTINELS: {e}"))?,
                )
            }
            StoreKind::Postgres(url) => {
                let pool = sqlx::PgPool::connect(url)
                    .await
                    .map_err(|e| format!("DATABASE_URL: {e}"))?;
                let store = PostgresStore::from_pool(pool);
                store
                    .migrate()
                    .await
                    .map_err(|e| format!("creating the sessions table: {e}"))?;
                Arc::new(store)
            }
            StoreKind::Sqlite(url) => {
                let store = SqliteStore::connect(url)
                    .await
                    .map_err(|e| format!("SQLITE_URL: {e}"))?;
                store
                    .migrate()
                    .await
                    .map_err(|e| format!("creating the sessions table: {e}"))?;
                Arc::new(store)
            }
        })
    }

    /// tower-sessions' sessions, in its store beside this one (`SESSION_IMPORT`).
    ///
    /// # Errors
    /// A store kind tower-sessions has no store of here, or one that cannot be reached.
    pub(super) async fn tower_sessions(&self) -> Result<TowerSessionsImport, String> {
        Ok(match self {
            StoreKind::Redis(url) => TowerSessionsImport::new(TowerSessionsRedis::new(
                RedisStore::connect(url)
                    .await
                    .map_err(|e| format!("REDIS_URL: {e}"))?,
            )),
            StoreKind::Postgres(url) => TowerSessionsImport::new(TowerSessionsPostgres::new(
                sqlx::PgPool::connect(url)
                    .await
                    .map_err(|e| format!("DATABASE_URL: {e}"))?,
            )),
            StoreKind::Sqlite(url) => TowerSessionsImport::new(TowerSessionsSqlite::new(
                sqlx::SqlitePool::connect(url)
                    .await
                    .map_err(|e| format!("SQLITE_URL: {e}"))?,
            )),
            _ => {
                return Err(
                    "SESSION_IMPORT=tower-sessions needs SESSION_STORE=redis, postgres or sqlite"
                        .to_owned(),
                );
            }
        })
    }

    /// How the store is named in logs.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            StoreKind::File(dir) => format!("file ({})", dir.display()),
            StoreKind::Memory => "memory".to_owned(),
            StoreKind::Cookie => "sealed cookie".to_owned(),
            StoreKind::SignedCookie => "signed cookie".to_owned(),
            StoreKind::Redis(_) => "redis".to_owned(),
            StoreKind::RedisCluster(nodes) => format!("redis cluster ({})", nodes.join(",")),
            StoreKind::RedisSentinel { sentinels, master } => {
                format!("redis sentinel ({master} from {})", sentinels.join(","))
            }
            StoreKind::Postgres(_) => "postgres".to_owned(),
            StoreKind::Sqlite(url) => format!("sqlite ({url})"),
        }
    }
}

impl RevocationStore {
    /// `SESSION_REVOCATION_STORE`.
    pub(super) fn from_vars(var: &impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        Ok(match var("SESSION_REVOCATION_STORE").as_deref() {
            None | Some("memory") => Self::Memory,
            Some("redis") => Self::Redis(var("REDIS_URL").unwrap_or_else(|| REDIS_URL.into())),
            Some("postgres") => {
                Self::Postgres(var("DATABASE_URL").unwrap_or_else(|| DATABASE_URL.into()))
            }
            Some(other) => {
                return Err(format!(
                    "SESSION_REVOCATION_STORE={other:?}: expected `memory`, `redis` or `postgres`"
                ));
            }
        })
    }

    /// The store, connected (its table created).
    async fn open(&self) -> Result<Arc<dyn Store>, String> {
        Ok(match self {
            Self::Memory => Arc::new(MemoryStore::new()),
            Self::Redis(url) => Arc::new(
                RedisStore::connect(url)
                    .await
                    .map_err(|e| format!("REDIS_URL (revocations): {e}"))?,
            ),
            Self::Postgres(url) => {
                let store = PostgresStore::connect(url)
                    .await
                    .map_err(|e| format!("DATABASE_URL (revocations): {e}"))?;
                store
                    .migrate()
                    .await
                    .map_err(|e| format!("creating the revocations table: {e}"))?;
                Arc::new(store)
            }
        })
    }
}

/// A comma-separated list from `name`, or from `default`.
fn list(var: &impl Fn(&str) -> Option<String>, name: &str, default: &str) -> Vec<String> {
    var(name)
        .as_deref()
        .unwrap_or(default)
        .split(',')
        .map(|url| url.trim().to_owned())
        .collect()
}
