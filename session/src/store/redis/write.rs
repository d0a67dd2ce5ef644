//! A save and a refresh: one script each, which also keeps the owner's index and hands back
//! the sessions it dropped from it as expired (reported for the layer's `Expired` events).

use super::value::{in_shard, value};
use super::{RedisStore, backend};
use crate::id::{Owner, StorageKey};
use crate::store::{SaveOutcome, StoreError, Version};
use crate::time::unix_ms;
use redis::Value;
use std::time::SystemTime;

impl RedisStore {
    pub(super) async fn save_now(
        &self,
        id: &StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&Owner>,
    ) -> Result<SaveOutcome, StoreError> {
        let (version, value) = value(expires_at, data);
        let expected = expected
            .map(|v| v.get().to_le_bytes().to_vec())
            .unwrap_or_default();
        let now_ms = unix_ms(SystemTime::now());
        let ttl_ms = unix_ms(expires_at).saturating_sub(now_ms).max(1);
        let mut invocation = self.save.prepare_invoke();
        invocation
            .key(self.key(id))
            .arg(expected)
            .arg(value)
            .arg(ttl_ms);
        if let Some(owner) = owner {
            in_shard(id, owner)?;
            invocation
                .key(self.owner_key(owner))
                .arg(id.to_base64())
                .arg(unix_ms(expires_at))
                .arg(now_ms);
            self.record_in_outbox(&mut invocation, owner);
        }
        let mut connection = self.connection().await?;
        let reply: Value = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(backend)?;
        Ok(match self.answer(reply, owner)? {
            1 => SaveOutcome::Saved(version),
            -1 => SaveOutcome::Missing,
            _ => SaveOutcome::Conflict,
        })
    }

    pub(super) async fn touch_now(
        &self,
        id: &StorageKey,
        expires_at: SystemTime,
        owner: Option<&Owner>,
    ) -> Result<bool, StoreError> {
        let expires_ms = unix_ms(expires_at);
        let mut invocation = self.touch.prepare_invoke();
        invocation
            .key(self.key(id))
            .arg(expires_ms.to_le_bytes().as_slice())
            .arg(expires_ms);
        if let Some(owner) = owner {
            invocation
                .key(self.owner_key(owner))
                .arg(id.to_base64())
                .arg(unix_ms(SystemTime::now()));
            self.record_in_outbox(&mut invocation, owner);
        }
        let mut connection = self.connection().await?;
        let reply: Value = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(backend)?;
        Ok(self.answer(reply, owner)? == 1)
    }

    /// A script's answer: its code, alone, or first before the members its index dropped as
    /// expired, which are reported as `owner`'s.
    pub(super) fn answer(&self, reply: Value, owner: Option<&Owner>) -> Result<i64, StoreError> {
        let unexpected = || StoreError::backend("a session script answered something unexpected");
        let items = match reply {
            Value::Int(code) => return Ok(code),
            Value::Array(items) => items,
            _ => return Err(unexpected()),
        };
        let mut items = items.into_iter();
        let Some(Value::Int(code)) = items.next() else {
            return Err(unexpected());
        };
        if let Some(owner) = owner {
            self.report_expired(items, owner);
        }
        Ok(code)
    }

    /// Reports the index members in `members` as `owner`'s expired sessions.
    pub(super) fn report_expired(&self, members: impl IntoIterator<Item = Value>, owner: &Owner) {
        for member in members {
            let Value::BulkString(bytes) = member else {
                continue;
            };
            let key = std::str::from_utf8(&bytes)
                .ok()
                .and_then(StorageKey::from_base64);
            if let Some(key) = key {
                self.expired.push(key, owner.clone());
            }
        }
    }
}
