//! Redis pub/sub as the [`Broadcast`] between the instances sharing a store: what ends a
//! session on one reaches the live sessions of the others ([`crate::live`]).
//!
//! One channel per key prefix (`<prefix>live`). On one server, and on the master the
//! sentinels name (after a failover the subscription breaks, and the hub subscribes again,
//! to the new master). On a Cluster, plain `PUBLISH` reaches every node, so the
//! subscription is to the first node of the store's list that answers.

use super::{RedisStore, backend};
use crate::store::Broadcast;
use crate::store::{BoxFuture, StoreError};
use futures_util::StreamExt;
use redis::Client;
use std::sync::Arc;

/// Where a subscription connects.
#[derive(Clone)]
pub(super) enum Subscriber {
    /// The one server.
    Server(Client),
    /// The first of a Cluster's nodes that answers.
    AnyNode(Vec<Client>),
    /// The master the sentinels name.
    Master,
}

impl Subscriber {
    /// The first of `nodes` (a Cluster's) that answers.
    pub(super) fn any_node(nodes: &[&str]) -> Result<Self, StoreError> {
        let nodes = nodes.iter().map(|node| Client::open(*node));
        let nodes = nodes.collect::<Result<_, _>>().map_err(backend)?;
        Ok(Self::AnyNode(nodes))
    }
}

/// The store's channel.
#[derive(Debug)]
struct PubSub {
    store: RedisStore,
    channel: String,
}

impl RedisStore {
    pub(super) fn pubsub(&self) -> Arc<dyn Broadcast> {
        Arc::new(PubSub {
            channel: format!("{}live", self.prefix),
            store: self.clone(),
        })
    }

    /// A client of a server that hears every `PUBLISH` of the store's.
    async fn subscriber(&self) -> Result<Client, StoreError> {
        match (&self.subscriber, &self.connection) {
            (Subscriber::Server(client), _) => Ok(client.clone()),
            (Subscriber::AnyNode(nodes), _) => {
                for node in nodes {
                    let answers = node.get_multiplexed_async_connection();
                    if let Ok(Ok(_)) = tokio::time::timeout(super::TIMEOUT, answers).await {
                        return Ok(node.clone());
                    }
                }
                Err(StoreError::backend("no node of the cluster answers"))
            }
            (Subscriber::Master, super::Connection::Sentinel(master)) => master.client().await,
            (Subscriber::Master, _) => Err(StoreError::backend("no sentinels to ask")),
        }
    }
}

impl Broadcast for PubSub {
    fn publish<'a>(&'a self, message: &'a [u8]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut connection = self.store.connection().await?;
            redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(message)
                .query_async::<()>(&mut connection)
                .await
                .map_err(backend)
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<tokio::sync::mpsc::Receiver<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let client = self.store.subscriber().await?;
            let subscribe = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(&self.channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let pubsub = tokio::time::timeout(super::TIMEOUT, subscribe)
                .await
                .map_err(|_| StoreError::backend("no subscription within 2 s"))?
                .map_err(backend)?;
            let (sender, receiver) = tokio::sync::mpsc::channel(1024);
            tokio::spawn(async move {
                let mut messages = pubsub.into_on_message();
                // Ends when the connection breaks (the hub subscribes again), or when the
                // hub lets the receiver go.
                while let Some(Some(message)) =
                    crate::store::unless_closed(&sender, messages.next()).await
                {
                    if sender
                        .send(message.get_payload_bytes().to_vec())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
            Ok(receiver)
        })
    }
}
