//! Listing and removing an owner's sessions from their index.

use super::connection::Active;
use super::connection::acknowledged;
use super::value::{in_shard, stored, value};
use super::{RedisStore, backend};
use crate::id::Owner;
use crate::id::StorageKey;
use crate::store::CreateOutcome;
use crate::store::{OwnedRecord, StoreError};
use crate::time::unix_ms;
use redis::Value;
use std::time::SystemTime;

/// How many keys one `DEL` of [`delete_owned`] names.
const DELETE_BATCH: usize = 512;

/// The members of `owner`'s index that have not expired by `now_ms`; those that have are
/// dropped from it in the same step, and reported.
async fn indexed(
    store: &RedisStore,
    connection: &mut Active,
    owner: &Owner,
    now_ms: u64,
) -> Result<Vec<StorageKey>, StoreError> {
    let mut invocation = store.list.prepare_invoke();
    invocation.key(store.owner_key(owner)).arg(now_ms);
    store.record_in_outbox(&mut invocation, owner);
    let (live, gone): (Vec<String>, Vec<Value>) =
        invocation.invoke_async(connection).await.map_err(backend)?;
    store.report_expired(gone, owner);
    Ok(live
        .iter()
        .filter_map(|member| StorageKey::from_base64(member))
        .collect())
}

/// `owner`'s live sessions: the index's members that have not expired, then their values, in
/// two round trips to the owner's slot.
pub(super) async fn owned(
    store: &RedisStore,
    owner: &Owner,
) -> Result<Vec<OwnedRecord>, StoreError> {
    let mut connection = store.connection().await?;
    let now_ms = unix_ms(SystemTime::now());
    let ids = indexed(store, &mut connection, owner, now_ms).await?;
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

/// Removes `owner`'s sessions but `except`, and their index entries: the index's members,
/// then one pipeline of `DEL`s and a `ZREM` to the owner's slot, two round trips however
/// many sessions there are. A session indexed after the first is not removed: the
/// owner's revocation time, recorded before, ends it when it is next used.
pub(super) async fn delete_owned(
    store: &RedisStore,
    owner: &Owner,
    except: Option<&StorageKey>,
) -> Result<u64, StoreError> {
    let mut connection = store.connection().await?;
    let now_ms = unix_ms(SystemTime::now());
    let mut doomed = indexed(store, &mut connection, owner, now_ms).await?;
    doomed.retain(|key| Some(key) != except);
    if let Some(outbox) = store.outbox_key() {
        return store
            .delete_recorded(&mut connection, outbox, &doomed, owner)
            .await;
    }
    let Some(first) = doomed.first().map(|key| store.key(key)) else {
        return Ok(0);
    };
    let mut pipe = redis::pipe();
    for batch in doomed.chunks(DELETE_BATCH) {
        pipe.cmd("DEL");
        for key in batch {
            pipe.arg(store.key(key));
        }
    }
    pipe.cmd("ZREM").arg(store.owner_key(owner));
    for key in &doomed {
        pipe.arg(key.to_base64());
    }
    pipe.ignore();
    if store.delete_wait.is_some() {
        pipe.cmd("ROLE");
    }
    let mut replies: Vec<Value> = pipe.query_async(&mut connection).await.map_err(backend)?;
    if let Some(wait) = store.delete_wait {
        let role = replies.pop().unwrap_or(Value::Nil);
        acknowledged(&mut connection, &first, wait, &role).await?;
    }
    Ok(replies
        .iter()
        .map(|reply| match reply {
            Value::Int(removed) => u64::try_from(*removed).unwrap_or(0),
            _ => 0,
        })
        .sum())
}

/// Creates `id`'s record as a session of `owner`, unless the owner's index holds `max` live
/// sessions or more: one script on the owner's slot, which counts and writes in one step.
pub(super) async fn create_owned(
    store: &RedisStore,
    id: &StorageKey,
    data: &[u8],
    expires_at: SystemTime,
    owner: &Owner,
    max: usize,
) -> Result<CreateOutcome, StoreError> {
    in_shard(id, owner)?;
    let (version, value) = value(expires_at, data);
    let now_ms = unix_ms(SystemTime::now());
    let ttl_ms = unix_ms(expires_at).saturating_sub(now_ms).max(1);
    let mut invocation = store.create_owned.prepare_invoke();
    invocation
        .key(store.key(id))
        .key(store.owner_key(owner))
        .arg(value)
        .arg(ttl_ms)
        .arg(id.to_base64())
        .arg(unix_ms(expires_at))
        .arg(now_ms)
        .arg(max);
    store.record_in_outbox(&mut invocation, owner);
    let mut connection = store.connection().await?;
    let reply: Value = invocation
        .invoke_async(&mut connection)
        .await
        .map_err(backend)?;
    Ok(match store.answer(reply, Some(owner))? {
        1 => CreateOutcome::Created(version),
        -2 => CreateOutcome::Full,
        _ => CreateOutcome::Taken,
    })
}

impl RedisStore {
    /// The index of `owner`'s sessions, in their shard, named by a hash of the owner: the
    /// key shows no user id.
    pub(super) fn owner_key(&self, owner: &Owner) -> String {
        let [a, b] = owner.shard();
        let name = crate::id::index_name(owner.as_str());
        format!("{}owner:{{{a:02x}{b:02x}}}{name}", self.prefix)
    }
}
