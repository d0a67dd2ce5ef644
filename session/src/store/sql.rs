//! What the PostgreSQL and SQLite stores share: the table, its SQL, and the `Store` impl
//! (one macro, because sqlx's generic bounds would be longer than the code).

use crate::StoreError;
use std::sync::Arc;

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

    fn qualified(&self) -> String {
        match &self.schema {
            Some(schema) => format!("\"{schema}\".\"{}\"", self.name),
            None => format!("\"{}\"", self.name),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(all(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

/// The advisory lock key every `PostgresStore::migrate` takes ("SESSION" in ASCII).
const MIGRATION_LOCK: i64 = 0x0053_4553_5349_4F4E;

/// Every statement a SQL store runs, written once for its table and dialect.
#[derive(Debug)]
pub(crate) struct Queries {
    /// Run in one transaction, in order.
    pub(crate) migrate: Vec<Arc<str>>,
    pub(crate) load: Arc<str>,
    pub(crate) create: Arc<str>,
    pub(crate) update: Arc<str>,
    pub(crate) exists: Arc<str>,
    pub(crate) touch: Arc<str>,
    pub(crate) delete: Arc<str>,
    /// Run before `delete`, in its transaction: makes the delete's commit wait for the disk
    /// even on connections whose saves do not, so that a logout survives a crash of the
    /// database server. PostgreSQL only.
    pub(crate) durable: Option<Arc<str>>,
    pub(crate) sweep: Arc<str>,
}

impl Queries {
    pub(crate) fn new(dialect: Dialect, table: &Table) -> Self {
        let t = table.qualified();
        let index = format!("\"{}_expires_at\"", table.name);
        let p = |n: u8| match dialect {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => format!("?{n}"),
        };
        let (bytes, int) = match dialect {
            Dialect::Postgres => ("BYTEA", "BIGINT"),
            Dialect::Sqlite => ("BLOB", "INTEGER"),
        };
        let mut migrate = Vec::new();
        if dialect == Dialect::Postgres {
            // Instances that start together migrate together, and PostgreSQL's `IF NOT
            // EXISTS` is not safe against a concurrent `CREATE` (a unique violation in
            // `pg_type`). This lock, held until the transaction ends, takes them in turn.
            migrate.push(format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"));
        }
        if let (Dialect::Postgres, Some(schema)) = (dialect, &table.schema) {
            migrate.push(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""));
        }
        migrate.push(format!(
            "CREATE TABLE IF NOT EXISTS {t} (id {bytes} PRIMARY KEY, data {bytes} NOT NULL, version {int} NOT NULL, expires_at {int} NOT NULL)"
        ));
        migrate.push(format!(
            "CREATE INDEX IF NOT EXISTS {index} ON {t} (expires_at)"
        ));
        Self {
            migrate: migrate.into_iter().map(Arc::from).collect(),
            load: format!(
                "SELECT data, version, expires_at FROM {t} WHERE id = {} AND expires_at > {}",
                p(1),
                p(2)
            )
            .into(),
            // An expired row with the same id may be replaced; a live one may not.
            create: format!(
                "INSERT INTO {t} AS s (id, data, version, expires_at) VALUES ({}, {}, {}, {}) \
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data, version = excluded.version, \
                 expires_at = excluded.expires_at WHERE s.expires_at <= {}",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5)
            )
            .into(),
            update: format!(
                "UPDATE {t} SET data = {}, version = version + 1, expires_at = {} \
                 WHERE id = {} AND version = {} AND expires_at > {} RETURNING version",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5)
            )
            .into(),
            exists: format!(
                "SELECT 1 FROM {t} WHERE id = {} AND expires_at > {}",
                p(1),
                p(2)
            )
            .into(),
            touch: format!(
                "UPDATE {t} SET expires_at = {} WHERE id = {} AND expires_at > {}",
                p(1),
                p(2),
                p(3)
            )
            .into(),
            delete: format!("DELETE FROM {t} WHERE id = {} RETURNING expires_at", p(1)).into(),
            durable: (dialect == Dialect::Postgres)
                .then(|| "SET LOCAL synchronous_commit = on".into()),
            sweep: format!(
                "DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE expires_at <= {} LIMIT {})",
                p(1),
                p(2)
            )
            .into(),
        }
    }
}

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
    ($store:ident) => {
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
            fn load<'a>(
                &'a self,
                id: &'a $crate::SessionId,
            ) -> $crate::store::BoxFuture<'a, Result<Option<$crate::store::StoredRecord>, $crate::StoreError>> {
                Box::pin($crate::store::sql::within(self.timeout, async move {
                    use sqlx::Row;
                    let now = $crate::store::sql::ms(std::time::SystemTime::now());
                    let row = sqlx::query(sqlx::AssertSqlSafe(self.queries.load.clone()))
                        .bind(id.as_bytes().as_slice())
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::sql::backend)?;
                    let Some(row) = row else { return Ok(None) };
                    let data: Vec<u8> = row.try_get(0).map_err($crate::store::sql::backend)?;
                    let version: i64 = row.try_get(1).map_err($crate::store::sql::backend)?;
                    let expires_at: i64 = row.try_get(2).map_err($crate::store::sql::backend)?;
                    Ok(Some($crate::store::StoredRecord {
                        data,
                        version: $crate::store::Version::new(version as u64),
                        expires_at: $crate::time::from_unix_ms(expires_at.max(0) as u64),
                    }))
                }))
            }

            fn save<'a>(
                &'a self,
                id: &'a $crate::SessionId,
                data: &'a [u8],
                expires_at: std::time::SystemTime,
                expected: Option<$crate::store::Version>,
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
                            .execute(&self.pool)
                            .await
                            .map_err($crate::store::sql::backend)?
                            .rows_affected();
                        return Ok(if created == 1 {
                            SaveOutcome::Saved($crate::store::Version::new(version as u64))
                        } else {
                            SaveOutcome::Conflict
                        });
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

            fn delete<'a>(&'a self, id: &'a $crate::SessionId) -> $crate::store::BoxFuture<'a, Result<bool, $crate::StoreError>> {
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
        }
    };
}

pub(crate) use crate::chain::ErrorChain;
pub(crate) use sql_store;
