//! The memory store's index of sessions by owner: each owner's keys, with their expiry so
//! that expired entries can be dropped without looking at the records.

use crate::id::StorageKey;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub(super) struct Owners {
    by_owner: HashMap<String, HashMap<StorageKey, u64>>,
}

impl Owners {
    /// Indexes `key` under `owner` until `expires_ms`.
    pub(super) fn put(&mut self, owner: &str, key: StorageKey, expires_ms: u64) {
        match self.by_owner.get_mut(owner) {
            Some(keys) => {
                keys.insert(key, expires_ms);
            }
            None => {
                self.by_owner
                    .insert(owner.to_owned(), HashMap::from([(key, expires_ms)]));
            }
        }
    }

    pub(super) fn remove(&mut self, owner: &str, key: &StorageKey) {
        if let Some(keys) = self.by_owner.get_mut(owner) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_owner.remove(owner);
            }
        }
    }

    /// The keys indexed under `owner` that have not expired by `now_ms`.
    pub(super) fn keys(&self, owner: &str, now_ms: u64) -> Vec<StorageKey> {
        self.by_owner.get(owner).map_or_else(Vec::new, |keys| {
            keys.iter()
                .filter(|&(_, &expires_ms)| expires_ms > now_ms)
                .map(|(&key, _)| key)
                .collect()
        })
    }

    /// How many keys indexed under `owner` have not expired by `now_ms`.
    pub(super) fn live(&self, owner: &str, now_ms: u64) -> usize {
        self.by_owner.get(owner).map_or(0, |keys| {
            keys.values()
                .filter(|&&expires_ms| expires_ms > now_ms)
                .count()
        })
    }

    /// Drops every entry expired by `now_ms`, and owners left with none; the dropped ones.
    pub(super) fn sweep(&mut self, now_ms: u64) -> Vec<(String, StorageKey)> {
        let mut dropped = Vec::new();
        self.by_owner.retain(|owner, keys| {
            let expired = drop_expired(keys, now_ms);
            dropped.extend(expired.into_iter().map(|key| (owner.clone(), key)));
            !keys.is_empty()
        });
        dropped
    }

    /// Drops `owner`'s entries expired by `now_ms`; their keys.
    pub(super) fn take_expired(&mut self, owner: &str, now_ms: u64) -> Vec<StorageKey> {
        let Some(keys) = self.by_owner.get_mut(owner) else {
            return Vec::new();
        };
        let expired = drop_expired(keys, now_ms);
        if keys.is_empty() {
            self.by_owner.remove(owner);
        }
        expired
    }

    /// Entries held, including expired ones not yet swept.
    pub(super) fn len(&self) -> usize {
        self.by_owner.values().map(HashMap::len).sum()
    }
}

/// Drops the entries of `keys` expired by `now_ms`; their keys.
fn drop_expired(keys: &mut HashMap<StorageKey, u64>, now_ms: u64) -> Vec<StorageKey> {
    let mut expired = Vec::new();
    keys.retain(|&key, &mut expires_ms| {
        let live = expires_ms > now_ms;
        if !live {
            expired.push(key);
        }
        live
    });
    expired
}
