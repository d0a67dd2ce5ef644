//! Revocation of cookie sessions: per owner, a time (Unix µs) in the revocation store
//! before which every cookie session bound to that owner is dead. Checked when a cookie
//! session with an owner is opened, and only then: one store read for those requests,
//! none for the others.

use crate::backend::KeyedBackend;
use crate::config::Config;
use crate::error::Error;
use crate::id::{Owner, StorageKey};
use crate::observe::ObservedStore;
use crate::store::{SaveOutcome, StoreError};
use crate::time::{LONGEST, unix_us};
use std::time::SystemTime;

/// How many times a revocation retries a lost compare-and-swap.
const ATTEMPTS: u32 = 16;

fn store(config: &Config) -> Result<&ObservedStore, Error> {
    match (&config.backend, &config.revocations) {
        (KeyedBackend::Cookie(_), Some(store)) => Ok(store),
        _ => Err(StoreError::NoOwnerIndex.into()),
    }
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
    let Some(stored) = store.load(&StorageKey::of_revocation(owner)).await? else {
        return Ok(false);
    };
    Ok(bound_us <= revoked_before(&stored.data))
}

/// Revokes every cookie session of `owner` bound until now; returns the time, after which
/// a session must be bound to stay.
pub(crate) async fn bump(config: &Config, owner: &Owner) -> Result<u64, Error> {
    let store = store(config)?;
    let key = StorageKey::of_revocation(owner);
    // Long enough for every cookie bound before now to have expired (none is renewed once
    // revoked, and none has a longer timeout), since remember-me timeouts are per session.
    let expires_at = SystemTime::now() + LONGEST;
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
