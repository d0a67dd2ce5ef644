//! Listing an owner's sessions from their index.

use super::{RedisStore, backend, stored};
use crate::id::Owner;
use crate::id::StorageKey;
use crate::store::{OwnedRecord, StoreError};
use crate::time::unix_ms;
use std::time::SystemTime;

/// `owner`'s live sessions: the index's members that have not expired, then their values, in
/// two round trips to the owner's slot.
pub(super) async fn owned(
    store: &RedisStore,
    owner: &Owner,
) -> Result<Vec<OwnedRecord>, StoreError> {
    let mut connection = store.connection().await?;
    let now_ms = unix_ms(SystemTime::now());
    let members: Vec<String> = redis::cmd("ZRANGEBYSCORE")
        .arg(store.owner_key(owner))
        .arg(format!("({now_ms}"))
        .arg("+inf")
        .query_async(&mut connection)
        .await
        .map_err(backend)?;
    let ids: Vec<StorageKey> = members
        .iter()
        .filter_map(|member| StorageKey::from_base64(member))
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut get = redis::cmd("MGET");
    for id in &ids {
        get.arg(store.key(id));
    }
    let values: Vec<Option<Vec<u8>>> = get.query_async(&mut connection).await.map_err(backend)?;
    Ok(ids
        .into_iter()
        .zip(values)
        .filter_map(|(key, value)| {
            let record = stored(&store.key(&key), value?, now_ms)?;
            Some(OwnedRecord { key, record })
        })
        .collect())
}
