//! Revocation epochs: per owner, a number that every revocation raises. A session stamps
//! its owner's epoch when it is bound, read from where the epochs are kept; it is dead once
//! the epoch has passed its stamp. No clock of any instance is compared with another's:
//! both numbers come from the one record.
//!
//! Cookie sessions keep the epochs in the layer's revocation store, server stores beside
//! the sessions. Either is checked when a session with an owner arrives (one read for
//! those requests, none for the others), and by a session of the owner moving to a new id
//! (a rotation in flight while its owner logs out everywhere, whose new record the listing
//! could not see, deletes that record itself).
//!
//! A raised epoch is at least the revoker's clock in µs: when an owner's record has expired
//! (every session it revoked gone with it) and is raised again, it starts above every
//! stamp of the sessions still live, which were read from it long before.

use crate::backend::KeyedBackend;
use crate::config::Config;
use crate::error::Error;
use crate::id::{Owner, StorageKey};
use crate::observe::ObservedStore;
use crate::store::{SaveOutcome, StoreError};
use crate::time::unix_us;
use std::time::SystemTime;

/// How many times a revocation retries a lost compare-and-swap.
const ATTEMPTS: u32 = 16;

/// Where `config` keeps revocation epochs: the revocation store for cookie sessions (none
/// without one: they cannot be revoked), the session store for the others.
pub(crate) fn location(config: &Config) -> Option<&ObservedStore> {
    match &config.backend {
        KeyedBackend::Cookie(_) => config.revocations.as_ref(),
        KeyedBackend::Server(backend) => Some(&backend.store),
    }
}

/// `owner`'s epoch in `store`: 0 before any revocation.
pub(crate) async fn epoch(store: &ObservedStore, owner: &Owner) -> Result<u64, Error> {
    epoch_under(store, &StorageKey::of_revocation(owner)).await
}

/// The epoch kept under `key` ([`StorageKey::of_revocation`]) in `store`.
async fn epoch_under(store: &ObservedStore, key: &StorageKey) -> Result<u64, Error> {
    let stored = store.for_revocations().load(key).await?;
    Ok(stored.map_or(0, |stored| stored_epoch(&stored.data)))
}

/// Whether a session stamped with epoch `bound` was revoked since, by its owner's epoch
/// (kept under `key`) in `store`.
pub(crate) async fn revoked_in(
    store: &ObservedStore,
    key: &StorageKey,
    bound: u64,
) -> Result<bool, Error> {
    Ok(bound < epoch_under(store, key).await?)
}

/// Whether a session stamped with epoch `bound` was revoked since, by its owner's epoch
/// (kept under `key`). Where there are no epochs (cookie sessions without a revocation
/// store), none is.
///
/// # Errors
/// When the store fails: the request is answered 503, never let through.
pub(crate) async fn is_revoked(
    config: &Config,
    key: &StorageKey,
    bound: u64,
) -> Result<bool, Error> {
    match location(config) {
        Some(store) => revoked_in(store, key, bound).await,
        None => Ok(false),
    }
}

/// The epoch kept under `key` that a session bound now is stamped with (0 where there are
/// none).
pub(crate) async fn current(config: &Config, key: &StorageKey) -> Result<u64, Error> {
    match location(config) {
        Some(store) => epoch_under(store, key).await,
        None => Ok(0),
    }
}

/// Revokes every session of `owner` stamped until now; returns the new epoch, which a
/// session must be stamped with to stay.
pub(crate) async fn bump(config: &Config, owner: &Owner) -> Result<u64, Error> {
    let store = location(config)
        .ok_or(StoreError::NoOwnerIndex)?
        .for_revocations();
    let key = StorageKey::of_revocation(owner);
    // Long enough for every session stamped before now to have expired: none is renewed
    // once revoked, and none stays unused longer than its idle timeout (a remembered one's
    // is at most the remember limit).
    let expires_at = SystemTime::now() + config.idle_timeout.max(config.remember_limit());
    for _ in 0..ATTEMPTS {
        let stored = store.load(&key).await?;
        let before = stored
            .as_ref()
            .map_or(0, |stored| stored_epoch(&stored.data));
        let raised = before.saturating_add(1).max(unix_us(SystemTime::now()));
        let expected = stored.map(|stored| stored.version);
        match store
            .save(&key, &raised.to_le_bytes(), expires_at, expected, None)
            .await?
        {
            SaveOutcome::Saved(_) => return Ok(raised),
            SaveOutcome::Conflict | SaveOutcome::Missing => {}
        }
    }
    Err(Error::Contention { attempts: ATTEMPTS })
}

/// The stored epoch; a record that is not 8 bytes revokes everything (fail closed).
fn stored_epoch(data: &[u8]) -> u64 {
    data.try_into().map_or(u64::MAX, u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_garbled_epoch_revokes_everything() {
        assert_eq!(stored_epoch(&7u64.to_le_bytes()), 7);
        assert_eq!(stored_epoch(b"short"), u64::MAX);
        assert_eq!(stored_epoch(&[0; 9]), u64::MAX);
    }
}
