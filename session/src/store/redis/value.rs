//! A session's value in Redis: `version (8 bytes) | expires at, Unix ms (8 bytes) | record`;
//! and where an owner's session must live.

use crate::id::{Owner, StorageKey};
use crate::store::{StoreError, StoredRecord, Version};
use crate::time::{from_unix_ms, unix_ms};
use std::time::SystemTime;

/// `version (8) | expires at, Unix ms (8)`, before the record in every value.
const HEADER_LEN: usize = 16;

/// A new version, and the value that stores `data` under it until `expires_at`.
pub(super) fn value(expires_at: SystemTime, data: &[u8]) -> (Version, Vec<u8>) {
    let version = crate::crypto::random::u64();
    let mut value = Vec::with_capacity(HEADER_LEN + data.len());
    value.extend_from_slice(&version.to_le_bytes());
    value.extend_from_slice(&unix_ms(expires_at).to_le_bytes());
    value.extend_from_slice(data);
    (Version::new(version), value)
}

/// A session of `owner` is kept in the owner's shard: one slot with the owner's index.
pub(super) fn in_shard(id: &StorageKey, owner: &Owner) -> Result<(), StoreError> {
    if id.shard() == owner.shard() {
        Ok(())
    } else {
        Err(StoreError::backend(
            "a session with an owner must have an id in its owner's shard",
        ))
    }
}

/// The record in a session's `value`, unless it is corrupt or expired by `now_ms`.
pub(super) fn stored(key: &str, mut value: Vec<u8>, now_ms: u64) -> Option<StoredRecord> {
    if value.len() < HEADER_LEN {
        tracing::warn!(
            key,
            "corrupt session value in Redis; treating it as no session"
        );
        return None;
    }
    let data = value.split_off(HEADER_LEN);
    let version = u64::from_le_bytes(value[..8].try_into().unwrap_or_default());
    let expires_ms = u64::from_le_bytes(value[8..].try_into().unwrap_or_default());
    // Redis evicts on its own clock; this is the app's, as for every other store.
    (expires_ms > now_ms).then(|| StoredRecord {
        data,
        version: Version::new(version),
        expires_at: from_unix_ms(expires_ms),
    })
}

impl super::RedisStore {
    /// The live record under `id`: one `GET`.
    pub(super) async fn load_now(
        &self,
        id: &StorageKey,
    ) -> Result<Option<StoredRecord>, StoreError> {
        let key = self.key(id);
        let mut connection = self.connection().await?;
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .map_err(super::backend)?;
        Ok(value.and_then(|value| stored(&key, value, unix_ms(SystemTime::now()))))
    }
}
