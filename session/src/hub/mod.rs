//! The hub: this process's live sessions ([`crate::live`]), found by storage key and by
//! owner, and what reaches them. The library's write path announces each change here once
//! the store has acknowledged it (`crate::announce`); the hub tells the live sessions
//! concerned, and the other instances over the store's [`Broadcast`], whose messages it
//! applies in turn (`notice.rs`: the notices, and their bytes between instances).
//!
//! Per open live session the hub keeps one [`Watch`] and its map entries (a few hundred
//! bytes) and no store connection: the process shares one subscription (`listen.rs`),
//! which listens to the topics of its live sessions (their storage keys, their owners'
//! revocation keys) as they come and go.
//!
//! The live-session feature lives where the layering puts each part: `live/` (the
//! extractor), `hub/` (this process's live sessions), `announce.rs` (what the write path
//! tells them), `request/socket.rs` (a request's session handed on to a socket) and
//! `store/broadcast.rs` (the channel between instances).

mod listen;
mod notice;

pub use notice::EndReason;
pub(crate) use notice::Notice;

use crate::id::{SessionId, StorageKey};
use crate::observe;
use crate::store::Broadcast;
use listen::{TopicChange, TopicQueue};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

/// How many messages wait for the other instances at most.
const SENDING_MAX: usize = 10_000;

/// A message for the other instances, and its topic.
type Message = (StorageKey, Vec<u8>);

/// This process's live sessions.
pub(crate) struct Hub {
    watches: Mutex<Watches>,
    /// Names this process on the wire: it skips its own messages, applied when sent.
    instance: [u8; 8],
    /// The store's broadcast, once looked for (`None`: the store has none).
    bus: OnceLock<Option<Arc<dyn Broadcast>>>,
    /// What the subscription listens to, changed as the maps' entries come and go (under
    /// the hub's lock, so in the maps' order); `listen.rs` carries it out.
    topics: TopicQueue,
    /// What goes to the other instances, in the order it was announced: one task sends it,
    /// a message at a time (a credential change's revocation before its move to a new id).
    /// Bounded: while the store is down, what does not fit is dropped (its sockets learn at
    /// their next save) rather than held without end.
    sending: OnceLock<tokio::sync::mpsc::Sender<Message>>,
    /// Told when the hub is dropped: its subscription's task ends, and lets the store's
    /// connection go.
    dropped: Arc<tokio::sync::Notify>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.dropped.notify_one();
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("open", &self.lock().open)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Watches {
    by_key: HashMap<StorageKey, Vec<Arc<Watch>>>,
    by_owner: HashMap<StorageKey, Vec<Arc<Watch>>>,
    open: usize,
}

/// One live session, as the hub sees it.
pub(crate) struct Watch {
    place: Mutex<Place>,
    /// Its owner's revocation key, when it has an owner.
    owner: Option<StorageKey>,
    ended: OnceLock<EndReason>,
    changed: tokio::sync::Notify,
    /// The store's kind, as metrics label it.
    store: &'static str,
}

/// Where a live session's record is.
#[derive(Clone, Copy)]
pub(crate) struct Place {
    pub(crate) key: StorageKey,
    /// Its id (a cookie session's, or a server store's), which opens the successor a move
    /// to a new id seals for it.
    pub(crate) id: Option<SessionId>,
    /// Moved to a new id since the live session last looked.
    pub(crate) moved: bool,
}

impl Watch {
    pub(crate) fn place(&self) -> MutexGuard<'_, Place> {
        self.place.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Why the session ended, once it has.
    pub(crate) fn ended(&self) -> Option<EndReason> {
        self.ended.get().copied()
    }

    /// Ends the session for its live handle (the first reason stays); wakes the handle.
    pub(crate) fn end(&self, reason: EndReason) {
        if self.ended.set(reason).is_ok() {
            observe::count_by(
                observe::names::LIVE_ENDINGS,
                self.store,
                ("reason", reason.as_str()),
            );
            self.changed.notify_waiters();
        }
    }

