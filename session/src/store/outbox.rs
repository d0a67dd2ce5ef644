//! What a store's outbox holds (a SQL store's table, `sql/outbox.rs`; a Redis store's
//! stream, `redis/outbox.rs`), as [`crate::events::Outbox`] reads it.

use crate::id::StorageKey;

/// One change, as the outbox stored it.
pub(crate) struct OutboxRow {
    pub(crate) seq: i64,
    /// `created`, `deleted` or `expired`.
    pub(crate) kind: String,
    pub(crate) key: StorageKey,
    pub(crate) owner: String,
    pub(crate) at_ms: i64,
}
