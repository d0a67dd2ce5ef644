//! What the statements' results are: rows decoded into records, and how many rows a
//! statement changed, the same way for both databases.

use super::backend;
use crate::store::{OwnedRecord, StorageKey, StoreError, StoredRecord, Version};
use crate::time::from_unix_ms;
use sqlx::{ColumnIndex, Decode, Row, Type};

/// How many rows a statement changed: each database's result type says it in its own way.
pub(crate) trait RowsAffected {
    fn rows(&self) -> u64;
}

#[cfg(feature = "postgres")]
impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

#[cfg(feature = "sqlite")]
impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

/// The `data, version, expires_at` columns of `row`, from column `at` on.
pub(super) fn stored_record<R: Row>(row: &R, at: usize) -> Result<StoredRecord, StoreError>
where
    usize: ColumnIndex<R>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let data: Vec<u8> = row.try_get(at).map_err(backend)?;
    let version: i64 = row.try_get(at + 1).map_err(backend)?;
    let expires_at: i64 = row.try_get(at + 2).map_err(backend)?;
    Ok(StoredRecord {
        data,
        version: Version::new(version.unsigned_abs()),
        expires_at: from_unix_ms(expires_at.max(0).unsigned_abs()),
    })
}

/// A row of [`Queries::owned`]: `id`, then the record's columns.
pub(super) fn owned_record<R: Row>(row: &R) -> Result<OwnedRecord, StoreError>
where
    usize: ColumnIndex<R>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: Vec<u8> = row.try_get(0).map_err(backend)?;
    let key = <[u8; StorageKey::LEN]>::try_from(id.as_slice())
        .map(StorageKey::from_bytes)
        .map_err(|_| StoreError::backend("a session row's id is not 16 bytes"))?;
    Ok(OwnedRecord {
        key,
        record: stored_record(row, 1)?,
    })
}
