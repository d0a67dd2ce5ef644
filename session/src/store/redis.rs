//! Sessions in Redis: shared by every instance, expired by Redis itself.

use super::{BoxFuture, SaveOutcome, Store, StoreError, StoredRecord, Version};
use crate::SessionId;
use crate::time::{from_unix_ms, unix_ms};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Client, Cmd, Pipeline, RedisFuture, Script, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// `version (8) | expires at, Unix ms (8)`, before the record in every value.
const HEADER_LEN: usize = 16;

/// Compare-and-swap in one round trip. `ARGV[1]`: the expected version (8 bytes), or empty
/// to create. `ARGV[2]`: the new value, `version | expires at | data`. `ARGV[3]`:
/// milliseconds to live.
/// Returns 1 saved, 0 conflict, -1 missing.
const SAVE: &str = r"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return 0 end
else
  if not current then return -1 end
  if string.sub(current, 1, 8) ~= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// A new expiry for a live session, in the value and as its TTL. `ARGV[1]`: expires at,
/// Unix ms, as the value's 8 bytes; `ARGV[2]`: the same as a number. Returns 1, or 0 if
/// there is no such session.
const TOUCH: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SETRANGE', KEYS[1], 8, ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
";

/// Sessions in Redis, one key per session (`prefix` + the base64url of the
/// [storage key](crate::SessionId::storage_key)), each a single string holding
/// `version (8 bytes) | expires at (8 bytes) | record`.
///
/// - Expiry is the key's TTL as well: Redis evicts expired sessions itself.
/// - A read is one `GET`; a save is one round trip (a Lua compare-and-swap); a refresh of
///   the idle expiry is one (a Lua script that sets the expiry in the value and the TTL).
/// - Every command touches a single key, so a Redis Cluster works:
///   [`RedisStore::cluster`] talks to one through the `redis` crate's cluster client, which
///   learns the slot map and follows `MOVED`/`ASK` redirections. Sentinel is not supported
///   yet.
/// - Built on the `redis` crate's connection manager (or its cluster client): the store can
///   be created while Redis is down, and reconnects by itself after Redis restarts.
///   Meanwhile requests that use the session get the layer's store-error response (503) and
///   the others are unaffected.
///
/// # Example
/// ```no_run
/// use session::{Key, RedisStore, SessionLayer};
/// let store = RedisStore::new("redis://127.0.0.1:6379")?.with_prefix("myapp:session:");
/// let layer = SessionLayer::new(store, &Key::generate());
/// # let _ = layer;
/// # Ok::<(), session::StoreError>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    prefix: Arc<str>,
    save: Arc<Script>,
    touch: Arc<Script>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://host:port/db`), with the key prefix
    /// `session:`. Connects on first use.
    ///
    /// # Errors
    /// When `url` is not a valid Redis URL.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(StoreError::backend)?;
        // Fail fast while Redis is down (the layer answers 503) instead of queueing requests.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(StoreError::backend)?;
        Ok(Self::on(Connection::Single(connection)))
    }

    /// A store on the Redis Cluster that `nodes` (`redis://host:port` URLs, any of its
    /// nodes) belong to, with the key prefix `session:`. Connects on first use, learns the
    /// slot map and follows redirections. Each operation sends the same commands as on one
    /// server, to the master that holds the key.
    ///
    /// ```no_run
    /// use session::{Key, RedisStore, SessionLayer};
    /// let nodes = ["redis://127.0.0.1:7001", "redis://127.0.0.1:7002"];
    /// let layer = SessionLayer::new(RedisStore::cluster(&nodes)?, &Key::generate());
    /// # let _ = layer;
    /// # Ok::<(), session::StoreError>(())
    /// ```
    ///
    /// # Errors
    /// When a URL is not a valid Redis URL.
    pub fn cluster(nodes: &[&str]) -> Result<Self, StoreError> {
        let client = ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(2))
            .retries(1)
            .build()
            .map_err(StoreError::backend)?;
        Ok(Self::on(Connection::Cluster(Arc::new(LazyCluster {
            client,
            connection: tokio::sync::OnceCell::new(),
        }))))
    }

    fn on(connection: Connection) -> Self {
        Self {
            connection,
            prefix: Arc::from("session:"),
            save: Arc::new(Script::new(SAVE)),
            touch: Arc::new(Script::new(TOUCH)),
        }
    }

    /// A connection to use for one operation (a cheap clone of a shared one).
    async fn connection(&self) -> Result<Active, StoreError> {
        match &self.connection {
            Connection::Single(connection) => Ok(Active::Single(connection.clone())),
            Connection::Cluster(cluster) => cluster
                .connection
                .get_or_try_init(|| cluster.client.get_async_connection())
                .await
                .map(|connection| Active::Cluster(connection.clone()))
                .map_err(backend),
        }
    }

    /// Prefixes every key with `prefix` (default `session:`).
    #[must_use = "the builder returns a new store"]
    pub fn with_prefix(mut self, prefix: impl Into<Arc<str>>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, id: &SessionId) -> String {
        format!("{}{}", self.prefix, id.to_base64())
    }
}

