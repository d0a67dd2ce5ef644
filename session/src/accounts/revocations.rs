//! Revocation times: per owner, a time (Unix µs) before which every session bound to that
//! owner is dead. Cookie sessions keep it in the layer's revocation store, checked when a
//! cookie session with an owner is opened (one read for those requests, none for the
//! others). Server stores keep it beside the sessions, checked when a session of the owner
//! moves to a new id: a rotation in flight while its owner logs out everywhere, whose new
//! record the listing could not see, deletes that record itself.

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

/// Where `config` keeps revocation times: the revocation store for cookie sessions, the
/// session store for the others.
fn store(config: &Config) -> Result<&ObservedStore, Error> {
    match (&config.backend, &config.revocations) {
        (KeyedBackend::Cookie(_), Some(store)) => Ok(store),
        (KeyedBackend::Cookie(_), None) => Err(StoreError::NoOwnerIndex.into()),
        (KeyedBackend::Server(backend), _) => Ok(&backend.store),
    }
}

/// Whether a session bound to `owner` at `bound_us` was revoked since, by the time kept in
/// `store`.
pub(crate) async fn revoked_in(
    store: &ObservedStore,
    owner: &Owner,
    bound_us: u64,
) -> Result<bool, Error> {
    let Some(stored) = store.load(&StorageKey::of_revocation(owner)).await? else {
        return Ok(false);
    };
    Ok(bound_us <= revoked_before(&stored.data))
}

/// Whether a cookie session bound to `owner` at `bound_us` was revoked since. Without a
/// revocation store, nothing is.
///
/// # Errors
/// When the revocation store fails: the request is answered 503, never let through.
pub(crate) async fn is_revoked(
    config: &Config,
    owner: &Owner,
    bound_us: u64,
) -> Result<bool, Error> {
    let Some(store) = &config.revocations else {
        return Ok(false);
    };
    revoked_in(store, owner, bound_us).await
}

/// Revokes every session of `owner` bound until now; returns the time, after which a
/// session must be bound to stay.
pub(crate) async fn bump(config: &Config, owner: &Owner) -> Result<u64, Error> {
    let store = store(config)?;
    let key = StorageKey::of_revocation(owner);
    // Long enough for every session bound before now to have expired: none is renewed once
    // revoked, and none stays unused longer than its idle timeout (a remembered one's is
    // at most the remember limit).
    let expires_at = SystemTime::now() + config.idle_timeout.max(config.remember_limit());
    for _ in 0..ATTEMPTS {
        let now_us = unix_us(SystemTime::now());
        let stored = store.load(&key).await?;
        let before = stored
            .as_ref()
            .map_or(0, |stored| revoked_before(&stored.data));
        // Later than any earlier revocation, so that it also revokes the session that "log
        // out others" kept (bound just after that one), however close the clocks.
        let revoked = now_us.max(before.saturating_add(1));
        let expected = stored.map(|stored| stored.version);
        match store
            .save(&key, &revoked.to_le_bytes(), expires_at, expected, None)
            .await?
        {
            SaveOutcome::Saved(_) => return Ok(revoked),
            SaveOutcome::Conflict | SaveOutcome::Missing => {}
        }
    }
    Err(Error::Contention { attempts: ATTEMPTS })
}

/// The stored time; a record that is not 8 bytes revokes everything (fail closed).
fn revoked_before(data: &[u8]) -> u64 {
    data.try_into().map_or(u64::MAX, u64::from_le_bytes)
}
