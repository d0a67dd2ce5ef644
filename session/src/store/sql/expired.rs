//! A SQL store's expired rows leaving: in batches by the sweep, and an owner's when a
//! session of theirs is created or they are listed. Each row of an owner that leaves is
//! reported ([`ExpiredOwned`]) for the layer's `Expired` events.

use super::backend;
use super::core::{SWEEP_BATCH, SqlCore};
use super::statement::{ms, sql, within};
use crate::id::Owner;
use crate::store::{ExpiredOwned, StorageKey, StoreError};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};
use std::time::SystemTime;

impl<DB> SqlCore<DB>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> i64: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    /// Deletes one batch of expired rows, reporting those of owners; returns how many.
    pub(super) async fn sweep_batch(&self) -> Result<u64, StoreError> {
        let rows = sqlx::query(sql(&self.queries.sweep))
            .bind(ms(SystemTime::now()))
            .bind(SWEEP_BATCH)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        for row in &rows {
            let owner: Option<String> = row.try_get(1).map_err(backend)?;
            if let Some(owner) = owner {
                report(&self.expired, row, &owner);
            }
        }
        Ok(rows.len() as u64)
    }

    pub(super) async fn sweep_expired(&self) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let done = within(self.timeout, self.sweep_batch()).await?;
            deleted += done;
            if done < SWEEP_BATCH.unsigned_abs() {
                return Ok(deleted);
            }
        }
    }

    /// Deletes `owner`'s rows expired by `now` (Unix ms), reporting each.
    pub(super) async fn drop_expired_of(&self, owner: &Owner, now: i64) -> Result<(), StoreError> {
        let rows = sqlx::query(sql(&self.queries.owners.drop_expired_of_owner))
            .bind(owner.as_str())
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        for row in &rows {
            report(&self.expired, row, owner.as_str());
        }
        Ok(())
    }
}

/// Reports the row `row` (its `id` first) of `owner` as expired.
fn report<R: Row>(expired: &ExpiredOwned, row: &R, owner: &str)
where
    usize: ColumnIndex<R>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: Option<Vec<u8>> = row.try_get(0).ok();
    if let Some(key) = id.and_then(|id| <[u8; StorageKey::LEN]>::try_from(id).ok()) {
        expired.report(StorageKey::from_bytes(key), owner);
    }
}
