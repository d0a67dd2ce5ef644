//! What the PostgreSQL and SQLite stores share: the table, its SQL, and the `Store` impl
//! (one macro, because sqlx's generic bounds would be longer than the code).

use crate::StoreError;

/// A table name checked to be a plain SQL identifier, so it can be quoted into SQL.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    pub(crate) schema: Option<String>,
    pub(crate) name: String,
}

/// Why a schema or table name was refused.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(docsrs, doc(cfg(any(feature = "postgres", feature = "sqlite"))))]
#[error(
    "`{0}` is not a plain SQL identifier (ASCII letters, digits and `_`, not starting with a digit, at most 63 bytes)"
)]
pub struct InvalidTableName(pub String);

impl Table {
    pub(crate) fn new(schema: Option<&str>, name: &str) -> Result<Self, InvalidTableName> {
        for part in schema.into_iter().chain([name]) {
            let plain = !part.is_empty()
                && part.len() <= 63
                && !part.starts_with(|c: char| c.is_ascii_digit())
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !plain {
                return Err(InvalidTableName(part.to_owned()));
            }
        }
        Ok(Self {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        })
    }

    pub(super) fn qualified(&self) -> String {
        match &self.schema {
            Some(schema) => format!("\"{schema}\".\"{}\"", self.name),
            None => format!("\"{}\"", self.name),
        }
    }
}

mod queries;

pub(crate) use queries::{Dialect, Queries};

pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::backend(error)
}

