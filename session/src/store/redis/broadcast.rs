//! Redis pub/sub as the [`Broadcast`] between the instances sharing a store: what ends a
//! session on one reaches the live sessions of the others ([`crate::live`]).
//!
//! A channel per topic, `<prefix>live:<topic in base64url>` (a session's storage key, an
//! owner's revocation key): an instance hears only of the sessions and owners its live
//! sessions watch, over one connection for all of them. On one server, and on the master
//! the sentinels name (after a failover the subscription breaks, and the hub subscribes
//! again, to the new master): `SUBSCRIBE` and `PUBLISH`. On a Cluster, sharded pub/sub
//! (`SSUBSCRIBE`, `SPUBLISH`): a message goes only to the shard that owns its channel's
//! slot, and the subscription follows the slots (the `redis` crate subscribes again after
//! a failover or a resharding).

use super::{RedisStore, TIMEOUT, backend};
use crate::id::StorageKey;
use crate::store::{BoxFuture, StoreError};
use crate::store::{Broadcast, Subscription, Topics};
use futures_util::StreamExt;
use redis::aio::{PubSubSink, SendError};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Client, ProtocolVersion, PushInfo, PushKind, Value};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How many messages wait for the hub at most; what does not fit is dropped (its sockets
/// learn at their next save).
const WAITING_MAX: usize = 1024;

/// Where a subscription connects.
#[derive(Clone)]
pub(super) enum Subscriber {
    /// The one server.
    Server(Client),
    /// A Cluster, through any of these nodes.
    Cluster(Arc<[String]>),
    /// The master the sentinels name.
    Master,
}

impl Subscriber {
    pub(super) fn cluster(nodes: &[&str]) -> Self {
        Self::Cluster(nodes.iter().map(ToString::to_string).collect())
    }
}

/// The store's channels.
#[derive(Debug)]
struct PubSub {
    store: RedisStore,
}

impl RedisStore {
    pub(super) fn pubsub(&self) -> Arc<dyn Broadcast> {
        Arc::new(PubSub {
            store: self.clone(),
        })
    }

    /// A client of the server to subscribe to: the one server, or the master.
    async fn subscriber(&self) -> Result<Client, StoreError> {
        match (&self.subscriber, &self.connection) {
            (Subscriber::Server(client), _) => Ok(client.clone()),
            (Subscriber::Master, super::Connection::Sentinel(master)) => master.client().await,
            _ => Err(StoreError::backend("no sentinels to ask")),
        }
    }
}

/// The channel of `topic`.
fn channel(prefix: &str, topic: &StorageKey) -> String {
    format!("{prefix}live:{}", topic.to_base64())
}

impl Broadcast for PubSub {
    fn publish<'a>(
        &'a self,
        topic: &'a StorageKey,
        message: &'a [u8],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let sharded = matches!(self.store.subscriber, Subscriber::Cluster(_));
            let mut connection = self.store.connection().await?;
            redis::cmd(if sharded { "SPUBLISH" } else { "PUBLISH" })
                .arg(channel(&self.store.prefix, topic))
                .arg(message)
                .query_async::<()>(&mut connection)
                .await
                .map_err(backend)
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<Subscription, StoreError>> {
        Box::pin(async move {
            let prefix = Arc::clone(&self.store.prefix);
            let subscribing = async {
                if let Subscriber::Cluster(nodes) = &self.store.subscriber {
                    sharded(nodes, prefix).await
                } else {
                    classic(self.store.subscriber().await?, prefix).await
                }
            };
            tokio::time::timeout(TIMEOUT, subscribing)
                .await
                .map_err(|_| StoreError::backend("no subscription within 2 s"))?
        })
    }
}

/// A subscription on one server: its own connection, whose messages a task forwards until
/// the connection breaks or the hub lets the subscription go.
async fn classic(client: Client, prefix: Arc<str>) -> Result<Subscription, StoreError> {
    let pubsub = client.get_async_pubsub().await.map_err(backend)?;
    let (sink, mut stream) = pubsub.split();
    let (sender, receiver) = mpsc::channel(WAITING_MAX);
    tokio::spawn(async move {
        while let Some(Some(message)) = crate::store::unless_closed(&sender, stream.next()).await {
            if sender
                .send(message.get_payload_bytes().to_vec())
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let sink = Sink::Server(sink);
    Ok(Subscription::by_topic(receiver, Channels { prefix, sink }))
}

/// A subscription on a Cluster: a RESP3 connection whose pushes carry the shard channels'
/// messages, subscribed on the node that owns each channel's slot.
async fn sharded(nodes: &[String], prefix: Arc<str>) -> Result<Subscription, StoreError> {
    let (sender, receiver) = mpsc::channel(WAITING_MAX);
    let pushed = move |push: PushInfo| {
        if sender.is_closed() {
            return Err(SendError);
        }
        if push.kind == PushKind::SMessage
            && let [_, Value::BulkString(message)] = push.data.as_slice()
        {
            // Full: dropped, as a message while reconnecting is.
            let _ = sender.try_send(message.clone());
        }
        Ok(())
    };
    let connection = ClusterClient::builder(nodes.iter().map(String::as_str))
        .use_protocol(ProtocolVersion::RESP3)
        .push_sender(pushed)
        .connection_timeout(TIMEOUT)
        .response_timeout(TIMEOUT)
        .build()
        .map_err(backend)?
        .get_async_connection()
        .await
        .map_err(backend)?;
    let sink = Sink::Cluster(connection);
    Ok(Subscription::by_topic(receiver, Channels { prefix, sink }))
}

/// Where a subscription listens.
struct Channels {
    prefix: Arc<str>,
    sink: Sink,
}

enum Sink {
    Server(PubSubSink),
    Cluster(ClusterConnection),
}

impl Channels {
    fn names(&self, topics: &[StorageKey]) -> Vec<String> {
        topics
            .iter()
            .map(|topic| channel(&self.prefix, topic))
            .collect()
    }
}

impl Channels {
    /// `SUBSCRIBE` (with `listen`) or `UNSUBSCRIBE` of `topics`' channels: one command on a
    /// server; on a Cluster a command per channel (their slots differ), each within 2 s.
    async fn change(&self, topics: &[StorageKey], listen: bool) -> Result<(), StoreError> {
        let names = self.names(topics);
        match &self.sink {
            Sink::Server(sink) => {
                let mut sink = sink.clone();
                match listen {
                    true => within(sink.subscribe(names)).await,
                    false => within(sink.unsubscribe(names)).await,
                }
            }
            Sink::Cluster(connection) => {
                let mut connection = connection.clone();
                for name in names {
                    match listen {
                        true => within(connection.ssubscribe(name)).await?,
                        false => within(connection.sunsubscribe(name)).await?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// `change`'s outcome, unless Redis does not answer within 2 s.
async fn within(change: impl Future<Output = redis::RedisResult<()>>) -> Result<(), StoreError> {
    tokio::time::timeout(TIMEOUT, change)
        .await
        .map_err(|_| StoreError::backend("no answer from Redis within 2 s"))?
        .map_err(backend)
}

impl Topics for Channels {
    fn listen<'a>(&'a self, topics: &'a [StorageKey]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.change(topics, true))
    }

    fn forget<'a>(&'a self, topics: &'a [StorageKey]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.change(topics, false))
    }
}
