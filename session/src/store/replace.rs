//! [`Store::replace`](super::Store::replace): a compare-and-swap save that, when it loses,
//! hands back the record that won, so that the loser can merge and retry without another
//! read.

use super::{SaveOutcome, StorageKey, Store, StoreError, StoredRecord, Version};
use crate::id::Owner;
use std::future::Future;
use std::time::SystemTime;

/// The result of [`Store::replace`](super::Store::replace).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a replace can lose a race; the outcome says whether it did"]
pub enum ReplaceOutcome {
    /// Written; the record now has this version.
    Saved(Version),
    /// Nothing written: another version is stored, and this is it (boxed: a race is lost
    /// rarely, and every save's future keeps room for its outcome).
    Lost(Box<StoredRecord>),
    /// Nothing written: no live record has this id (it was deleted, rotated away or
    /// expired).
    Missing,
}

/// The default [`Store::replace`](super::Store::replace): a save, then a load when it lost.
pub(super) async fn save_then_load<S: Store + ?Sized>(
    store: &S,
    key: &StorageKey,
    data: &[u8],
    expires_at: SystemTime,
    expected: Version,
    owner: Option<&Owner>,
) -> Result<ReplaceOutcome, StoreError> {
    let saved = store
        .save(key, data, expires_at, Some(expected), owner)
        .await?;
    lost_to(saved, || store.load(key)).await
}

/// A replacing save's outcome, `saved`, as [`ReplaceOutcome`]: on a conflict, the record
/// `load` reads (within the store's own future, so that no second one is boxed).
pub(crate) async fn lost_to<F>(
    saved: SaveOutcome,
    load: impl FnOnce() -> F,
) -> Result<ReplaceOutcome, StoreError>
where
    F: Future<Output = Result<Option<StoredRecord>, StoreError>>,
{
    Ok(match saved {
        SaveOutcome::Saved(version) => ReplaceOutcome::Saved(version),
        SaveOutcome::Missing => ReplaceOutcome::Missing,
        SaveOutcome::Conflict => match load().await? {
            Some(stored) => ReplaceOutcome::Lost(Box::new(stored)),
            None => ReplaceOutcome::Missing,
        },
    })
}