/// How long a store operation may take by default: a database behind a network partition
/// would otherwise hold a request for as long as TCP keeps trying (sqlx sets no TCP
/// keepalive).
pub(crate) const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs `operation`, failing it once `limit` has passed.
pub(crate) async fn within<T>(
    limit: std::time::Duration,
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

/// Milliseconds since the Unix epoch as SQL's signed 64-bit integer.
pub(crate) fn ms(time: std::time::SystemTime) -> i64 {
    i64::try_from(crate::time::unix_ms(time)).unwrap_or(i64::MAX)
}

/// A first version for a new row: random, so a recreated id never reuses an old one, and
/// far below `i64::MAX` so that `version + 1` never overflows.
pub(crate) fn first_version() -> i64 {
    i64::from_le_bytes(crate::random::u64().to_le_bytes()) & (i64::MAX >> 2)
}

/// Implements the table maintenance methods and [`Store`](crate::Store) for a struct with
/// `pool` (an sqlx pool), `queries: Arc<Queries>` and `timeout: Duration` fields.
macro_rules! sql_store {
    ($store:ident, $name:literal) => {
        impl $store {
            /// Creates the table and its `expires_at` index if they do not exist.
            ///
            /// # Errors
            /// When the database refuses.
            pub async fn migrate(&self) -> Result<(), $crate::StoreError> {
                let mut transaction = self
                    .pool
                    .begin()
                    .await
                    .map_err($crate::store::sql::backend)?;
                for statement in &self.queries.migrate {
                    sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                        .execute(&mut *transaction)
                        .await
                        .map_err($crate::store::sql::backend)?;
                }
                transaction
                    .commit()
                    .await
                    .map_err($crate::store::sql::backend)
            }

            /// Deletes expired rows, `batch` at a time, until none are left; returns how many.
            /// Expired rows are never returned anyway: this only reclaims space.
            ///
            /// # Errors
            /// When the database fails.
            pub async fn delete_expired(&self, batch: u32) -> Result<u64, $crate::StoreError> {
                let mut deleted = 0;
                loop {
                    let now = $crate::store::sql::ms(std::time::SystemTime::now());
                    let done = sqlx::query(sqlx::AssertSqlSafe(self.queries.sweep.clone()))
                        .bind(now)
                        .bind(i64::from(batch.max(1)))
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::sql::backend)?
                        .rows_affected();
                    deleted += done;
                    if done < u64::from(batch.max(1)) {
                        return Ok(deleted);
                    }
                }
            }

            /// Fails each store operation that takes longer than `limit` (default 2 s) with a
            /// store error, answered 503: a database behind a network partition, or a
            /// stalled connection, would otherwise hold requests for as long as TCP keeps
            /// trying.
            #[must_use]
            pub fn with_timeout(self, limit: std::time::Duration) -> Self {
                Self { timeout: limit, ..self }
            }

            /// Runs [`Self::delete_expired`] every `period` in a background task, in batches
            /// of 1000, logging failures. Abort the handle to stop it.
            pub fn spawn_sweeper(&self, period: std::time::Duration) -> tokio::task::JoinHandle<()> {
                let store = self.clone();
                tokio::spawn(async move {
                    let mut ticks = tokio::time::interval(period);
                    loop {
                        ticks.tick().await;
                        if let Err(error) = store.delete_expired(1000).await {
                            tracing::warn!(error = %$crate::store::sql::ErrorChain(&error), "deleting expired sessions failed");
                        }
                    }
                })
            }
        }

        impl $crate::Store for $store {
            fn name(&self) -> &'static str {
                $name
            }

            fn load<'a>(
                &'a self,
                id: &'a $crate::SessionId,
            ) -> $crate::store::BoxFuture<'a, Result<Option<$crate::store::StoredRecord>, $crate::StoreError>> {
                Box::pin($crate::store::sql::within(self.timeout, async move {
                    let now = $crate::store::sql::ms(std::time::SystemTime::now());
                    let row = sqlx::query(sqlx::AssertSqlSafe(self.queries.load.clone()))
                        .bind(id.as_bytes().as_slice())
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::sql::backend)?;
                    row.map(|row| $crate::store::sql::stored_record(&row, 0)).transpose()
                }))
            }

            fn save<'a>(
                &'a self,
                id: &'a $crate::SessionId,
                data: &'a [u8],
                expires_at: std::time::SystemTime,
                expected: Option<$crate::store::Version>,
                owner: Option<&'a str>,
            ) -> $crate::store::BoxFuture<'a, Result<$crate::store::SaveOutcome, $crate::StoreError>> {
                Box::pin($crate::store::sql::within(self.timeout, async move {
                    use $crate::store::SaveOutcome;
                    use sqlx::Row;
                    let now = $crate::store::sql::ms(std::time::SystemTime::now());
                    let expires = $crate::store::sql::ms(expires_at);
                    let id = id.as_bytes().as_slice();
                    let Some(expected) = expected else {
                        let version = $crate::store::sql::first_version();
                        let created = sqlx::query(sqlx::AssertSqlSafe(self.queries.create.clone()))
                            .bind(id)
                            .bind(data)
                            .bind(version)
                            .bind(expires)
                            .bind(now)
                            .bind(owner)
                            .execute(&self.pool)
                            .await
                            .map_err($crate::store::sql::backend)?
                            .rows_affected();
                        if created != 1 {
                            return Ok(SaveOutcome::Conflict);
                        }
                        // The owner's expired rows leave with each new session of theirs:
                        // the index of an owner holds their live sessions and those that
                        // expired since their last login, with no sweeper to remember.
                        if let Some(owner) = owner {
                            sqlx::query(sqlx::AssertSqlSafe(self.queries.drop_expired_of_owner.clone()))
                                .bind(owner)
                                .bind(now)
                                .execute(&self.pool)
                                .await
                                .map_err($crate::store::sql::backend)?;
                        }
                        return Ok(SaveOutcome::Saved($crate::store::Version::new(version as u64)));
                    };
                    let updated = sqlx::query(sqlx::AssertSqlSafe(self.queries.update.clone()))
                        .bind(data)
                        .bind(expires)
                        .bind(id)
                        .bind(expected.get() as i64)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::sql::backend)?;
                    if let Some(row) = updated {
                        let version: i64 = row.try_get(0).map_err($crate::store::sql::backend)?;
                        return Ok(SaveOutcome::Saved($crate::store::Version::new(version as u64)));
                    }
                    // Only on a lost race: tell a conflict from a vanished record.
                    let live = sqlx::query(sqlx::AssertSqlSafe(self.queries.exists.clone()))
                        .bind(id)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::sql::backend)?;
                    Ok(if live.is_some() { SaveOutcome::Conflict } else { SaveOutcome::Missing })
                }))
            }

            fn touch<'a>(
                &'a self,
                id: &'a $crate::SessionId,
                expires_at: std::time::SystemTime,
                _owner: Option<&'a str>,
            ) -> $crate::store::BoxFuture<'a, Result<bool, $crate::StoreError>> {
                Box::pin($crate::store::sql::within(self.timeout, async move {
                    let now = $crate::store::sql::ms(std::time::SystemTime::now());
                    let touched = sqlx::query(sqlx::AssertSqlSafe(self.queries.touch.clone()))
                        .bind($crate::store::sql::ms(expires_at))
                        .bind(id.as_bytes().as_slice())
                        .bind(now)
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::sql::backend)?
                        .rows_affected();
                    Ok(touched == 1)
                }))
            }

            fn delete<'a>(
                &'a self,
                id: &'a $crate::SessionId,
                _owner: Option<&'a str>,
            ) -> $crate::store::BoxFuture<'a, Result<bool, $crate::StoreError>> {
                Box::pin($crate::store::sql::within(self.timeout, async move {
                    use sqlx::Row;
                    let now = $crate::store::sql::ms(std::time::SystemTime::now());
                    let mut transaction = self.pool.begin().await.map_err($crate::store::sql::backend)?;
                    if let Some(durable) = &self.queries.durable {
                        sqlx::query(sqlx::AssertSqlSafe(durable.clone()))
                            .execute(&mut *transaction)
                            .await
                            .map_err($crate::store::sql::backend)?;
                    }
                    let row = sqlx::query(sqlx::AssertSqlSafe(self.queries.delete.clone()))
                        .bind(id.as_bytes().as_slice())
                        .fetch_optional(&mut *transaction)
                        .await
                        .map_err($crate::store::sql::backend)?;
                    transaction.commit().await.map_err($crate::store::sql::backend)?;
                    match row {
                        Some(row) => Ok(row.try_get::<i64, _>(0).map_err($crate::store::sql::backend)? > now),
                        None => Ok(false),
                    }
                }))
            }

            fn owned<'a>(
                &'a self,
                owner: &'a str,
            ) -> $crate::store::BoxFuture<'a, Result<Vec<$crate::store::OwnedRecord>, $crate::StoreError>> {
                Box::pin($crate::store::sql::within(self.timeout, async move {
                    let now = $crate::store::sql::ms(std::time::SystemTime::now());
                    let rows = sqlx::query(sqlx::AssertSqlSafe(self.queries.owned.clone()))
                        .bind(owner)
                        .bind(now)
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::store::sql::backend)?;
                    rows.iter().map(|row| $crate::store::sql::owned_record(row)).collect()
                }))
            }
        }
    };
}

