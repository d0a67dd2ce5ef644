//! A Redis store's outbox: every session of an owner created, deleted or found expired is
//! appended to a stream, `<prefix>outbox`, by the same script as the change (`scripts.rs`:
//! `record`), so that no crash can separate the two. What an audit trail reads
//! ([`crate::events::Outbox`]).
//!
//! One server or Sentinel's master only: a script writes the keys of one Cluster slot, and
//! one stream cannot share every owner's slot.

use super::connection::{Active, Connection, acknowledged};
use super::{RedisStore, backend};
use crate::id::{Owner, StorageKey};
use crate::store::{OutboxRow, StoreError};
use crate::time::unix_ms;
use redis::{ScriptInvocation, Value};
use std::time::SystemTime;

/// An outbox entry's fields, as `XRANGE` answers them.
type Fields = Vec<(String, Vec<u8>)>;

/// Stream ids (`<ms>-<n>`) as sequence numbers: the milliseconds above, `n` in the low bits.
const SEQ_BITS: u32 = 20;

impl RedisStore {
    /// Records, in a stream `<prefix>outbox`, every session of an owner created, deleted or
    /// found expired, in the same script as the change: no crash between the two loses one
    /// (read it with [`Outbox`](crate::events::Outbox)). Every instance that writes to the
    /// store must turn it on; what an instance without writes is not recorded.
    ///
    /// The stream holds each entry's owner id, in the clear (as a SQL store's outbox
    /// table does), until the reader prunes it.
    ///
    /// ```no_run
    /// use typed_sessions::RedisStore;
    /// use typed_sessions::events::Outbox;
    /// # async fn example() -> Result<(), typed_sessions::error::StoreError> {
    /// let store = RedisStore::connect("redis://127.0.0.1/").await?.with_outbox()?;
    /// let outbox = Outbox::new(&store);
    /// for entry in outbox.read(0, 100).await? {
    ///     println!("{} {}", entry.event.kind, entry.event.fingerprint);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::NoOutbox`] on a Redis Cluster.
    pub fn with_outbox(mut self) -> Result<Self, StoreError> {
        if matches!(self.connection, Connection::Cluster(_)) {
            return Err(StoreError::NoOutbox);
        }
        self.outbox = true;
        Ok(self)
    }

    /// The outbox stream's key, when the outbox is on.
    pub(super) fn outbox_key(&self) -> Option<String> {
        self.outbox.then(|| format!("{}outbox", self.prefix))
    }

    /// Has `invocation`, a script that keeps `owner`'s index, record what it changes there
    /// in the outbox when it is on: the stream's key after the script's keys, the owner
    /// after its arguments (`scripts.rs`).
    pub(super) fn record_in_outbox(&self, invocation: &mut ScriptInvocation<'_>, owner: &Owner) {
        if let Some(outbox) = self.outbox_key() {
            invocation.key(outbox).arg(owner.as_str());
        }
    }

    /// Deletes `keys`, sessions of `owner`, with their index entries, recording each in the
    /// outbox: one script. Waits for a replica as a delete does.
    pub(super) async fn delete_recorded(
        &self,
        connection: &mut Active,
        outbox: String,
        keys: &[StorageKey],
        owner: &Owner,
    ) -> Result<u64, StoreError> {
        let Some(first) = keys.first().map(|key| self.key(key)) else {
            return Ok(0);
        };
        let mut invocation = self.delete_recorded.prepare_invoke();
        invocation
            .key(self.owner_key(owner))
            .key(outbox)
            .arg(owner.as_str())
            .arg(unix_ms(SystemTime::now()));
        for key in keys {
            invocation.key(self.key(key)).arg(key.to_base64());
        }
        let deleted: u64 = invocation.invoke_async(connection).await.map_err(backend)?;
        if let Some(wait) = self.delete_wait {
            let role: Value = redis::cmd("ROLE")
                .query_async(connection)
                .await
                .map_err(backend)?;
            acknowledged(connection, &first, wait, &role).await?;
        }
        Ok(deleted)
    }

    /// Up to `limit` outbox entries after sequence number `after`, oldest first.
    pub(crate) async fn outbox_rows(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let stream = self.outbox_key().ok_or(StoreError::NoOutbox)?;
        let start = match after {
            0 => "-".to_owned(),
            after => format!("({}", stream_id(after)),
        };
        let mut connection = self.connection().await?;
        let entries: Vec<(String, Fields)> = redis::cmd("XRANGE")
            .arg(stream)
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut connection)
            .await
            .map_err(backend)?;
        entries
            .into_iter()
            .map(|(id, fields)| row(&id, fields))
            .collect()
    }

    /// Deletes the outbox entries up to sequence number `through`; returns how many.
    pub(crate) async fn prune_outbox_rows(&self, through: u64) -> Result<u64, StoreError> {
        let stream = self.outbox_key().ok_or(StoreError::NoOutbox)?;
        let mut connection = self.connection().await?;
        // `MINID` keeps the entries from the id after `through` on.
        redis::cmd("XTRIM")
            .arg(stream)
            .arg("MINID")
            .arg(stream_id(through.saturating_add(1)))
            .query_async(&mut connection)
            .await
            .map_err(backend)
    }
}

/// The stream id of sequence number `seq`.
fn stream_id(seq: u64) -> String {
    format!("{}-{}", seq >> SEQ_BITS, seq & ((1 << SEQ_BITS) - 1))
}

/// The sequence number of stream id `id`, unless it is not one of the outbox's.
fn seq_of(id: &str) -> Option<u64> {
    let (ms, n) = id.split_once('-')?;
    let (ms, n) = (ms.parse::<u64>().ok()?, n.parse::<u64>().ok()?);
    (n < 1 << SEQ_BITS).then_some((ms << SEQ_BITS) | n)
}

/// An outbox entry as a row.
fn row(id: &str, fields: Fields) -> Result<OutboxRow, StoreError> {
    let unexpected =
        || StoreError::backend(format!("an outbox entry {id} this crate did not write"));
    let mut row = OutboxRow {
        seq: seq_of(id)
            .and_then(|seq| i64::try_from(seq).ok())
            .ok_or_else(unexpected)?,
        kind: String::new(),
        key: StorageKey::from_bytes([0; StorageKey::LEN]),
        owner: String::new(),
        at_ms: 0,
    };
    let mut keyed = false;
    for (name, value) in fields {
        let value = String::from_utf8(value).map_err(|_| unexpected())?;
        match name.as_str() {
            "kind" => row.kind = value,
            "key" => {
                row.key = StorageKey::from_base64(&value).ok_or_else(unexpected)?;
                keyed = true;
            }
            "owner" => row.owner = value,
            "at" => row.at_ms = value.parse().map_err(|_| unexpected())?,
            _ => return Err(unexpected()),
        }
    }
    if !keyed || row.kind.is_empty() {
        return Err(unexpected());
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_and_stream_ids_map_both_ways() {
        for id in [
            "1-0",
            "1733300000000-0",
            "1733300000000-7",
            "1733300000000-1048575",
        ] {
            let seq = seq_of(id).unwrap();
            assert_eq!(stream_id(seq), id);
        }
        assert!(seq_of("1733300000000-1048576").is_none(), "n too large");
        assert!(seq_of("garbage").is_none());
        assert!(seq_of("1-x").is_none());
        assert!(seq_of("1733300000000-0") > seq_of("1733299999999-9"));
    }
}
