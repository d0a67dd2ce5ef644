//! Operations on a whole store, for operators' tools (what the `session-admin` binary of
//! this project runs): counting the live sessions, copying every record to another
//! store, page by page, so that a deployment moves stores without logging anyone out, and
//! sealing every record under a key ring's primary key (`rekey.rs`).
//!
//! Both walk the store with [`Store::scan`], so memory stays bounded by one page, and a copy
//! can resume from the last page's cursor after a crash.
//!
//! ```
//! use typed_sessions::{MemoryStore, admin};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), typed_sessions::error::StoreError> {
//! let (from, to) = (MemoryStore::new(), MemoryStore::new());
//! let mut cursor = None;
//! loop {
//!     let page = admin::copy_page(&from, &to, cursor.as_ref(), 500).await?;
//!     // Keep `page.next` somewhere to resume from it after a crash.
//!     cursor = page.next;
//!     if cursor.is_none() {
//!         break;
//!     }
//! }
//! assert_eq!(admin::count_sessions(&to).await?, 0);
//! # Ok(())
//! # }
//! ```

mod rekey;

pub use rekey::{RekeyedPage, rekey_page, rekey_records};

use crate::builtin::owner::owner_of;
use crate::encryption::{self, KeyRing};
use crate::record::Record;
use crate::store::{OwnedRecord, SaveOutcome, ScanCursor, Store, StoreError};

/// How many records a page of [`count_sessions`] asks for.
const COUNT_PAGE: usize = 1000;

/// The live sessions in `store`. The crate's own records beside them (owners' revocation
/// epochs, the records a periodic rotation leaves under retired ids) are not counted.
///
/// # Errors
/// When the store fails, or cannot list its records ([`StoreError::NoScan`]).
pub async fn count_sessions(store: &dyn Store) -> Result<u64, StoreError> {
    let mut cursor = None;
    let mut sessions = 0;
    loop {
        let page = store.scan(cursor.as_ref(), COUNT_PAGE).await?;
        sessions += page
            .records
            .iter()
            .filter(|listed| is_session(listed))
            .count() as u64;
        cursor = page.next;
        if cursor.is_none() {
            return Ok(sessions);
        }
    }
}

/// What one [`copy_page`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopiedPage {
    /// Records written to the target.
    pub copied: u64,
    /// Records the target already had live under the same key (an earlier run of the
    /// copy, or the application writing there already): left as they are.
    pub present: u64,
    /// Sessions among the records copied.
    pub sessions: u64,
    /// Where the next page starts; `None`: the copy is done.
    pub next: Option<ScanCursor>,
}

/// Copies one page of `from`'s live records (at most about `limit`, starting at `cursor`)
/// to `to`, each with its remaining lifetime and under its owner, so that the target's
/// owner index lists it. A record `to` already has is left alone: running a copy again, or
/// resuming it, never overwrites a session the application has since changed on `to`.
///
/// Records sealed at rest ([`crate::encryption`]) are copied as they are, without their
/// owner (only the key ring reads it): [`copy_sealed_page`] copies them under it.
///
/// # Errors
/// When either store fails, or `from` cannot list its records ([`StoreError::NoScan`]);
/// the records of the page written before the failure stay written.
pub async fn copy_page(
    from: &dyn Store,
    to: &dyn Store,
    cursor: Option<&ScanCursor>,
    limit: usize,
) -> Result<CopiedPage, StoreError> {
    copy(from, to, None, cursor, limit).await
}

/// [`copy_page`], reading the owner of each record sealed at rest with `ring`, so that the
/// target's owner index lists it too.
///
/// # Errors
/// As [`copy_page`].
pub async fn copy_sealed_page(
    from: &dyn Store,
    to: &dyn Store,
    ring: &KeyRing,
    cursor: Option<&ScanCursor>,
    limit: usize,
) -> Result<CopiedPage, StoreError> {
    copy(from, to, Some(ring), cursor, limit).await
}

async fn copy(
    from: &dyn Store,
    to: &dyn Store,
    ring: Option<&KeyRing>,
    cursor: Option<&ScanCursor>,
    limit: usize,
) -> Result<CopiedPage, StoreError> {
    let page = from.scan(cursor, limit).await?;
    let mut copied = CopiedPage {
        next: page.next,
        ..CopiedPage::default()
    };
    for listed in &page.records {
        let record = &listed.record;
        let owner = directory(listed, ring).as_ref().and_then(owner_of);
        match to
            .save(
                &listed.key,
                &record.data,
                record.expires_at,
                None,
                owner.as_ref(),
            )
            .await?
        {
            SaveOutcome::Saved(_) => {
                copied.copied += 1;
                copied.sessions += u64::from(is_session(listed));
            }
            SaveOutcome::Conflict | SaveOutcome::Missing => copied.present += 1,
        }
    }
    Ok(copied)
}

/// `listed` as a session, unless it is one of the crate's own records or sealed at rest.
/// An owner's revocation epoch is 8 bytes, which a session record of no field is too: such
/// a session holds nothing, and is not counted either.
fn as_session(listed: &OwnedRecord) -> Option<Record> {
    let data = &listed.record.data;
    (data.len() > 8 && !encryption::is_sealed(data))
        .then(|| Record::decode_vec(data.clone()).ok())
        .flatten()
}

/// Whether `listed` is a session, plain or sealed at rest.
fn is_session(listed: &OwnedRecord) -> bool {
    encryption::is_sealed(&listed.record.data) || as_session(listed).is_some()
}

/// What `listed` tells of its session without its id: the record when plain, its
/// directory when sealed and `ring` opens it.
fn directory(listed: &OwnedRecord, ring: Option<&KeyRing>) -> Option<Record> {
    if !encryption::is_sealed(&listed.record.data) {
        return as_session(listed);
    }
    let bytes = ring?
        .open_directory(&listed.key, &listed.record.data)
        .ok()?;
    Record::decode_vec(bytes).ok()
}
