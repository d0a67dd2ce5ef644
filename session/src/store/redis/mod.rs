//! Sessions in Redis: shared by every instance, expired by Redis itself.

mod broadcast;
mod connection;
mod outbox;
mod owned;
mod scan;
mod scripts;
#[cfg(feature = "tower-sessions-import")]
mod take;
mod value;
mod write;

use super::{
    BoxFuture, CreateOutcome, OwnedRecord, Pipelined, ReplaceOutcome, SaveOutcome, Store,
    StoreError, StoredRecord, Version,
};
use crate::id::Owner;
use crate::id::StorageKey;
use broadcast::Subscriber;
use connection::{Active, Connection, LazyCluster, SentinelMaster, TIMEOUT, acknowledged};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::{Client, Script, Value};
use scripts::{
    CLAIM_MS, CLAIM_SUFFIX, CREATE_OWNED, DELETE_RECORDED, INDEX, LIST, RECORD, SAVE, TOUCH,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long a delete waits for a replica, by default.
const DELETE_WAIT: Duration = Duration::from_secs(1);

/// Sessions in Redis, one key per session (`prefix` + the base64url of the
/// [storage key](crate::store::StorageKey)), each a single string holding
/// `version (8 bytes) | expires at (8 bytes) | record`.
///
/// - Expiry is the key's TTL as well: Redis evicts expired sessions itself.
/// - A read is one `GET`; a save is one round trip (a Lua compare-and-swap); a refresh of
///   the idle expiry is one (a Lua script that sets the expiry in the value and the TTL).
/// - Every command touches a single key, so a Redis Cluster works:
///   [`RedisStore::connect_cluster`] talks to one through the `redis` crate's cluster client, which
///   learns the slot map and follows `MOVED`/`ASK` redirections. [`RedisStore::connect_sentinel`]
///   writes to the master that Redis Sentinel names, and follows a failover.
/// - A delete waits for a replica to acknowledge it, when there is one
///   ([`with_delete_wait`](RedisStore::with_delete_wait)): a logout survives a failover.
///   Saves do not wait: a failover may lose the saves of the last moments before it (what
///   the master had not yet sent to the replica), and those sessions read as they were
///   before.
/// - Its live sessions ([`crate::live`]) hear of sessions ended on other instances over
///   pub/sub, a channel per session and per owner (`<prefix>live:<key>`) that an instance
///   subscribes to while it holds a live session of it; sharded pub/sub on a Cluster.
/// - The store can be created while Redis is down, and reconnects by itself after Redis
///   restarts (or a failover). Meanwhile requests that use the session get the layer's
///   store-error response (503) and the others are unaffected.
///
/// # Example
/// ```no_run
/// use typed_sessions::{Key, RedisStore, SessionLayer};
/// # async fn example() -> Result<(), typed_sessions::error::StoreError> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379")
///     .await?
///     .with_prefix("myapp:session:");
/// let layer = SessionLayer::new(store, &Key::generate());
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    /// Where the store's broadcast subscribes ([`broadcast`]).
    subscriber: Subscriber,
    prefix: Arc<str>,
    delete_wait: Option<Duration>,
    save: Arc<Script>,
    touch: Arc<Script>,
    create_owned: Arc<Script>,
    list: Arc<Script>,
    /// Changes to the owners' indexes are recorded in the outbox stream
    /// ([`RedisStore::with_outbox`]).
    outbox: bool,
    delete_recorded: Arc<Script>,
    /// Who this store is in the save script's claims: random, one per store.
    claimant: [u8; 8],
    /// The owners' sessions the index dropped as expired, for the layer's events.
    expired: Arc<crate::store::ExpiredOwned>,
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
    #[allow(clippy::unused_async)] // async like every store's `connect`, though it connects on first use
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(StoreError::backend)?;
        let subscriber = Subscriber::Server(client.clone());
        // Fail fast while Redis is down (the layer answers 503) instead of queueing requests.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(StoreError::backend)?;
        Ok(Self::on(Connection::Single(connection), subscriber))
    }

    /// A store on the Redis Cluster that `nodes` (`redis://host:port` URLs, any of its
    /// nodes) belong to, with the key prefix `session:`. Connects on first use, learns the
    /// slot map and follows redirections. Each operation sends the same commands as on one
    /// server, to the master that holds the key.
    ///
    /// ```no_run
    /// use typed_sessions::{Key, RedisStore, SessionLayer};
    /// # async fn example() -> Result<(), typed_sessions::error::StoreError> {
    /// let nodes = ["redis://127.0.0.1:7001", "redis://127.0.0.1:7002"];
    /// let store = RedisStore::connect_cluster(&nodes).await?;
    /// let layer = SessionLayer::new(store, &Key::generate());
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When a URL is not a valid Redis URL.
    #[allow(clippy::unused_async)] // as `connect`
    pub async fn connect_cluster(nodes: &[&str]) -> Result<Self, StoreError> {
        let client = ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(TIMEOUT)
            .response_timeout(TIMEOUT)
            .retries(1)
            .build()
            .map_err(StoreError::backend)?;
        let subscriber = Subscriber::cluster(nodes);
        let connection = Connection::Cluster(Arc::new(LazyCluster {
            client,
            connection: tokio::sync::OnceCell::new(),
        }));
        Ok(Self::on(connection, subscriber))
    }

    /// A store on the master that the Redis Sentinels at `sentinels` (`redis://host:port`
    /// URLs of sentinels, not of Redis servers) know as `master` (for example `mymaster`),
    /// with the key prefix `session:`. Asks the sentinels on first use, and again whenever
    /// the connection fails or the server it leads to is no longer master: after a failover
    /// the store writes to the new master without a restart. Meanwhile, requests that use
    /// the session get the layer's store-error response (503).
    ///
    /// `master` is the master's name, or a URL whose host is the name and which carries the
    /// master's (and its replicas') password, user, database and TLS (`rediss://`); each
    /// sentinel's own password is in its URL.
    ///
    /// ```no_run
    /// use typed_sessions::{Key, RedisStore, SessionLayer};
    /// # async fn example() -> Result<(), typed_sessions::error::StoreError> {
    /// let sentinels = ["redis://127.0.0.1:26379", "redis://127.0.0.1:26380"];
    /// let store = RedisStore::connect_sentinel(&sentinels, "mymaster").await?;
    /// // Password-protected: the sentinels', and the master's, its database 2.
    /// let sentinels = ["redis://:sentinel-pw@10.0.0.1:26379", "redis://:sentinel-pw@10.0.0.2:26379"];
    /// let store = RedisStore::connect_sentinel(&sentinels, "redis://:master-pw@mymaster/2").await?;
    /// let layer = SessionLayer::new(store, &Key::generate());
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When a URL is not a valid Redis URL (a `rediss://` one: unless the `redis` crate's
    /// TLS is built in).
    #[allow(clippy::unused_async)] // as `connect`
    pub async fn connect_sentinel(sentinels: &[&str], master: &str) -> Result<Self, StoreError> {
        let master = SentinelMaster::new(sentinels, master)?;
        let connection = Connection::Sentinel(Arc::new(master));
        Ok(Self::on(connection, Subscriber::Master))
    }

    fn on(connection: Connection, subscriber: Subscriber) -> Self {
        Self {
            connection,
            subscriber,
            prefix: Arc::from("session:"),
            delete_wait: Some(DELETE_WAIT),
            save: Arc::new(Script::new(
                &format!("{RECORD}{INDEX}{SAVE}").replace("CLAIM_MS", &CLAIM_MS.to_string()),
            )),
            claimant: crate::crypto::random::u64().to_le_bytes(),
            touch: Arc::new(Script::new(&format!("{RECORD}{INDEX}{TOUCH}"))),
            create_owned: Arc::new(Script::new(&format!("{RECORD}{INDEX}{CREATE_OWNED}"))),
            list: Arc::new(Script::new(&format!("{RECORD}{LIST}"))),
            outbox: false,
            delete_recorded: Arc::new(Script::new(&format!("{RECORD}{DELETE_RECORDED}"))),
            expired: Arc::default(),
        }
    }

    async fn connection(&self) -> Result<Active, StoreError> {
        self.connection.active().await
    }

    /// Prefixes every key with `prefix` (default `session:`).
    ///
    /// # Panics
    /// If `prefix` holds `{` or `}`: the store puts a hash tag after it (the owner's shard),
    /// and a brace of the prefix's would make Redis Cluster hash the wrong part of the key,
    /// scattering an owner's sessions and index over slots that one script cannot reach.
    #[must_use = "the builder returns a new store"]
    pub fn with_prefix(mut self, prefix: impl Into<Arc<str>>) -> Self {
        let prefix = prefix.into();
        assert!(
            !prefix.contains(['{', '}']),
            "a RedisStore key prefix cannot hold `{{` or `}}`: {prefix:?}"
        );
        self.prefix = prefix;
        self
    }

    /// How long a delete waits for a replica to acknowledge it (`WAIT 1`) before it
    /// answers, when the master has replicas; `None` answers as soon as the master has
    /// deleted. Default: 1 s.
    ///
    /// Redis replicates asynchronously: a failover promotes a replica that may not have seen
    /// the last writes. With the wait, a delete that answered success is on a replica too,
    /// so a logout survives a failover; a delete that no replica acknowledged in time is an
    /// error (the layer answers 503, and the user can log out again).
    #[must_use = "the builder returns a new store"]
    pub fn with_delete_wait(mut self, timeout: Option<Duration>) -> Self {
        self.delete_wait = timeout;
        self
    }

    /// A session's key: the hash tag is its shard, so that an owner's sessions and their
    /// index share a Redis Cluster slot, and one script can write both.
    fn key(&self, id: &StorageKey) -> String {
        use std::fmt::Write;
        let [a, b] = id.shard();
        let id = id.to_base64();
        // Room for a claim's suffix too: a save's claim key is this one, extended.
        let mut key = String::with_capacity(self.prefix.len() + 6 + id.len() + CLAIM_SUFFIX.len());
        let _ = write!(key, "{}{{{a:02x}{b:02x}}}{id}", self.prefix);
        key
    }
}

