//! A save and a refresh: one script each, which also keeps the owner's index and hands back
//! the sessions it dropped from it as expired (reported for the layer's `Expired` events).

use super::scripts::CLAIM_SUFFIX;
use super::value::{in_shard, stored, value};
use super::{RedisStore, backend};
use crate::id::{Owner, StorageKey};
use crate::store::{Pipelined, ReplaceOutcome, SaveOutcome, StoreError, Version};
use crate::time::unix_ms;
use redis::Value;
use std::time::SystemTime;

/// What the save script did.
enum Written {
    Saved,
    Missing,
    /// Another version is stored: the value, when the script sent it.
    Conflict(Option<Vec<u8>>),
}

impl RedisStore {
    pub(super) async fn save_now(
        &self,
        id: &StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&Owner>,
    ) -> Result<SaveOutcome, StoreError> {
        let value = value(expires_at, data);
        let (version, written) = self
            .run_save(id, value, expires_at, expected, owner)
            .await?;
        Ok(match written {
            Written::Saved => SaveOutcome::Saved(version),
            Written::Missing => SaveOutcome::Missing,
            Written::Conflict(_) => SaveOutcome::Conflict,
        })
    }

    /// A replace that writes `value`, made by [`value`] (which chose its version).
    pub(super) async fn replace_now(
        &self,
        id: &StorageKey,
        value: (Version, Vec<u8>),
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&Owner>,
    ) -> Result<ReplaceOutcome, StoreError> {
        let (version, written) = self
            .run_save(id, value, expires_at, Some(expected), owner)
            .await?;
        Ok(match written {
            Written::Saved => ReplaceOutcome::Saved(version),
            Written::Missing | Written::Conflict(None) => ReplaceOutcome::Missing,
            Written::Conflict(Some(value)) => {
                let now_ms = unix_ms(SystemTime::now());
                match stored(&self.key(id), value, now_ms) {
                    Some(stored) => ReplaceOutcome::Lost(Box::new(stored)),
                    None => ReplaceOutcome::Missing,
                }
            }
        })
    }

    /// A replace whose version is chosen before it is sent: `Store::replace` too, which
    /// needs the version no earlier but chooses it the same way.
    pub(super) fn pipelined<'a>(
        &'a self,
        id: &'a StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> Pipelined<'a> {
        let value = value(expires_at, data);
        Pipelined {
            version: value.0,
            replace: Box::pin(self.replace_now(id, value, expires_at, expected, owner)),
        }
    }

    /// The save script, once, writing `value` as `version`: what it answered.
    async fn run_save(
        &self,
        id: &StorageKey,
        (version, value): (Version, Vec<u8>),
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&Owner>,
    ) -> Result<(Version, Written), StoreError> {
        let expected = expected
            .map(|v| v.get().to_le_bytes().to_vec())
            .unwrap_or_default();
        let now_ms = unix_ms(SystemTime::now());
        let ttl_ms = unix_ms(expires_at).saturating_sub(now_ms).max(1);
        let mut invocation = self.save.prepare_invoke();
        // One string for both keys: the claim's is the session's and a suffix.
        let mut claim = self.key(id);
        let key_len = claim.len();
        claim.push_str(CLAIM_SUFFIX);
        invocation
            .key(&claim[..key_len])
            .key(claim.as_str())
            .arg(expected)
            .arg(value)
            .arg(ttl_ms)
            .arg(self.claimant.as_slice());
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
        // A lost replace answers `{0, the value stored now}`: not index members.
        if let Value::Array(items) = &reply
            && let [Value::Int(0), Value::BulkString(current)] = items.as_slice()
        {
            return Ok((version, Written::Conflict(Some(current.clone()))));
        }
        let written = match self.answer(reply, owner)? {
            1 => Written::Saved,
            -1 => Written::Missing,
            _ => Written::Conflict(None),
        };
        Ok((version, written))
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
