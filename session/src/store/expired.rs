//! The sessions of owners that a store found expired and dropped from their owner's index,
//! by its sweep or as it read the index: reported to the layer, which tells each as an
//! `Expired` event once (`crate::announce`, [`crate::events`]).

use super::StorageKey;
use crate::id::Owner;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// How many a store keeps until a layer takes them: the oldest go first, so that a store
/// no layer drains (one without an event sink) holds a bounded amount.
const KEPT: usize = 10_000;

/// Where a store reports the sessions of owners it found expired and dropped from their
/// owner's index ([`Store::expired_owned`](crate::Store::expired_owned)), for its layer to
/// tell as `Expired` events. Each is reported once, by the store that dropped it.
#[derive(Debug, Default)]
pub struct ExpiredOwned {
    queue: Mutex<VecDeque<(StorageKey, Owner)>>,
    /// Something is queued: a layer that finds nothing takes no lock.
    pending: AtomicBool,
}

impl ExpiredOwned {
    /// An empty report.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reports `owner`'s session stored under `key` as expired.
    pub fn push(&self, key: StorageKey, owner: Owner) {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.len() == KEPT {
            queue.pop_front();
        }
        queue.push_back((key, owner));
        self.pending.store(true, Ordering::Release);
    }

    /// Reports the session under `key` of the owner named `owner`, if that is an owner's
    /// name (what a store kept of it: an index's name, a marker, a column).
    pub(crate) fn report(&self, key: StorageKey, owner: &str) {
        if let Ok(owner) = Owner::new(owner) {
            self.push(key, owner);
        }
    }

    /// Everything reported since the last call, oldest first.
    pub(crate) fn take(&self) -> Vec<(StorageKey, Owner)> {
        if !self.pending.swap(false, Ordering::Acquire) {
            return Vec::new();
        }
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.drain(..).collect()
    }
}