fn backend(error: redis::RedisError) -> StoreError {
    StoreError::backend(error)
}

impl Store for RedisStore {
    fn broadcast(&self) -> Option<Arc<dyn crate::store::Broadcast>> {
        Some(self.pubsub())
    }

    fn expired_owned(&self) -> Option<&crate::store::ExpiredOwned> {
        Some(&self.expired)
    }

    fn name(&self) -> &'static str {
        "redis"
    }

    fn scan<'a>(
        &'a self,
        cursor: Option<&'a crate::store::ScanCursor>,
        limit: usize,
    ) -> BoxFuture<'a, Result<crate::store::ScanPage, StoreError>> {
        Box::pin(self.scan_page(cursor, limit))
    }

    fn load<'a>(
        &'a self,
        id: &'a StorageKey,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        Box::pin(self.load_now(id))
    }

    fn save<'a>(
        &'a self,
        id: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        Box::pin(self.save_now(id, data, expires_at, expected, owner))
    }

    fn replace<'a>(
        &'a self,
        id: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<ReplaceOutcome, StoreError>> {
        self.pipelined(id, data, expires_at, expected, owner)
            .replace
    }

    /// Versions are random, and one connection keeps its commands in order.
    fn replace_pipelined<'a>(
        &'a self,
        id: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> Option<Pipelined<'a>> {
        Some(self.pipelined(id, data, expires_at, expected, owner))
    }

    fn touch<'a>(
        &'a self,
        id: &'a StorageKey,
        expires_at: SystemTime,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.touch_now(id, expires_at, owner))
    }

    fn delete<'a>(
        &'a self,
        id: &'a StorageKey,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            if let (Some(owner), Some(outbox)) = (owner, self.outbox_key()) {
                let keys = [*id];
                let deleted = self.delete_recorded(&mut connection, outbox, &keys, owner);
                return Ok(deleted.await? == 1);
            }
            let key = self.key(id);
            // The index entry goes in the same round trip, to the same slot.
            let mut pipe = redis::pipe();
            pipe.cmd("DEL").arg(&key);
            if let Some(owner) = owner {
                pipe.cmd("ZREM")
                    .arg(self.owner_key(owner))
                    .arg(id.to_base64())
                    .ignore();
            }
            let Some(wait) = self.delete_wait else {
                let (removed,): (i64,) =
                    pipe.query_async(&mut connection).await.map_err(backend)?;
                return Ok(removed == 1);
            };
            // `ROLE` in the same round trip says whether the master has replicas to wait for
            // (`WAIT` without one would only sit out its timeout).
            let (removed, role): (i64, Value) = pipe
                .cmd("ROLE")
                .query_async(&mut connection)
                .await
                .map_err(backend)?;
            acknowledged(&mut connection, &key, wait, &role).await?;
            Ok(removed == 1)
        })
    }

    fn owned<'a>(
        &'a self,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Vec<OwnedRecord>, StoreError>> {
        Box::pin(owned::owned(self, owner))
    }

    fn delete_owned<'a>(
        &'a self,
        owner: &'a Owner,
        except: Option<&'a StorageKey>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(owned::delete_owned(self, owner, except))
    }

    fn create_owned<'a>(
        &'a self,
        id: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        owner: &'a Owner,
        max: usize,
    ) -> BoxFuture<'a, Result<CreateOutcome, StoreError>> {
        Box::pin(owned::create_owned(self, id, data, expires_at, owner, max))
    }
}