fn backend(error: redis::RedisError) -> StoreError {
    StoreError::backend(error)
}

/// What a store talks through: one server, or a cluster.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(Arc<LazyCluster>),
}

/// A cluster connection made on first use (and again after a failed attempt).
struct LazyCluster {
    client: ClusterClient,
    connection: tokio::sync::OnceCell<ClusterConnection>,
}

/// The connection of one operation.
enum Active {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Active {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

impl Store for RedisStore {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        Box::pin(async move {
            let key = self.key(id);
            let mut connection = self.connection().await?;
            let value: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .map_err(backend)?;
            let Some(mut value) = value else {
                return Ok(None);
            };
            if value.len() < HEADER_LEN {
                tracing::warn!(
                    key,
                    "corrupt session value in Redis; treating it as no session"
                );
                return Ok(None);
            }
            let data = value.split_off(HEADER_LEN);
            let version = u64::from_le_bytes(value[..8].try_into().unwrap_or_default());
            let expires_ms = u64::from_le_bytes(value[8..].try_into().unwrap_or_default());
            // Redis evicts on its own clock; this is the app's, as for every other store.
            if expires_ms <= unix_ms(SystemTime::now()) {
                return Ok(None);
            }
            let expires_at = from_unix_ms(expires_ms);
            Ok(Some(StoredRecord {
                data,
                version: Version::new(version),
                expires_at,
            }))
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        Box::pin(async move {
            let version = crate::random::u64().to_le_bytes();
            let mut value = Vec::with_capacity(HEADER_LEN + data.len());
            value.extend_from_slice(&version);
            value.extend_from_slice(&unix_ms(expires_at).to_le_bytes());
            value.extend_from_slice(data);
            let expected = expected
                .map(|v| v.get().to_le_bytes().to_vec())
                .unwrap_or_default();
            let ttl_ms = unix_ms(expires_at)
                .saturating_sub(unix_ms(SystemTime::now()))
                .max(1);
            let mut connection = self.connection().await?;
            let outcome: i64 = self
                .save
                .key(self.key(id))
                .arg(expected)
                .arg(value)
                .arg(ttl_ms)
                .invoke_async(&mut connection)
                .await
                .map_err(backend)?;
            Ok(match outcome {
                1 => SaveOutcome::Saved(Version::new(u64::from_le_bytes(version))),
                -1 => SaveOutcome::Missing,
                _ => SaveOutcome::Conflict,
            })
        })
    }

    fn touch<'a>(
        &'a self,
        id: &'a SessionId,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let expires_ms = unix_ms(expires_at);
            let set: i64 = self
                .touch
                .key(self.key(id))
                .arg(expires_ms.to_le_bytes().as_slice())
                .arg(expires_ms)
                .invoke_async(&mut connection)
                .await
                .map_err(backend)?;
            Ok(set == 1)
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let removed: i64 = redis::cmd("DEL")
                .arg(self.key(id))
                .query_async(&mut connection)
                .await
                .map_err(backend)?;
            Ok(removed == 1)
        })
    }
}
