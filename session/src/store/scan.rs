//! What a [`Store::scan`](super::Store::scan) hands back: a page of records, and where
//! the next page starts.

use super::{OwnedRecord, StoreError};
use crate::id::StorageKey;

/// Where a [`Store::scan`](super::Store::scan) goes on from: opaque text that the store
/// made, to hand back (a tool that copies a store keeps it to resume after a crash).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScanCursor(String);

impl ScanCursor {
    /// A cursor a store made, or one kept from an earlier scan.
    #[must_use]
    pub fn new(cursor: impl Into<String>) -> Self {
        Self(cursor.into())
    }

    /// The cursor's text, to keep.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cursor after `key`, for a store that pages in key order.
    pub(crate) fn after_key(key: &StorageKey) -> Self {
        Self(key.to_base64())
    }

    /// The key a cursor made by [`after_key`](Self::after_key) names.
    pub(crate) fn key(&self) -> Result<StorageKey, StoreError> {
        StorageKey::from_base64(&self.0).ok_or_else(|| StoreError::InvalidCursor(self.0.clone()))
    }
}

/// One page of a [`Store::scan`](super::Store::scan).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanPage {
    /// Live records (sessions, and the crate's own records beside them: revocation epochs,
    /// retired ids), in no promised order.
    pub records: Vec<OwnedRecord>,
    /// Where the next page starts; `None` once the scan is done.
    pub next: Option<ScanCursor>,
}

impl ScanPage {
    /// A page of `records`, followed by the page at `next`.
    #[must_use]
    pub fn new(records: Vec<OwnedRecord>, next: Option<ScanCursor>) -> Self {
        Self { records, next }
    }
}
