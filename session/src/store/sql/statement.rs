//! What every statement of a SQL store is run with: its text as sqlx takes it, a time
//! limit, and times and versions as SQL integers.

use crate::store::StoreError;
use crate::time::unix_ms;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Milliseconds since the Unix epoch as SQL's signed 64-bit integer.
pub(super) fn ms(time: SystemTime) -> i64 {
    i64::try_from(unix_ms(time)).unwrap_or(i64::MAX)
}

/// A first version for a new row: random, so a recreated id never reuses an old one, and
/// far below `i64::MAX` so that `version + 1` never overflows.
pub(super) fn first_version() -> i64 {
    i64::from_le_bytes(crate::crypto::random::u64().to_le_bytes()) & (i64::MAX >> 2)
}

/// `statement` as sqlx takes it: every statement is built by [`Queries`] from a checked
/// table name, never from input.
pub(super) fn sql(statement: &Arc<str>) -> sqlx::AssertSqlSafe<Arc<str>> {
    sqlx::AssertSqlSafe(Arc::clone(statement))
}

/// Runs `operation`, failing it once `limit` has passed.
pub(super) async fn within<T>(
    limit: Duration,
    operation: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(limit, operation)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the database did not answer in time",
            )))
        })
}
