//! Sessions in PostgreSQL, through sqlx.

use super::queries::Dialect;
use super::table::Table;
use super::{InvalidTableNameError, SqlCore, backend, delegate_store};
use crate::store::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// How long a pooled connection may sit idle and still be used without a ping first: long
/// enough that a busy pool never pings, short enough that a database restarted while the
/// pool was idle is noticed before a request uses a dead connection.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Sessions in a PostgreSQL table (default `public.sessions`), one row per session:
/// `id BYTEA PRIMARY KEY, data BYTEA, version BIGINT, expires_at BIGINT` (Unix ms, indexed).
///
/// - A read is one query; a save one (`UPDATE .. WHERE version = $expected RETURNING`, or
///   `INSERT .. ON CONFLICT`), plus a second only when it lost a race; a refresh one `UPDATE`.
/// - [`migrate`](Self::migrate) creates the table; expired rows are never returned, and
///   leave in bounded batches every [sweep interval](Self::with_sweep_interval) (5 minutes
///   by default) or on [`sweep_expired`](crate::Store::sweep_expired).
/// - [`connect`](Self::connect) sets what suits sessions: saves that do not wait for the
///   disk (deletes still do: a logout or rotation survives a crash of the database
///   server), a 2-second acquire timeout and statement timeout.
///   [`from_pool`](Self::from_pool) takes a pool as configured.
/// - Each store operation fails after 2 s ([`with_timeout`](Self::with_timeout)), answered
///   503: a stalled connection or a partitioned database server cannot hold requests.
///
/// # Example
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use typed_sessions::{Key, PostgresStore, SessionLayer};
/// let store = PostgresStore::connect("postgres://postgres@127.0.0.1/app")
///     .await?
///     .with_table(Some("auth"), "sessions")?;
/// store.migrate().await?;
/// let layer = SessionLayer::new(store, &Key::generate());
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pub(super) core: SqlCore<sqlx::Postgres>,
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
    /// [`from_pool`](Self::from_pool) to keep every commit durable.
    ///
    /// A statement that runs longer than 2 s is cancelled by the server
    /// (`statement_timeout`), as each operation is given up by the store after 2 s.
    ///
    /// The pool holds up to 10 connections, and a request waits at most 2 seconds for
    /// one, so that an unreachable database gives 503s rather than a queue. A connection
    /// idle for more than a second is checked with a ping before use (sqlx's default pings
    /// every one, a round trip more on each request; under traffic connections are never
    /// idle that long, and one that fails a query is dropped).
    ///
    /// # Errors
    /// When the URL is invalid. The pool connects lazily: an unreachable database shows as
    /// store errors on use, not here.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(backend)?
            .options([("synchronous_commit", "off"), ("statement_timeout", "2s")]);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(2))
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_AFTER_IDLE {
                        sqlx::Connection::ping(connection).await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options);
        Ok(Self::from_pool(pool))
    }

    /// A store using `pool` as configured, on the table `public.sessions`. A pool on sqlx's
    /// defaults pings each connection before handing it out, a round trip more per request;
    /// `test_before_acquire(false)` with a `before_acquire` that pings only idle connections
    /// (as [`connect`](Self::connect) does) saves it.
    #[must_use]
    pub fn from_pool(pool: sqlx::PgPool) -> Self {
        let table = Table::new(Some("public"), "sessions").expect("valid default name");
        Self {
            core: SqlCore::new(pool, Dialect::Postgres, &table),
        }
    }

    /// The same table through another pool (for example one with other timeouts).
    #[must_use = "the builder returns a new store"]
    pub fn with_pool(self, pool: sqlx::PgPool) -> Self {
        Self {
            core: self.core.with_pool(pool),
        }
    }

    /// Uses `schema.table` instead (schema `None`: the connection's search path).
    ///
    /// # Errors
    /// When a name is not a plain SQL identifier.
    pub fn with_table(
        self,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Self, InvalidTableNameError> {
        let table = Table::new(schema, table)?;
        Ok(Self {
            core: self.core.with_table(Dialect::Postgres, &table),
        })
    }

    /// Fails each store operation that takes longer than `limit` (default 2 s) with a
    /// store error, answered 503: a database behind a network partition, or a stalled
    /// connection, would otherwise hold requests for as long as TCP keeps trying.
    #[must_use = "the builder returns a new store"]
    pub fn with_timeout(self, limit: Duration) -> Self {
        Self {
            core: self.core.with_timeout(limit),
        }
    }

    /// Deletes a batch of up to 1000 expired rows at most once per `interval` (default 5
    /// minutes), after a new session is created; [`Duration::ZERO`] never does.
    /// [`sweep_expired`](crate::Store::sweep_expired) deletes them all now.
    #[must_use = "the builder returns a new store"]
    pub fn with_sweep_interval(self, interval: Duration) -> Self {
        Self {
            core: self.core.with_sweep_interval(interval),
        }
    }

    /// Creates the table and its indexes if they do not exist, and adds the columns a table
    /// made by an earlier version lacks (several instances may migrate at once: an
    /// advisory lock makes them take turns).
    ///
    /// # Errors
    /// When the database refuses.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.core.migrate().await
    }
}

delegate_store!(PostgresStore, "postgres");
