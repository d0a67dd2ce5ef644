//! Lifecycle events: a session created, bound to an owner, moved to a new id, revoked,
//! deleted or expired, told to a hook registered on the layer
//! ([`SessionLayer::with_events`](crate::SessionLayer::with_events)).
//!
//! Events come from the library's own write path, each once the store has acknowledged the
//! change: a save that lost its compare-and-swap fires nothing, and no event ever holds a
//! session id or a cookie (a session is named by its [`Fingerprint`]).
//!
//! # What a crash can lose
//! The hook runs in the process that made the change, right after the store answered. A
//! process that dies between the two has made the change and told no one: every kind of
//! event can be lost that way, and `Expired` is told only by a process that notices the
//! expiry (see [`EventKind::Expired`]: an owner's session when its store drops it from the
//! owner's index). Events are for dashboards, notifications and live
//! sockets. An audit trail that must never miss one reads a SQL store's `Outbox` (features
//! `postgres`, `sqlite`; `outbox.rs` here, the triggers in `store/sql/outbox.rs`), written
//! by the database in the same transaction as each change.
//!
//! The live sessions ([`crate::live`]) hear of the same changes through the hub there,
//! which also carries them to other instances.

#[cfg(any(feature = "postgres", feature = "sqlite", feature = "redis"))]
mod outbox;

#[cfg(any(feature = "postgres", feature = "sqlite", feature = "redis"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "postgres", feature = "sqlite", feature = "redis")))
)]
pub use outbox::{Outbox, OutboxEntry};

use crate::id::{Fingerprint, Owner};
use crate::observe;
use std::fmt;
use std::time::SystemTime;

/// What happened to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A new session was written for the first time.
    Created,
    /// The session was bound to [`SessionEvent::owner`] (a login).
    Bound,
    /// The session moved to a new id, keeping its data: [`SessionEvent::fingerprint`] is
    /// the new one, [`SessionEvent::previous`] the old.
    Rotated,
    /// The session was ended by someone else than its own requests: revoked by fingerprint,
    /// "log out everywhere" or "log out other devices", a credential change, a session
    /// limit, or a replayed id.
    Revoked,
    /// The session's own request ended it (`delete()`, `invalidate()`: a logout).
    Deleted,
    /// The session outlived its idle timeout or absolute lifetime. Told once, by the
    /// process that notices: for a session of an owner, when the store drops it from the
    /// owner's index ([`Store::expired_owned`](crate::Store::expired_owned): as the index is
    /// next read or written, or by the sweep; every store of this crate reports them); for
    /// a session watched by a live socket on a store that does not report, when its expiry
    /// passes. A session without an owner that ages out unwatched is not told.
    Expired,
}

impl EventKind {
    /// The kind as a lowercase word: `created`, `bound`, `rotated`, `revoked`, `deleted`,
    /// `expired`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Bound => "bound",
            Self::Rotated => "rotated",
            Self::Revoked => "revoked",
            Self::Deleted => "deleted",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change of one session, as an [`EventSink`] receives it. Never an id or a cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionEvent {
    /// What happened.
    pub kind: EventKind,
    /// The session it happened to (for [`EventKind::Rotated`], under its new id).
    pub fingerprint: Fingerprint,
    /// The session's fingerprint before a [`EventKind::Rotated`]; `None` for the others.
    pub previous: Option<Fingerprint>,
    /// The session's owner, when it has one.
    pub owner: Option<Owner>,
    /// When the store acknowledged the change (or, for `Expired`, when it was noticed).
    pub at: SystemTime,
}

/// Where a layer's events go
/// ([`SessionLayer::with_events`](crate::SessionLayer::with_events)).
///
/// Called on the request's task right after the store's answer, so it must not block: hand
/// the event to a channel, as the implementations for tokio's senders do. A bounded
/// [`Sender`](tokio::sync::mpsc::Sender) that is full drops the event (counted in
/// [`metric_names::EVENTS`](crate::metric_names::EVENTS) with `outcome="dropped"`) rather
/// than hold the request up.
///
/// ```
/// use typed_sessions::events::{EventKind, SessionEvent};
/// use typed_sessions::{Key, MemoryStore, SessionLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (events, mut received) = tokio::sync::mpsc::channel::<SessionEvent>(1024);
/// let layer = SessionLayer::new(MemoryStore::new(), &Key::generate()).with_events(events);
/// tokio::spawn(async move {
///     while let Some(event) = received.recv().await {
///         if event.kind == EventKind::Revoked {
///             println!("session {} of {:?} revoked", event.fingerprint, event.owner);
///         }
///     }
/// });
/// # let _ = layer;
/// # }
/// ```
pub trait EventSink: Send + Sync + 'static {
    /// Takes `event`; `false` if it was dropped.
    fn deliver(&self, event: SessionEvent) -> bool;
}

impl EventSink for tokio::sync::mpsc::Sender<SessionEvent> {
    fn deliver(&self, event: SessionEvent) -> bool {
        self.try_send(event).is_ok()
    }
}

impl EventSink for tokio::sync::mpsc::UnboundedSender<SessionEvent> {
    fn deliver(&self, event: SessionEvent) -> bool {
        self.send(event).is_ok()
    }
}

impl<F: Fn(SessionEvent) + Send + Sync + 'static> EventSink for F {
    fn deliver(&self, event: SessionEvent) -> bool {
        self(event);
        true
    }
}

/// A layer's sink, shareable and printable.
#[derive(Clone)]
pub(crate) struct Events(std::sync::Arc<dyn EventSink>);

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Events")
    }
}

impl Events {
    pub(crate) fn new(sink: impl EventSink) -> Self {
        Self(std::sync::Arc::new(sink))
    }

    /// Tells the sink of an event of a session in `store` (its kind, as metrics label it),
    /// counting the delivery.
    pub(crate) fn tell(&self, store: &'static str, event: SessionEvent) {
        let outcome = if self.0.deliver(event) {
            "delivered"
        } else {
            "dropped"
        };
        observe::count_by(observe::names::EVENTS, store, ("outcome", outcome));
    }
}
