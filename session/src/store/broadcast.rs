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
use std::fmt;
use std::future::Future;
use std::task::Poll;

/// A broadcast channel among every instance that shares a store, as
/// [`Store::broadcast`](crate::Store::broadcast) offers it: Redis pub/sub, PostgreSQL
/// `LISTEN`/`NOTIFY`. Messages are short bytes (under 100) that name sessions by their
/// storage key, never by id.
///
/// Delivery is at most once: a message sent while an instance's subscription is
/// reconnecting is lost to it (its live sessions then learn of the change at their next
/// save, or at their expiry).
pub trait Broadcast: fmt::Debug + Send + Sync + 'static {
    /// Sends `message` to every subscriber, this instance's included.
    fn publish<'a>(&'a self, message: &'a [u8]) -> BoxFuture<'a, Result<(), StoreError>>;

    /// A subscription: every message published from now on, by any instance, until the
    /// receiver is dropped. One per process: the hub holds it for all its live sessions.
    /// The implementation keeps it up (reconnecting after a failure) for as long as the
    /// receiver lives.
    fn subscribe(&self) -> BoxFuture<'_, Result<tokio::sync::mpsc::Receiver<Vec<u8>>, StoreError>>;
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
