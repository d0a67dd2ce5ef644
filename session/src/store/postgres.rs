//! Sessions in PostgreSQL, through sqlx.

use super::sql::{Dialect, InvalidTableName, Queries, Table, sql_store};
use std::sync::Arc;

/// Sessions in a PostgreSQL table (default `public.sessions`), one row per session:
/// `id BYTEA PRIMARY KEY, data BYTEA, version BIGINT, expires_at BIGINT` (Unix ms, indexed).
///
/// - A read is one query; a save one (`UPDATE .. WHERE version = $expected RETURNING`, or
///   `INSERT .. ON CONFLICT`), plus a second only when it lost a race; a refresh one `UPDATE`.
/// - [`migrate`](Self::migrate) creates the table; expired rows are never returned, and
///   [`delete_expired`](Self::delete_expired) (or [`spawn_sweeper`](Self::spawn_sweeper))
///   reclaims them in bounded batches.
///
/// # Example
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use session::{Key, PostgresStore, SessionLayer};
/// let pool = sqlx::PgPool::connect("postgres://postgres@127.0.0.1/app").await?;
/// let store = PostgresStore::new(pool).with_table(Some("auth"), "sessions")?;
/// store.migrate().await?;
/// store.spawn_sweeper(std::time::Duration::from_secs(300));
/// let layer = SessionLayer::new(store, &Key::generate());
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: sqlx::PgPool,
    queries: Arc<Queries>,
}

impl PostgresStore {
    /// A store using `pool`, on the table `public.sessions`.
    #[must_use]
    pub fn new(pool: sqlx::PgPool) -> Self {
        let table = Table::new(Some("public"), "sessions").expect("valid default name");
        Self {
            pool,
            queries: Arc::new(Queries::new(Dialect::Postgres, &table)),
        }
    }

    /// The same table through another pool (for example one with other timeouts).
    #[must_use]
    pub fn with_pool(self, pool: sqlx::PgPool) -> Self {
        Self { pool, ..self }
    }

    /// Uses `schema.table` instead (schema `None`: the connection's search path).
    ///
    /// # Errors
    /// When a name is not a plain SQL identifier.
    pub fn with_table(self, schema: Option<&str>, table: &str) -> Result<Self, InvalidTableName> {
        let table = Table::new(schema, table)?;
        Ok(Self {
            queries: Arc::new(Queries::new(Dialect::Postgres, &table)),
            ..self
        })
    }
}

sql_store!(PostgresStore);
