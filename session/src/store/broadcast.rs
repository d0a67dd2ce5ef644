//! The channel between instances that share a store: what one instance's write path
//! announces (`crate::hub`) reaches the live sessions of the others
//! ([`crate::live`]). Redis offers pub/sub (`redis/broadcast.rs`), PostgreSQL
//! `LISTEN`/`NOTIFY` (`sql/notify.rs`).
//!
//! The live-session feature lives where the layering puts each part: `live/` (the
//! extractor), `hub/` (this process's live sessions), `announce.rs` (what the write path
//! tells them), `request/socket.rs` (a request's session handed on to a socket) and
//! `store/broadcast.rs` (the channel between instances).

use super::{BoxFuture, StoreError};
use crate::id::StorageKey;
use std::fmt;
use std::future::Future;
use std::task::Poll;

/// A broadcast channel among every instance that shares a store, as
/// [`Store::broadcast`](crate::Store::broadcast) offers it: Redis pub/sub (sharded on a
/// Cluster), PostgreSQL `LISTEN`/`NOTIFY`. Messages are short bytes (under 100) that name
/// sessions by their storage key, never by id; each is about one topic (a session's
/// storage key, or an owner's revocation key).
///
/// Delivery is at most once: a message sent while an instance's subscription is
/// reconnecting is lost to it (its live sessions then learn of the change at their next
/// save, or at their expiry).
pub trait Broadcast: fmt::Debug + Send + Sync + 'static {
    /// Sends `message`, about `topic`, to every subscriber that listens to `topic` (or to
    /// every subscriber, on a channel without topics), this instance's included.
    fn publish<'a>(
        &'a self,
        topic: &'a StorageKey,
        message: &'a [u8],
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// A subscription: the messages published from now on, by any instance, until it is
    /// dropped. One per process: the hub holds it for all its live sessions. The
    /// implementation keeps it up (reconnecting after a failure) for as long as it lives, or
    /// ends its messages when it cannot (the hub subscribes again, and listens again to
    /// every topic it listened to).
    fn subscribe(&self) -> BoxFuture<'_, Result<Subscription, StoreError>>;
}

/// A process's subscription to a [`Broadcast`]: its messages, and what it listens to.
pub struct Subscription {
    pub(crate) messages: tokio::sync::mpsc::Receiver<Vec<u8>>,
    pub(crate) topics: Option<Box<dyn Topics>>,
}

impl Subscription {
    /// A subscription that hears every message (one channel for all, filtered by the
    /// receiver, as PostgreSQL's `NOTIFY` on the table's channel).
    #[must_use]
    pub fn to_all(messages: tokio::sync::mpsc::Receiver<Vec<u8>>) -> Self {
        Self {
            messages,
            topics: None,
        }
    }

    /// A subscription that hears only the topics it listens to (a channel per topic, as
    /// Redis pub/sub): the hub tells `topics` which, as its live sessions come and go.
    #[must_use]
    pub fn by_topic(messages: tokio::sync::mpsc::Receiver<Vec<u8>>, topics: impl Topics) -> Self {
        Self {
            messages,
            topics: Some(Box::new(topics)),
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("by_topic", &self.topics.is_some())
            .finish_non_exhaustive()
    }
}

/// What a [`Subscription`] by topic listens to. The hub calls it one call at a time, in
/// order, as its live sessions' topics come and go; after it subscribed again it may name a
/// topic it listens to already (listening is idempotent, as Redis's `SUBSCRIBE` is).
pub trait Topics: Send + Sync + 'static {
    /// From now on, hear the messages about `topics`: resolves once the channel confirmed
    /// it (a message published after that reaches the subscription).
    fn listen<'a>(&'a self, topics: &'a [StorageKey]) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Stop hearing the messages about `topics`.
    fn forget<'a>(&'a self, topics: &'a [StorageKey]) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// `next`'s output, or `None` once `sender`'s receiver is dropped: a subscription's task
/// waiting for its next message ends as soon as no one listens any more.
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) async fn unless_closed<T, M>(
    sender: &tokio::sync::mpsc::Sender<M>,
    next: impl Future<Output = T>,
) -> Option<T> {
    unless(sender.closed(), next).await
}

/// `next`'s output, or `None` if `stop` resolves first.
pub(crate) async fn unless<T>(
    stop: impl Future<Output = ()>,
    next: impl Future<Output = T>,
) -> Option<T> {
    let mut next = std::pin::pin!(next);
    let mut closed = std::pin::pin!(stop);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = next.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        closed.as_mut().poll(cx).map(|()| None)
    })
    .await
}