/// The `data, version, expires_at` columns of `row`, from column `at` on.
pub(crate) fn stored_record<R: sqlx::Row>(
    row: &R,
    at: usize,
) -> Result<crate::store::StoredRecord, StoreError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let data: Vec<u8> = row.try_get(at).map_err(backend)?;
    let version: i64 = row.try_get(at + 1).map_err(backend)?;
    let expires_at: i64 = row.try_get(at + 2).map_err(backend)?;
    Ok(crate::store::StoredRecord {
        data,
        version: crate::store::Version::new(version as u64),
        expires_at: crate::time::from_unix_ms(expires_at.max(0) as u64),
    })
}

/// A row of [`Queries::owned`]: `id`, then the record's columns.
pub(crate) fn owned_record<R: sqlx::Row>(row: &R) -> Result<crate::store::OwnedRecord, StoreError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: Vec<u8> = row.try_get(0).map_err(backend)?;
    let key = <[u8; crate::SessionId::LEN]>::try_from(id.as_slice())
        .map(crate::SessionId::from_bytes)
        .map_err(|_| StoreError::backend("a session row's id is not 16 bytes"))?;
    Ok(crate::store::OwnedRecord {
        key,
        record: stored_record(row, 1)?,
    })
}

pub(crate) use crate::chain::ErrorChain;
pub(crate) use sql_store;
