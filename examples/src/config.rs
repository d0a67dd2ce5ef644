//! The demo's configuration, read from the environment.

use session::{
    CookieBackend, FileStore, Key, MemoryStore, PostgresStore, RedisStore, SessionLayer,
    SqliteStore,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// `REDIS_SENTINEL_MASTER` (default `mymaster`).
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

/// Everything the demo reads from its environment.
#[derive(Debug)]
pub struct DemoConfig {
    /// `SESSION_STORE`: `file` (default, in `SESSION_DIR`, default `./sessions`), `memory`,
    /// `cookie`, `signed-cookie`, `redis`, `redis-cluster`, `redis-sentinel`, `postgres` or
    /// `sqlite`.
    pub store: StoreKind,
    /// `PORT` (default 3000), always on 127.0.0.1.
    pub addr: SocketAddr,
    /// `SESSION_SECRET`: at least 64 bytes, used as given. Unset: a random key, with a
    /// warning, and sessions die with the process.
    pub key: Key,
    /// Whether `key` was generated because `SESSION_SECRET` was unset.
    pub key_generated: bool,
    /// `SESSION_IDLE_SECS` (default 1800).
    pub idle: Duration,
    /// `SESSION_SECURE=1` adds `Secure` to the cookie. Off by default in the demo, unlike
    /// the library, so that `curl` over plain HTTP keeps sending its cookie.
    pub secure: bool,
    /// `DEMO_CSRF=1`: unsafe methods on the cookie routes require `X-CSRF-Token`.
    pub csrf: bool,
    /// `DEMO_METRICS=1`: the session metrics at `GET /metrics`, in the Prometheus format.
    pub metrics: bool,
    /// `DEMO_REMEMBER_MAX_DAYS` (default 90): the longest `POST /remember?days=N` keeps a
    /// session, whatever N.
    pub remember_max_days: u64,
}

impl DemoConfig {
    /// Reads the configuration through `var` (`std::env::var` in the binary).
    ///
    /// # Errors
    /// A message naming the variable that is wrong.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let dir = var("SESSION_DIR").map_or_else(|| PathBuf::from("sessions"), PathBuf::from);
        let store = match var("SESSION_STORE").as_deref() {
            None | Some("file") => StoreKind::File(dir),
            Some("memory") => StoreKind::Memory,
            Some("cookie") => StoreKind::Cookie,
            Some("signed-cookie") => StoreKind::SignedCookie,
            Some("redis") => StoreKind::Redis(
                var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            ),
            Some("redis-cluster") => StoreKind::RedisCluster(list(
                &var,
                "REDIS_CLUSTER_NODES",
                "redis://127.0.0.1:7001,redis://127.0.0.1:7002,redis://127.0.0.1:7003",
            )),
            Some("redis-sentinel") => StoreKind::RedisSentinel {
                sentinels: list(
                    &var,
                    "REDIS_SENTINELS",
                    "redis://127.0.0.1:26379,redis://127.0.0.1:26380,redis://127.0.0.1:26381",
                ),
                master: var("REDIS_SENTINEL_MASTER").unwrap_or_else(|| "mymaster".into()),
            },
            Some("postgres") => StoreKind::Postgres(
                var("DATABASE_URL")
                    .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into()),
            ),
            Some("sqlite") => StoreKind::Sqlite(
                var("SQLITE_URL").unwrap_or_else(|| "sqlite://sessions.db".into()),
            ),
            Some(other) => {
                return Err(format!(
                    "SESSION_STORE={other:?}: expected `file`, `memory`, `cookie`, `signed-cookie`, `redis`, `redis-cluster`, `redis-sentinel`, `postgres` or `sqlite`"
                ));
            }
        };
        let port = parse(&var, "PORT", 3000u16)?;
        let (key, key_generated) = match var("SESSION_SECRET") {
            Some(secret) => (
                Key::from_secret(secret.as_bytes()).map_err(|e| format!("SESSION_SECRET: {e}"))?,
                false,
            ),
            None => (Key::generate(), true),
        };
        Ok(Self {
            store,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            key,
            key_generated,
            idle: Duration::from_secs(parse(&var, "SESSION_IDLE_SECS", 1800u64)?),
            secure: var("SESSION_SECURE").as_deref() == Some("1"),
            csrf: var("DEMO_CSRF").as_deref() == Some("1"),
            metrics: var("DEMO_METRICS").as_deref() == Some("1"),
            remember_max_days: parse(&var, "DEMO_REMEMBER_MAX_DAYS", 90u64)?.min(400),
        })
    }

    /// The session layer this configuration describes, with its store connected and its
    /// table created.
    ///
    /// # Errors
    /// A message naming the store that could not be opened.
    pub async fn layer(&self) -> Result<SessionLayer, String> {
        let key = &self.key;
        let layer = match &self.store {
            StoreKind::File(dir) => SessionLayer::new(
                FileStore::open(dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?,
                key,
            ),
            StoreKind::Memory => SessionLayer::new(MemoryStore::new(), key),
            // Revocation times in memory: this process's own. Several instances would
            // share a Redis or PostgreSQL store instead.
            StoreKind::Cookie => SessionLayer::new(CookieBackend::sealed(), key)
                .with_revocation_store(MemoryStore::new()),
            StoreKind::SignedCookie => SessionLayer::new(CookieBackend::signed(), key)
                .with_revocation_store(MemoryStore::new()),
            StoreKind::Redis(url) => SessionLayer::new(
                RedisStore::connect(url)
                    .await
                    .map_err(|e| format!("REDIS_URL: {e}"))?,
                key,
            ),
            StoreKind::RedisCluster(nodes) => {
                let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
                let store = RedisStore::connect_cluster(&nodes)
                    .await
                    .map_err(|e| format!("REDIS_CLUSTER_NODES: {e}"))?;
                SessionLayer::new(store, key)
            }
            StoreKind::RedisSentinel { sentinels, master } => {
                let sentinels: Vec<&str> = sentinels.iter().map(String::as_str).collect();
                let store = RedisStore::connect_sentinel(&sentinels, master)
                    .await
                    .map_err(|e| format!("REDIS_SENTINELS: {e}"))?;
                SessionLayer::new(store, key)
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
                SessionLayer::new(store, key)
            }
            StoreKind::Sqlite(url) => {
                let store = SqliteStore::connect(url)
                    .await
                    .map_err(|e| format!("SQLITE_URL: {e}"))?;
                store
                    .migrate()
                    .await
                    .map_err(|e| format!("creating the sessions table: {e}"))?;
                SessionLayer::new(store, key)
            }
        };
        let remember_limit = Duration::from_secs(self.remember_max_days * 24 * 60 * 60);
        Ok(layer
            .with_idle_timeout(self.idle)
            .with_secure(self.secure)
            .with_remember_limit(remember_limit))
    }

    /// The demo's options this configuration turns on.
    #[must_use]
    pub fn options(&self) -> crate::Options {
        crate::Options { csrf: self.csrf }
    }

    /// How the store is named in logs.
    #[must_use]
    pub fn store_name(&self) -> String {
        match &self.store {
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

/// A comma-separated list from `name`, or from `default`.
fn list(var: &impl Fn(&str) -> Option<String>, name: &str, default: &str) -> Vec<String> {
    var(name)
        .as_deref()
        .unwrap_or(default)
        .split(',')
        .map(|url| url.trim().to_owned())
        .collect()
}

fn parse<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| format!("{name}={text:?} is not a valid number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<DemoConfig, String> {
        DemoConfig::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_are_a_file_store_on_port_3000() {
        let config = config(&[]).unwrap();
        assert_eq!(config.store, StoreKind::File(PathBuf::from("sessions")));
        assert_eq!(config.addr, SocketAddr::from(([127, 0, 0, 1], 3000)));
        assert!(config.key_generated);
        assert_eq!(config.idle, Duration::from_secs(1800));
        assert!(!config.secure);
        assert!(!config.options().csrf, "off: existing clients keep working");
        assert!(!config.metrics);
        assert_eq!(config.remember_max_days, 90);
    }

    #[test]
    fn every_variable_is_read_and_bad_values_are_named() {
        let secret = "s".repeat(64);
        let vars = [
            ("SESSION_STORE", "memory"),
            ("PORT", "4000"),
            ("SESSION_SECRET", secret.as_str()),
            ("SESSION_IDLE_SECS", "60"),
            ("SESSION_SECURE", "1"),
            ("DEMO_CSRF", "1"),
            ("DEMO_METRICS", "1"),
        ];
        let config = config(&vars).unwrap();
        assert!(config.options().csrf);
        assert!(config.metrics);
        assert_eq!(
            (config.store, config.addr.port(), config.key_generated),
            (StoreKind::Memory, 4000, false)
        );
        assert_eq!(
            (config.idle, config.secure),
            (Duration::from_secs(60), true)
        );
        assert!(
            self::config(&[("SESSION_STORE", "floppy")])
                .unwrap_err()
                .contains("SESSION_STORE")
        );
        assert_eq!(
            self::config(&[("SESSION_STORE", "cookie")]).unwrap().store,
            StoreKind::Cookie
        );
        let signed = self::config(&[("SESSION_STORE", "signed-cookie")]).unwrap();
        assert_eq!(signed.store, StoreKind::SignedCookie);
        let redis =
            self::config(&[("SESSION_STORE", "redis"), ("REDIS_URL", "redis://h:1")]).unwrap();
        assert_eq!(redis.store, StoreKind::Redis("redis://h:1".into()));
        let cluster = self::config(&[("SESSION_STORE", "redis-cluster")]).unwrap();
        assert_eq!(
            cluster.store,
            StoreKind::RedisCluster(
                (7001..=7003)
                    .map(|port| format!("redis://127.0.0.1:{port}"))
                    .collect()
            )
        );
        let sentinel = self::config(&[
            ("SESSION_STORE", "redis-sentinel"),
            ("REDIS_SENTINELS", "redis://a:1, redis://b:2"),
        ])
        .unwrap();
        assert_eq!(
            sentinel.store,
            StoreKind::RedisSentinel {
                sentinels: vec!["redis://a:1".into(), "redis://b:2".into()],
                master: "mymaster".into()
            }
        );
        let postgres = self::config(&[("SESSION_STORE", "postgres")]).unwrap();
        assert_eq!(
            postgres.store,
            StoreKind::Postgres("postgres://postgres@127.0.0.1:5432/test".into())
        );
        let sqlite =
            self::config(&[("SESSION_STORE", "sqlite"), ("SQLITE_URL", "sqlite://x.db")]).unwrap();
        assert_eq!(sqlite.store, StoreKind::Sqlite("sqlite://x.db".into()));
        assert!(
            self::config(&[("SESSION_SECRET", "short")])
                .unwrap_err()
                .contains("SESSION_SECRET")
        );
        assert!(
            self::config(&[("PORT", "http")])
                .unwrap_err()
                .contains("PORT")
        );
    }
}
