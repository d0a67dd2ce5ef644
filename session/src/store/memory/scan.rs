//! [`Store::scan`](crate::Store::scan) of a memory store: shard by shard, each in key order.
//! The cursor is `shard:key`, the last key a page returned in that shard.

use super::{MemoryStore, SHARDS, read, stored};
use crate::id::StorageKey;
use crate::store::{OwnedRecord, ScanCursor, ScanPage, StoreError};
use crate::time::unix_ms;
use std::time::SystemTime;

impl MemoryStore {
    pub(super) fn scan_now(
        &self,
        cursor: Option<&ScanCursor>,
        limit: usize,
    ) -> Result<ScanPage, StoreError> {
        let (mut shard, mut after) = match cursor {
            Some(cursor) => parse(cursor)?,
            None => (0, None),
        };
        let now = unix_ms(SystemTime::now());
        let limit = limit.max(1);
        let mut records = Vec::new();
        while shard < SHARDS && records.len() < limit {
            let shard_records = read(&self.inner.shards[shard]);
            let page = shard_records.live_after(after.as_ref(), now, limit - records.len());
            let full = records.len() + page.len() == limit;
            records.extend(page.into_iter().map(|(key, record)| OwnedRecord {
                key,
                record: stored(&record),
            }));
            drop(shard_records);
            if full {
                after = records.last().map(|record| record.key);
            } else {
                (shard, after) = (shard + 1, None);
            }
        }
        let next = (shard < SHARDS).then(|| {
            let key = after
                .as_ref()
                .map(StorageKey::to_base64)
                .unwrap_or_default();
            ScanCursor::new(format!("{shard}:{key}"))
        });
        Ok(ScanPage::new(records, next))
    }
}

/// The shard and key of a cursor this store made.
fn parse(cursor: &ScanCursor) -> Result<(usize, Option<StorageKey>), StoreError> {
    let invalid = || StoreError::InvalidCursor(cursor.as_str().to_owned());
    let (shard, key) = cursor.as_str().split_once(':').ok_or_else(invalid)?;
    let shard: usize = shard.parse().map_err(|_| invalid())?;
    let key = match key {
        "" => None,
        key => Some(StorageKey::from_base64(key).ok_or_else(invalid)?),
    };
    if shard >= SHARDS {
        return Err(invalid());
    }
    Ok((shard, key))
}
