//! Re-keying: every record of a store sealed again under the primary key of a
//! [`KeyRing`], page by page (what `session-admin re-key` runs).

use super::as_session;
use crate::builtin::owner::owner_of;
use crate::encryption::{self, KeyRing};
use crate::record::Record;
use crate::store::{OwnedRecord, SaveOutcome, ScanCursor, Store, StoreError};

/// What one [`rekey_page`] did (or, on a dry run, would have done).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RekeyedPage {
    /// Sealed records moved to the primary key (their header sealed again; their body, which
    /// only the session's id opens, as it was).
    pub rekeyed: u64,
    /// Plain records sealed (under the application's key alone: the id that binds a record
    /// to its session is not in the store; each is bound at its next save).
    pub sealed: u64,
    /// Records under the primary key already.
    pub current: u64,
    /// Records sealed under a key the ring lacks: left as they are (they read as no
    /// session).
    pub unopened: u64,
    /// Records the application saved while the page was read: left to it (its save seals
    /// under the primary key).
    pub raced: u64,
    /// Where the next page starts; `None`: done.
    pub next: Option<ScanCursor>,
}

impl RekeyedPage {
    /// Adds `page`'s counts to these (the totals of a walk over every page); `next` stays.
    pub fn add(&mut self, page: &Self) {
        self.rekeyed += page.rekeyed;
        self.sealed += page.sealed;
        self.current += page.current;
        self.unopened += page.unopened;
        self.raced += page.raced;
    }
}

/// Seals one page of `store`'s sessions (at most about `limit` records, from `cursor`)
/// under `ring`'s primary key: sealed records under an older key are moved to it, plain
/// ones are sealed. Each write is a compare-and-swap on the version read, so a session the
/// application saves meanwhile is left to the application. With `dry_run`, counts and
/// writes nothing. The crate's own records beside sessions (revocation epochs) are left
/// alone.
///
/// # Errors
/// When the store fails, or cannot list its records ([`StoreError::NoScan`]); the records
/// of the page written before the failure stay written.
pub async fn rekey_page(
    store: &dyn Store,
    ring: &KeyRing,
    cursor: Option<&ScanCursor>,
    limit: usize,
    dry_run: bool,
) -> Result<RekeyedPage, StoreError> {
    let page = store.scan(cursor, limit).await?;
    let mut done = RekeyedPage {
        next: page.next,
        ..RekeyedPage::default()
    };
    for listed in &page.records {
        rekey_one(store, ring, listed, dry_run, &mut done).await?;
    }
    Ok(done)
}

/// Seals the sessions of `records` (an owner's, from [`Store::owned`]) under `ring`'s
/// primary key, as [`rekey_page`] does a page.
///
/// # Errors
/// When the store fails.
pub async fn rekey_records(
    store: &dyn Store,
    ring: &KeyRing,
    records: &[OwnedRecord],
    dry_run: bool,
) -> Result<RekeyedPage, StoreError> {
    let mut done = RekeyedPage::default();
    for listed in records {
        rekey_one(store, ring, listed, dry_run, &mut done).await?;
    }
    Ok(done)
}

async fn rekey_one(
    store: &dyn Store,
    ring: &KeyRing,
    listed: &OwnedRecord,
    dry_run: bool,
    done: &mut RekeyedPage,
) -> Result<(), StoreError> {
    let stored = &listed.record;
    let (data, owner, count) = if encryption::is_sealed(&stored.data) {
        match ring.rekey(&listed.key, &stored.data) {
            Ok(None) => {
                done.current += 1;
                return Ok(());
            }
            Ok(Some(data)) => {
                let directory = ring.open_directory(&listed.key, &data).ok();
                let owner = directory
                    .and_then(|bytes| Record::decode_vec(bytes).ok())
                    .and_then(|record| owner_of(&record));
                (data, owner, &mut done.rekeyed)
            }
            // Under a key the ring lacks, or not this crate's: left as it is.
            Err(_) => {
                done.unopened += 1;
                return Ok(());
            }
        }
    } else {
        let Some(record) = as_session(listed) else {
            return Ok(());
        };
        let directory = crate::builtin::directory(&record);
        let data = ring.seal(None, &listed.key, record.as_bytes(), &directory);
        (data, owner_of(&record), &mut done.sealed)
    };
    if dry_run {
        *count += 1;
        return Ok(());
    }
    let saved = store
        .save(
            &listed.key,
            &data,
            stored.expires_at,
            Some(stored.version),
            owner.as_ref(),
        )
        .await?;
    match saved {
        SaveOutcome::Saved(_) => *count += 1,
        SaveOutcome::Conflict | SaveOutcome::Missing => done.raced += 1,
    }
    Ok(())
}
