//! What a [`RedisStore`](super::RedisStore) talks through: one server, a cluster, or the
//! master that Redis Sentinel names.

use super::backend;
use crate::store::StoreError;
use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{
    AsyncConnectionConfig, Client, Cmd, ConnectionAddr, ErrorKind, Pipeline, RedisError,
    RedisFuture, Value,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

/// How long connecting (and each reply) may take before the operation fails: the layer then
/// answers 503 instead of queueing requests behind a Redis that is gone.
pub(super) const TIMEOUT: Duration = Duration::from_secs(2);

/// How often a Sentinel store asks the sentinels which server is master.
const WATCH_EVERY: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub(super) enum Connection {
    Single(ConnectionManager),
    Cluster(Arc<LazyCluster>),
    Sentinel(Arc<SentinelMaster>),
}

impl Connection {
    /// A connection for one operation (a cheap clone of a shared one), made on first use.
    pub(super) async fn active(&self) -> Result<Active, StoreError> {
        match self {
            Self::Single(connection) => Ok(Active::Single(connection.clone())),
            Self::Cluster(cluster) => cluster
                .connection
                .get_or_try_init(|| cluster.client.get_async_connection())
                .await
                .map(|connection| Active::Cluster(connection.clone()))
                .map_err(StoreError::backend),
            Self::Sentinel(master) => {
                let connection = SentinelMaster::connection(master).await?;
                Ok(Active::Sentinel(connection, Arc::clone(master)))
            }
        }
    }
}

/// A cluster connection made on first use (and again after a failed attempt).
pub(super) struct LazyCluster {
    pub(super) client: ClusterClient,
    pub(super) connection: tokio::sync::OnceCell<ClusterConnection>,
}

/// The master that the sentinels name, and a connection to it while it stays master.
///
/// The connection is dropped on the first error that says it no longer leads to a writable
/// master (it broke, timed out, or the server answers `READONLY` after a failover demoted
/// it), and when the sentinels name another master: a task asks them every
/// [`WATCH_EVERY`], because after a planned failover the old master keeps accepting writes
/// (which the new one never sees) until the sentinels get round to demoting it, up to 10 s
/// later. The next operation asks the sentinels again.
pub(super) struct SentinelMaster {
    /// Locked while asking: one request at a time asks, the others wait for its answer.
    sentinel: tokio::sync::Mutex<Sentinel>,
    /// The same sentinels, for the watch's address queries.
    sentinels: Vec<Client>,
    service: String,
    /// How to reach the master the sentinels name: its credentials, database and TLS.
    node: SentinelNodeConnectionInfo,
    config: AsyncConnectionConfig,
    current: Mutex<Option<(MultiplexedConnection, ConnectionAddr)>>,
    watching: AtomicBool,
    /// Told when the store is dropped: the watch ends at once.
    dropped: Arc<tokio::sync::Notify>,
}

impl Drop for SentinelMaster {
    fn drop(&mut self) {
        self.dropped.notify_one();
    }
}

impl SentinelMaster {
    /// The master `master` of `sentinels`: a name (`mymaster`), or a URL whose host is the
    /// name, with the master's credentials, database and TLS (`rediss://`):
    /// `redis://user:password@mymaster/2`. The sentinels' own credentials are in their URLs.
    pub(super) fn new(sentinels: &[&str], master: &str) -> Result<Self, StoreError> {
        let (service, node) = master_of(master)?;
        let sentinel = Sentinel::build(sentinels.to_vec()).map_err(StoreError::backend)?;
        let clients = sentinels
            .iter()
            .map(|url| Client::open(*url))
            .collect::<Result<_, _>>()
            .map_err(StoreError::backend)?;
        Ok(Self {
            sentinel: tokio::sync::Mutex::new(sentinel),
            sentinels: clients,
            service,
            node,
            config: AsyncConnectionConfig::new()
                .set_connection_timeout(Some(TIMEOUT))
                .set_response_timeout(Some(TIMEOUT)),
            current: Mutex::new(None),
            watching: AtomicBool::new(false),
            dropped: Arc::new(tokio::sync::Notify::new()),
        })
    }

    fn current(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<(MultiplexedConnection, ConnectionAddr)>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn connected(&self) -> Option<MultiplexedConnection> {
        self.current()
            .as_ref()
            .map(|(connection, _)| connection.clone())
    }

    /// A client of the master the sentinels name now: what a subscription connects to.
    pub(super) async fn client(&self) -> Result<Client, StoreError> {
        let mut sentinel = self.sentinel.lock().await;
        let client = sentinel.async_master_for(&self.service, Some(&self.node));
        tokio::time::timeout(TIMEOUT, client)
            .await
            .map_err(|_| StoreError::backend("no master from the sentinels within 2 s"))?
            .map_err(StoreError::backend)
    }

    async fn connection(master: &Arc<Self>) -> Result<MultiplexedConnection, StoreError> {
        if let Some(connection) = master.connected() {
            return Ok(connection);
        }
        let mut sentinel = master.sentinel.lock().await;
        // Another request may have connected while this one waited.
        if let Some(connection) = master.connected() {
            return Ok(connection);
        }
        let connect = async {
            let client = sentinel
                .async_master_for(&master.service, Some(&master.node))
                .await?;
            let connection = client
                .get_multiplexed_async_connection_with_config(&master.config)
                .await?;
            Ok::<_, RedisError>((connection, client.get_connection_info().addr().clone()))
        };
        let (connection, addr) = tokio::time::timeout(TIMEOUT, connect)
            .await
            .map_err(|_| StoreError::backend("no master from the sentinels within 2 s"))?
            .map_err(StoreError::backend)?;
        *master.current() = Some((connection.clone(), addr));
        if !master.watching.swap(true, Ordering::Relaxed) {
            tokio::spawn(watch(Arc::downgrade(master), Arc::clone(&master.dropped)));
        }
        Ok(connection)
    }

    /// Drops the connection if `error` says it no longer leads to a writable master.
    fn after(&self, error: &RedisError) {
        let stale = error.is_io_error()
            || error.is_connection_dropped()
            || error.is_timeout()
            || error.is_unrecoverable_error()
            || error.kind() == ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
            || error.code() == Some("READONLY");
        if stale {
            *self.current() = None;
        }
    }

    /// The master's address as the first sentinel that answers names it.
    async fn named(&self, asking: &mut Option<MultiplexedConnection>) -> Option<(String, u16)> {
        for client in self.sentinels.iter().cycle().take(self.sentinels.len() + 1) {
            if asking.is_none() {
                *asking = client
                    .get_multiplexed_async_connection_with_config(&self.config)
                    .await
                    .ok();
            }
            let Some(connection) = asking else { continue };
            let named: Result<Option<(String, u16)>, _> = redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(&self.service)
                .query_async(connection)
                .await;
            match named {
                Ok(named) => return named,
                Err(_) => *asking = None,
            }
        }
        None
    }
}

/// Every [`WATCH_EVERY`] while the store lives: drops the connection when the sentinels
/// name a master other than the one it leads to. Ends when the store is dropped.
async fn watch(master: Weak<SentinelMaster>, dropped: Arc<tokio::sync::Notify>) {
    let mut asking = None;
    loop {
        // Woken early only by the drop.
        if tokio::time::timeout(WATCH_EVERY, dropped.notified())
            .await
            .is_ok()
        {
            return;
        }
        let Some(master) = master.upgrade() else {
            return;
        };
        let Some((host, port)) = master.named(&mut asking).await else {
            continue;
        };
        let mut current = master.current();
        let moved = current.as_ref().is_some_and(|(_, addr)| {
            let (h, p) = match addr {
                ConnectionAddr::Tcp(h, p)
                | ConnectionAddr::TcpTls {
                    host: h, port: p, ..
                } => (h, *p),
                // Sentinels name TCP addresses only.
                _ => return false,
            };
            *h != host || p != port
        });
        if moved {
            *current = None;
        }
    }
}

/// The name of the master `master` names, and how to reach it (see [`SentinelMaster::new`]).
fn master_of(master: &str) -> Result<(String, SentinelNodeConnectionInfo), StoreError> {
    let node = SentinelNodeConnectionInfo::default();
    if !master.contains("://") {
        return Ok((master.to_owned(), node));
    }
    let info =
        redis::IntoConnectionInfo::into_connection_info(master).map_err(StoreError::backend)?;
    let node = node.set_redis_connection_info(info.redis_settings().clone());
    match info.addr() {
        ConnectionAddr::Tcp(name, _) => Ok((name.clone(), node)),
        ConnectionAddr::TcpTls { host, insecure, .. } => {
            let tls = if *insecure {
                redis::TlsMode::Insecure
            } else {
                redis::TlsMode::Secure
            };
            Ok((host.clone(), node.set_tls_mode(tls)))
        }
        _ => Err(StoreError::backend(
            "a Sentinel master's URL names the master as its host: redis://user:password@mymaster/0",
        )),
    }
}

/// The connection of one operation.
pub(super) enum Active {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(MultiplexedConnection, Arc<SentinelMaster>),
}

impl ConnectionLike for Active {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
            Self::Sentinel(connection, master) => Box::pin(async move {
                let reply = connection.req_packed_command(cmd).await;
                reply.inspect_err(|error| master.after(error))
            }),
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
            Self::Sentinel(connection, master) => Box::pin(async move {
                let replies = connection
                    .req_packed_commands(pipeline, offset, count)
                    .await;
                replies.inspect_err(|error| master.after(error))
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
            Self::Sentinel(connection, _) => connection.get_db(),
        }
    }
}

/// The replicas connected to a master, from its `ROLE` reply
/// (`["master", offset, [[host, port, offset], ...]]`); 0 from anything else.
fn connected_replicas(role: &Value) -> usize {
    match role {
        Value::Array(reply) => match reply.get(2) {
            Some(Value::Array(replicas)) => replicas.len(),
            _ => 0,
        },
        _ => 0,
    }
}

/// Waits, up to `wait`, for a replica to acknowledge the deletes just sent, if the master
/// (as `role`, its `ROLE`, says) has any: a delete must survive a failover.
pub(super) async fn acknowledged(
    connection: &mut Active,
    key: &str,
    wait: Duration,
    role: &Value,
) -> Result<(), StoreError> {
    if connected_replicas(role) == 0 {
        return Ok(());
    }
    // The key routes the pipeline to the same master on a cluster.
    let (_, acknowledged): (i64, i64) = redis::pipe()
        .cmd("EXISTS")
        .arg(key)
        .cmd("WAIT")
        .arg(1)
        .arg(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1))
        .query_async(connection)
        .await
        .map_err(backend)?;
    if acknowledged < 1 {
        return Err(StoreError::backend(format!(
            "the delete reached the master, but no replica acknowledged it within {wait:?}"
        )));
    }
    Ok(())
}
