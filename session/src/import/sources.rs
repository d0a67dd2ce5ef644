//! Where tower-sessions' stores keep its records, each read in that store's own layout and
//! taken in one atomic step (read and deleted), so that a cookie opens its session once.

use crate::store::{BoxFuture, StoreError};
use std::fmt::Debug;

/// A store of tower-sessions' records: what a [`TowerSessionsImport`](super::TowerSessionsImport)
/// takes sessions from. Implemented for tower-sessions' Redis, PostgreSQL and SQLite
/// stores; implement it for another of its stores.
pub trait TowerSessionsSource: Debug + Send + Sync + 'static {
    /// Removes the record of tower-sessions session `id` (its `Id` as text) and returns its
    /// bytes (MessagePack of tower-sessions' `Record`), in one atomic step: of two calls
    /// with one id, at most one gets it. `None` if there is no such record.
    fn take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>>;
}

/// tower-sessions-redis-store's records: each under its session id as the key (with a
/// prefix if its store was given one), in the Redis a [`RedisStore`](crate::store::RedisStore)
/// connects to.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[derive(Clone, Debug)]
pub struct TowerSessionsRedis {
    redis: crate::store::RedisStore,
    prefix: String,
}

#[cfg(feature = "redis")]
impl TowerSessionsRedis {
    /// The records in the Redis (or Redis Cluster) that `redis` talks to, keys unprefixed.
    pub fn new(redis: crate::store::RedisStore) -> Self {
        Self {
            redis,
            prefix: String::new(),
        }
    }

    /// Keys start with `prefix`.
    #[must_use = "the builder returns a new source"]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

#[cfg(feature = "redis")]
impl TowerSessionsSource for TowerSessionsRedis {
    fn take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move { self.redis.take_raw(&format!("{}{id}", self.prefix)).await })
    }
}

/// How long a take may wait on a database, as a store's own calls do.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `DELETE ... RETURNING data` on `pool`, within [`TIMEOUT`].
#[cfg(any(feature = "postgres", feature = "sqlite"))]
macro_rules! take_row {
    ($pool:expr, $statement:expr, $id:expr) => {{
        let query = sqlx::query_scalar::<_, Vec<u8>>(sqlx::AssertSqlSafe($statement.clone()))
            .bind($id)
            .fetch_optional($pool);
        match tokio::time::timeout(TIMEOUT, query).await {
            Ok(row) => row.map_err(StoreError::backend),
            Err(elapsed) => Err(StoreError::backend(elapsed)),
        }
    }};
}

/// tower-sessions-sqlx-store's `PostgresStore` records: the table `"tower_sessions"."session"`
/// by default, in the database `pool` connects to.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
#[derive(Clone, Debug)]
pub struct TowerSessionsPostgres {
    pool: sqlx::PgPool,
    statement: String,
}

#[cfg(feature = "postgres")]
impl TowerSessionsPostgres {
    /// Records in `"tower_sessions"."session"`, tower-sessions' default.
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self::with_table(pool, "tower_sessions", "session").expect("plain names")
    }

    /// Records in `"schema"."table"` (its `with_schema_name` and `with_table_name`).
    ///
    /// # Errors
    /// [`InvalidTableNameError`](crate::store::InvalidTableNameError) for a name that is not
    /// a plain SQL identifier.
    pub fn with_table(
        pool: sqlx::PgPool,
        schema: &str,
        table: &str,
    ) -> Result<Self, crate::store::InvalidTableNameError> {
        let table = crate::store::Table::new(Some(schema), table)?.qualified();
        Ok(Self {
            pool,
            statement: format!("DELETE FROM {table} WHERE id = $1 RETURNING data"),
        })
    }
}

#[cfg(feature = "postgres")]
impl TowerSessionsSource for TowerSessionsPostgres {
    fn take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move { take_row!(&self.pool, self.statement, id) })
    }
}

/// tower-sessions-sqlx-store's `SqliteStore` records: the table `tower_sessions` by
/// default, in the database `pool` opens.
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
#[derive(Clone, Debug)]
pub struct TowerSessionsSqlite {
    pool: sqlx::SqlitePool,
    statement: String,
}

#[cfg(feature = "sqlite")]
impl TowerSessionsSqlite {
    /// Records in `tower_sessions`, tower-sessions' default.
    pub fn new(pool: sqlx::SqlitePool) -> Self {
        Self::with_table(pool, "tower_sessions").expect("a plain name")
    }

    /// Records in `table` (its `with_table_name`).
    ///
    /// # Errors
    /// [`InvalidTableNameError`](crate::store::InvalidTableNameError) for a name that is not
    /// a plain SQL identifier.
    pub fn with_table(
        pool: sqlx::SqlitePool,
        table: &str,
    ) -> Result<Self, crate::store::InvalidTableNameError> {
        let table = crate::store::Table::new(None, table)?.qualified();
        Ok(Self {
            pool,
            statement: format!("DELETE FROM {table} WHERE id = ?1 RETURNING data"),
        })
    }
}

#[cfg(feature = "sqlite")]
impl TowerSessionsSource for TowerSessionsSqlite {
    fn take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move { take_row!(&self.pool, self.statement, id) })
    }
}
