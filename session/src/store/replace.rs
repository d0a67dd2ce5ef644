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

/// A replace sent before the answer to the save ahead of it ([`Store::replace_pipelined`]):
/// the version it writes if it wins, known before it is sent, and the replace itself.
///
/// [`Store::replace_pipelined`]: super::Store::replace_pipelined
#[must_use = "a pipelined replace does nothing until it is awaited"]
pub struct Pipelined<'a> {
    /// The version the record has once the replace wins: one that no other write of any
    /// process chooses (random, as Redis's are), so that a save that expects it can only
    /// win after this one did.
    pub version: Version,
    /// The replace, as [`Store::replace`](super::Store::replace): queued on the store's
    /// connection, in order, when first polled.
    pub replace: super::BoxFuture<'a, Result<ReplaceOutcome, StoreError>>,
}

impl std::fmt::Debug for Pipelined<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipelined")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
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
