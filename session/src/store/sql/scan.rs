//! [`Store::scan`](crate::Store::scan) of a SQL store: pages of live rows in id order, the
//! cursor the last id's base64url (keyset pagination on the primary key).

use super::backend;
use super::core::SqlCore;
use super::rows::owned_record;
use super::statement::{ms, sql, within};
use crate::store::{ScanCursor, ScanPage, StoreError};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Type};
use std::time::SystemTime;

// The bounds sqlx needs to run the statement with these types; both databases meet them.
impl<DB> SqlCore<DB>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'r> i64: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    /// A page of live rows after the cursor's id, in id order; the cursor is the last id's
    /// base64url.
    pub(super) async fn scan(
        &self,
        cursor: Option<&ScanCursor>,
        limit: usize,
    ) -> Result<ScanPage, StoreError> {
        // The first page starts before every id, the all-zero one too: after no bytes.
        let after: Vec<u8> = match cursor {
            Some(cursor) => cursor.key()?.as_bytes().to_vec(),
            None => Vec::new(),
        };
        let limit = limit.max(1);
        within(self.timeout, async {
            let rows = sqlx::query(sql(&self.queries.scan))
                .bind(after.as_slice())
                .bind(ms(SystemTime::now()))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            let records = rows
                .iter()
                .map(owned_record)
                .collect::<Result<Vec<_>, _>>()?;
            let next = (records.len() == limit)
                .then(|| records.last().map(|last| ScanCursor::after_key(&last.key)))
                .flatten();
            Ok(ScanPage::new(records, next))
        })
        .await
    }
}
