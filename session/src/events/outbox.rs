//! [`Outbox`]: the events a store recorded in the same step as each change (a SQL store's
//! triggers, `store/sql/outbox.rs`; a Redis store's scripts, `store/redis/outbox.rs`), for
//! an audit trail that must not miss one.

use super::{EventKind, SessionEvent};
use crate::id::{Fingerprint, Owner};
#[cfg(feature = "postgres")]
use crate::store::PostgresStore;
#[cfg(feature = "redis")]
use crate::store::RedisStore;
#[cfg(feature = "sqlite")]
use crate::store::SqliteStore;
use crate::store::StoreError;
use crate::time::from_unix_ms;

/// The outbox of a `PostgresStore` or `SqliteStore` (made by its `migrate_outbox`), or of a
/// `RedisStore` (on one server or Sentinel, [`with_outbox`](RedisStore::with_outbox)):
/// every session of an owner created, deleted or found expired, recorded by the database in
/// the same transaction (Redis: the same script) as the change, so that no crash loses one. Read it from a job, in
/// order, and prune what was handled.
///
/// The outbox knows less than the in-process events: a deletion is `Deleted` whether it was
/// a logout or a revocation, a move to a new id is the old session `Deleted` and a new one
/// `Created`, and sessions without an owner are not recorded.
///
/// ```no_run
/// use typed_sessions::PostgresStore;
/// use typed_sessions::events::Outbox;
///
/// # async fn audit(store: PostgresStore) -> Result<(), typed_sessions::error::StoreError> {
/// store.migrate().await?;
/// store.migrate_outbox().await?;
/// let outbox = Outbox::new(&store);
/// let mut after = 0;
/// loop {
///     let entries = outbox.read(after, 100).await?;
///     let Some(last) = entries.last() else { break };
///     after = last.seq;
///     for entry in &entries {
///         println!("{} {} {:?}", entry.event.kind, entry.event.fingerprint, entry.event.owner);
///     }
///     outbox.prune(after).await?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Outbox {
    store: Source,
}

/// The store an outbox is read from.
#[derive(Clone, Debug)]
enum Source {
    #[cfg(feature = "postgres")]
    Postgres(PostgresStore),
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteStore),
    #[cfg(feature = "redis")]
    Redis(Box<RedisStore>),
}

#[cfg(feature = "redis")]
impl From<&RedisStore> for Outbox {
    fn from(store: &RedisStore) -> Self {
        Self {
            store: Source::Redis(Box::new(store.clone())),
        }
    }
}

#[cfg(feature = "postgres")]
impl From<&PostgresStore> for Outbox {
    fn from(store: &PostgresStore) -> Self {
        Self {
            store: Source::Postgres(store.clone()),
        }
    }
}

#[cfg(feature = "sqlite")]
impl From<&SqliteStore> for Outbox {
    fn from(store: &SqliteStore) -> Self {
        Self {
            store: Source::Sqlite(store.clone()),
        }
    }
}

/// One event of an [`Outbox`], with its place in it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxEntry {
    /// Its sequence number: later events have larger ones.
    pub seq: u64,
    /// The event: `Created`, `Deleted` or `Expired`, always with an owner.
    pub event: SessionEvent,
}

impl Outbox {
    /// The outbox of `store`: `Outbox::new(&postgres_store)`, `Outbox::new(&sqlite_store)`
    /// or `Outbox::new(&redis_store)`.
    #[must_use]
    pub fn new(store: impl Into<Self>) -> Self {
        store.into()
    }

    /// Up to `limit` events after sequence number `after` (0: from the first), oldest
    /// first.
    ///
    /// # Errors
    /// When the database fails, or holds a row this crate did not write;
    /// [`StoreError::NoOutbox`] for a `RedisStore` without
    /// [`with_outbox`](RedisStore::with_outbox).
    pub async fn read(&self, after: u64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = match &self.store {
            #[cfg(feature = "postgres")]
            Source::Postgres(store) => store.outbox_rows(signed(after), signed(limit)).await?,
            #[cfg(feature = "sqlite")]
            Source::Sqlite(store) => store.outbox_rows(signed(after), signed(limit)).await?,
            #[cfg(feature = "redis")]
            Source::Redis(store) => store.outbox_rows(after, limit).await?,
        };
        rows.into_iter()
            .map(|row| {
                let kind = match row.kind.as_str() {
                    "created" => EventKind::Created,
                    "deleted" => EventKind::Deleted,
                    "expired" => EventKind::Expired,
                    other => {
                        return Err(StoreError::backend(format!(
                            "an outbox row of kind {other:?}"
                        )));
                    }
                };
                let event = SessionEvent {
                    kind,
                    fingerprint: Fingerprint::of_storage_key(&row.key),
                    previous: None,
                    owner: Owner::new(row.owner).ok(),
                    at: from_unix_ms(u64::try_from(row.at_ms).unwrap_or(0)),
                };
                let seq = u64::try_from(row.seq).unwrap_or(0);
                Ok(OutboxEntry { seq, event })
            })
            .collect()
    }

    /// Deletes the events up to sequence number `through`, once handled; returns how many.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn prune(&self, through: u64) -> Result<u64, StoreError> {
        match &self.store {
            #[cfg(feature = "postgres")]
            Source::Postgres(store) => store.prune_outbox_rows(signed(through)).await,
            #[cfg(feature = "sqlite")]
            Source::Sqlite(store) => store.prune_outbox_rows(signed(through)).await,
            #[cfg(feature = "redis")]
            Source::Redis(store) => store.prune_outbox_rows(through).await,
        }
    }
}

/// A count or sequence number as SQL's integers hold it.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
fn signed(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}
