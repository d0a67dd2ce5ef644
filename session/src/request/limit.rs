//! A login within the owner's session limit: the store creates the new session only while
//! the owner has fewer than the limit, in one atomic step; beyond it, the owner's oldest
//! session ends and the create is tried again, or the login is refused.

use crate::accounts;
use crate::config::{Config, OverLimit, SessionLimit};
use crate::error::Error;
use crate::id::{Owner, StorageKey};
use crate::observe::ObservedStore;
use crate::store::{CreateOutcome, SaveOutcome};
use std::time::SystemTime;

/// How many of the owner's oldest sessions a login ends at most before it gives up (other
/// logins of the owner keep filling the places it makes).
const ATTEMPTS: u32 = 8;

/// Creates `key`'s record as a new session of `owner` within `limit`.
pub(super) async fn create(
    config: &Config,
    store: &ObservedStore,
    key: &StorageKey,
    data: &[u8],
    expires_at: SystemTime,
    owner: &Owner,
    limit: SessionLimit,
) -> Result<SaveOutcome, Error> {
    for _ in 0..ATTEMPTS {
        match store
            .create_owned(key, data, expires_at, owner, limit.max)
            .await?
        {
            CreateOutcome::Created(version) => return Ok(SaveOutcome::Saved(version)),
            CreateOutcome::Taken => return Ok(SaveOutcome::Conflict),
            CreateOutcome::Full if limit.over == OverLimit::Refuse => {
                return Err(Error::TooManySessions { max: limit.max });
            }
            CreateOutcome::Full => {
                tracing::debug!(max = limit.max, "session limit reached; ending the oldest");
                accounts::end_oldest(config, owner).await?;
            }
        }
    }
    Err(Error::Contention { attempts: ATTEMPTS })
}
