//! [`Store::scan`](crate::Store::scan) of a file store: the session files in key order. The
//! cursor is the last key a page returned; each page lists the directory's names again, so
//! a scan holds one page of records and the names, never every record.

use super::Inner;
use crate::id::StorageKey;
use crate::store::{OwnedRecord, ScanCursor, ScanPage, StoreError};
use crate::time::unix_ms;
use std::fs;
use std::io;
use std::time::SystemTime;

impl Inner {
    /// Up to `limit` live records whose keys sort after `after`, and whether more keys do.
    pub(super) fn scan(&self, after: Option<StorageKey>, limit: usize) -> io::Result<ScanPage> {
        let mut keys = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let key = name.to_str().and_then(StorageKey::from_base64);
            if let Some(key) = key.filter(|key| after.is_none_or(|after| key > &after)) {
                keys.push(key);
            }
        }
        keys.sort_unstable();
        let limit = limit.max(1);
        let more = keys.len() > limit;
        keys.truncate(limit);
        let now = unix_ms(SystemTime::now());
        let mut records = Vec::with_capacity(keys.len());
        for key in &keys {
            if let Some(parsed) = self.read_live(key, now)? {
                records.push(OwnedRecord {
                    key: *key,
                    record: super::stored(parsed),
                });
            }
        }
        let next = more
            .then(|| keys.last().map(ScanCursor::after_key))
            .flatten();
        Ok(ScanPage::new(records, next))
    }
}

/// The key a cursor of [`Inner::scan`] names.
pub(super) fn after(cursor: Option<&ScanCursor>) -> Result<Option<StorageKey>, StoreError> {
    cursor.map(ScanCursor::key).transpose()
}
