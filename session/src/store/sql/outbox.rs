//! A SQL store's outbox: every session of an owner created, deleted or found expired is
//! recorded in a table beside the sessions by triggers, in the same transaction as the
//! change, so that no crash can separate the two. What an audit trail reads
//! ([`crate::events::Outbox`]); the in-process events of [`crate::events`] can be lost to a
//! crash between the store's answer and the hook.
//!
//! Its statements (the table and its triggers, for each database) are built with the
//! others, in `queries.rs`.
//!
//! Sessions without an owner are not recorded, and neither are the records the crate keeps
//! beside sessions (revocation epochs, retired ids), which have none either.

use super::backend;
use super::core::SqlCore;
use super::rows::RowsAffected;
use super::statement::{sql, within};
use crate::store::{OutboxRow, StorageKey, StoreError};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

impl<DB> SqlCore<DB>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> i64: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    DB::QueryResult: RowsAffected,
    usize: ColumnIndex<DB::Row>,
{
    /// Creates the outbox's table and triggers, if they are not there.
    pub(super) async fn migrate_outbox(&self) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.map_err(backend)?;
        for statement in &self.queries.outbox.migrate {
            sqlx::query(sql(statement))
                .execute(&mut *transaction)
                .await
                .map_err(backend)?;
        }
        transaction.commit().await.map_err(backend)
    }

    /// Up to `limit` outbox rows after sequence number `after`, oldest first.
    pub(crate) async fn outbox_rows(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let query = sqlx::query(sql(&self.queries.outbox.after))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool);
        let rows = within(self.timeout, async { query.await.map_err(backend) }).await?;
        rows.iter()
            .map(|row| {
                let id: Vec<u8> = row.try_get(2).map_err(backend)?;
                let key = id.try_into().map(StorageKey::from_bytes).map_err(|_| {
                    StoreError::backend("an outbox row whose id is not a storage key")
                })?;
                Ok(OutboxRow {
                    seq: row.try_get(0).map_err(backend)?,
                    kind: row.try_get(1).map_err(backend)?,
                    key,
                    owner: row.try_get(3).map_err(backend)?,
                    at_ms: row.try_get(4).map_err(backend)?,
                })
            })
            .collect()
    }

    /// Deletes the outbox rows up to sequence number `through`; returns how many.
    pub(crate) async fn prune_outbox_rows(&self, through: i64) -> Result<u64, StoreError> {
        let statement = sqlx::query(sql(&self.queries.outbox.prune)).bind(through);
        let done = within(self.timeout, async {
            statement.execute(&self.pool).await.map_err(backend)
        })
        .await?;
        Ok(done.rows())
    }
}

/// `migrate_outbox` on a store, and what [`crate::events::Outbox`] reads through it.
macro_rules! outbox_of {
    ($store:ty) => {
        impl $store {
            /// Creates the store's outbox, if it has none: the table `<table>_events` beside
            /// the sessions table, and triggers that record in it, in the same transaction as
            /// each change, every session of an owner created, deleted (a logout or a
            /// revocation) or found expired (by the sweep, by a listing or login of its
            /// owner, or replaced by a new session). Read it with
            /// [`Outbox`](crate::events::Outbox). Run [`migrate`](Self::migrate) first.
            ///
            /// # Errors
            /// When the database refuses.
            pub async fn migrate_outbox(&self) -> Result<(), StoreError> {
                self.core.migrate_outbox().await
            }

            pub(crate) async fn outbox_rows(
                &self,
                after: i64,
                limit: i64,
            ) -> Result<Vec<OutboxRow>, StoreError> {
                self.core.outbox_rows(after, limit).await
            }

            pub(crate) async fn prune_outbox_rows(&self, through: i64) -> Result<u64, StoreError> {
                self.core.prune_outbox_rows(through).await
            }
        }
    };
}

#[cfg(feature = "postgres")]
outbox_of!(super::postgres::PostgresStore);
#[cfg(feature = "sqlite")]
outbox_of!(super::sqlite::SqliteStore);