    /// Resolves at the next change (an ending, a move); enabled before the caller looks at
    /// the state, so that a change in between is not missed.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}

impl Hub {
    pub(crate) fn new() -> Self {
        let mut instance = [0; 8];
        crate::crypto::random::fill(&mut instance);
        Self {
            watches: Mutex::default(),
            instance,
            bus: OnceLock::new(),
            topics: TopicQueue::new(),
            sending: OnceLock::new(),
            dropped: Arc::new(tokio::sync::Notify::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Watches> {
        self.watches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Watches the session at `place` (of the owner whose revocation key is `owner`) for a
    /// live handle; `bus` is the store's broadcast, looked for on first use. Resolves once
    /// the process listens to the session's and the owner's topics on it (so that what other
    /// instances announce from then on reaches the handle).
    pub(crate) async fn register(
        self: &Arc<Self>,
        place: Place,
        owner: Option<StorageKey>,
        store: &'static str,
        bus: impl FnOnce() -> Option<Arc<dyn Broadcast>>,
    ) -> Arc<Watch> {
        if let Some(bus) = self.bus.get_or_init(bus) {
            self.start_listening(bus);
        }
        let watch = Arc::new(Watch {
            place: Mutex::new(place),
            owner,
            ended: OnceLock::new(),
            changed: tokio::sync::Notify::new(),
            store,
        });
        {
            let mut watches = self.lock();
            watches.open += 1;
            self.add(&mut watches.by_key, place.key, &watch);
            if let Some(owner) = owner {
                self.add(&mut watches.by_owner, owner, &watch);
            }
        }
        observe::gauge(observe::names::LIVE_SESSIONS, store, 1.0);
        self.settle().await;
        watch
    }

    /// Forgets `watch`: its live handle was dropped.
    pub(crate) fn unregister(&self, watch: &Arc<Watch>) {
        let mut watches = self.lock();
        // Read under the hub's lock: a move to a new id changes it under the same lock.
        let key = watch.place().key;
        watches.open -= 1;
        self.remove(&mut watches.by_key, &key, watch);
        if let Some(owner) = &watch.owner {
            self.remove(&mut watches.by_owner, owner, watch);
        }
        drop(watches);
        observe::gauge(observe::names::LIVE_SESSIONS, watch.store, -1.0);
    }

    /// Tells this process's live sessions of `notice`, then the other instances' over `bus`
    /// (the store's broadcast, looked for on first use).
    ///
    /// `notice` is made only when someone can hear it: a live session in this process, or
    /// other instances over a bus. A process without either pays nothing.
    pub(crate) fn announce(
        &self,
        notice: impl FnOnce() -> Notice,
        bus: impl FnOnce() -> Option<Arc<dyn Broadcast>>,
    ) {
        let bus = self.bus.get_or_init(bus).clone();
        if bus.is_none() && self.lock().open == 0 {
            return;
        }
        let notice = notice();
        self.apply(&notice);
        let Some(bus) = bus else {
            return;
        };
        // Not awaited: the request that made the change does not wait for the other
        // instances (a crash before it is sent loses it: their sockets then learn at their
        // next save, or expiry).
        if let Some(sending) = self.sender(bus)
            && sending
                .try_send((*notice.topic(), notice.encode(self.instance)))
                .is_err()
        {
            tracing::warn!(
                "too many session changes waiting for the other instances; one was dropped"
            );
        }
    }

    /// The queue of what goes out over `bus`, and its task, started on first use (in a
    /// runtime; `None` outside one). The task ends with the hub.
    fn sender(&self, bus: Arc<dyn Broadcast>) -> Option<&tokio::sync::mpsc::Sender<Message>> {
        if let Some(sending) = self.sending.get() {
            return Some(sending);
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(self.sending.get_or_init(|| {
            let (sending, mut queue) = tokio::sync::mpsc::channel::<Message>(SENDING_MAX);
            runtime.spawn(async move {
                while let Some((topic, message)) = queue.recv().await {
                    if let Err(error) = bus.publish(&topic, &message).await {
                        tracing::warn!(%error, "could not tell the other instances of a session's change; their live sessions learn of it at their next save");
                    }
                }
            });
            sending
        }))
    }

    /// Tells the live sessions `notice` concerns.
    pub(crate) fn apply(&self, notice: &Notice) {
        let mut watches = self.lock();
        match notice {
            Notice::Ended { key, reason } => {
                for watch in watches.by_key.get(key).into_iter().flatten() {
                    watch.end(*reason);
                }
            }
            Notice::OwnerRevoked { owner, except } => {
                for watch in watches.by_owner.get(owner).into_iter().flatten() {
                    if Some(watch.place().key) != *except {
                        watch.end(EndReason::Revoked);
                    }
                }
            }
            Notice::Rotated { from, successor } => {
                let Some(moving) = watches.by_key.remove(from) else {
                    return;
                };
                self.change(TopicChange::Forget(*from));
                for watch in moving {
                    let to = {
                        let mut place = watch.place();
                        let opened = place.id.and_then(|id| id.open_successor(successor));
                        if let Some((_, id)) = opened {
                            *place = Place {
                                key: id.storage_key(),
                                id: Some(id),
                                moved: true,
                            };
                        }
                        place.key
                    };
                    self.add(&mut watches.by_key, to, &watch);
                    watch.changed.notify_waiters();
                }
            }
        }
    }
}

impl Hub {
    /// The topics the live sessions watch: their storage keys, their owners'.
    fn watched(&self) -> Vec<StorageKey> {
        let watches = self.lock();
        let keys = watches.by_key.keys().chain(watches.by_owner.keys());
        keys.copied().collect()
    }

    fn bus(&self) -> Option<&Arc<dyn Broadcast>> {
        self.bus.get().and_then(Option::as_ref)
    }

    /// Queues `change` for the subscription, when there is one to make.
    fn change(&self, change: TopicChange) {
        if self.bus().is_some() {
            self.topics.push(change);
        }
    }

    /// Adds `watch` under `topic` in `map`: the subscription listens to a new topic.
    fn add(
        &self,
        map: &mut HashMap<StorageKey, Vec<Arc<Watch>>>,
        topic: StorageKey,
        watch: &Arc<Watch>,
    ) {
        let entry = map.entry(topic).or_default();
        if entry.is_empty() {
            self.change(TopicChange::Listen(topic));
        }
        entry.push(Arc::clone(watch));
    }

    /// Removes `watch` from under `topic` in `map`: the subscription forgets a topic no
    /// live session watches any more.
    fn remove(
        &self,
        map: &mut HashMap<StorageKey, Vec<Arc<Watch>>>,
        topic: &StorageKey,
        watch: &Arc<Watch>,
    ) {
        if let Some(entry) = map.get_mut(topic) {
            entry.retain(|other| !Arc::ptr_eq(other, watch));
            if entry.is_empty() {
                map.remove(topic);
                self.change(TopicChange::Forget(*topic));
            }
        }
    }
}
