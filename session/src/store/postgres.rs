//! Sessions in PostgreSQL, through sqlx.

use super::sql::{Dialect, InvalidTableName, Queries, Table, sql_store};
use crate::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Sessions in a PostgreSQL table (default `public.sessions`), one row per session:
/// `id BYTEA PRIMARY KEY, data BYTEA, version BIGINT, expires_at BIGINT` (Unix ms, indexed).
///
/// - A read is one query; a save one (`UPDATE .. WHERE version = $expected RETURNING`, or
///   `INSERT .. ON CONFLICT`), plus a second only when it lost a race; a refresh one `UPDATE`.
/// - [`migrate`](Self::migrate) creates the table; expired rows are never returned, and
///   [`delete_expired`](Self::delete_expired) (or [`spawn_sweeper`](Self::spawn_sweeper))
///   reclaims them in bounded batches.
/// - [`connect`](Self::connect) sets what suits sessions: saves that do not wait for the
///   disk (deletes still do: a logout or rotation survives a crash of the database
///   server), a 2-second acquire timeout and statement timeout. [`new`](Self::new) takes a
///   pool as configured.
/// - Each store operation fails after 2 s ([`with_timeout`](Self::with_timeout)), answered
///   503: a stalled connection or a partitioned database server cannot hold requests.
///
/// # Example
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use session::{Key, PostgresStore, SessionLayer};
/// let store = PostgresStore::connect("postgres://postgres@127.0.0.1/app")
///     .await?
///     .with_table(Some("auth"), "sessions")?;
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
    /// How long one store operation may take.
    timeout: Duration,
}

impl PostgresStore {
    /// Connects to `url` with a pool of its own, on the table `public.sessions`.
    ///
    /// Its connections run with `synchronous_commit = off`: a save returns once PostgreSQL
    /// has applied it and queued its write-ahead log, without waiting for the disk flush.
    /// That makes writes several times faster. The cost: if the database server itself
    /// crashes, the last fraction of a second of saves (at most three times
    /// `wal_writer_delay`, 600 ms by default) can be lost, never half-applied and never
    /// corrupting anything; those visitors find their session one change older, or start
    /// a new one. Deletes (a logout, the old id of a rotation) are exempt: each runs with
    /// `SET LOCAL synchronous_commit = on`, so an acknowledged logout never comes back.
    /// Sessions are the usual place to make that trade; pass a pool of your own to
    /// [`new`](Self::new) to keep every commit durable.
    ///
    /// A statement that runs longer than 2 s is cancelled by the server
    /// (`statement_timeout`), as each operation is given up by the store after 2 s.
    ///
    /// The pool holds up to 10 connections, and a request waits at most 2 seconds for
    /// one, so that an unreachable database gives 503s rather than a queue.
    ///
    /// # Errors
    /// When the URL is invalid. The pool connects lazily: an unreachable database shows as
    /// store errors on use, not here.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(super::sql::backend)?
            .options([("synchronous_commit", "off"), ("statement_timeout", "2s")]);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(options);
        Ok(Self::new(pool))
    }

    /// A store using `pool` as configured, on the table `public.sessions`.
    #[must_use]
    pub fn new(pool: sqlx::PgPool) -> Self {
        let table = Table::new(Some("public"), "sessions").expect("valid default name");
        Self {
            pool,
            queries: Arc::new(Queries::new(Dialect::Postgres, &table)),
            timeout: super::sql::DEFAULT_TIMEOUT,
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

sql_store!(PostgresStore, "postgres");
