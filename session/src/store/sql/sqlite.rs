//! Sessions in SQLite, through sqlx: the embedded database for a single machine.

use super::queries::Dialect;
use super::table::Table;
use super::{InvalidTableNameError, SqlCore, backend, delegate_store};
use crate::store::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// Sessions in an SQLite table (default `sessions`), one row per session, with the same
/// schema and queries as [`PostgresStore`](crate::PostgresStore), and the same
/// [sweeping](Self::with_sweep_interval).
///
/// [`SqliteStore::connect`] sets what makes SQLite fast and safe under concurrent requests:
/// WAL journaling, `synchronous = NORMAL`, a 5-second busy timeout, and a pool of 4
/// connections. sqlx's defaults (rollback journal, no busy timeout) are far slower and fail
/// under contention.
///
/// # Example
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use typed_sessions::{Key, SessionLayer, SqliteStore};
/// let store = SqliteStore::connect("sqlite://sessions.db").await?;
/// store.migrate().await?;
/// let layer = SessionLayer::new(store, &Key::generate());
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(super) core: SqlCore<sqlx::Sqlite>,
}

/// Creates the database file `path`, if missing, readable by its owner only (on Unix):
/// SQLite gives its `-wal` and `-shm` files the database file's permissions.
fn create_private(path: &std::path::Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::Io(error)),
    }
}

impl SqliteStore {
    /// None: SQLite lives in one process, whose live sessions the hub reaches itself.
    #[allow(clippy::unused_self)] // as PostgresStore's, which the shared Store impl calls
    pub(super) fn channel(&self) -> Option<std::sync::Arc<dyn crate::store::Broadcast>> {
        None
    }

    /// Opens (creating if missing) the database at `url` (`sqlite://path` or
    /// `sqlite::memory:`) with the settings above. On Unix a database file it creates, and
    /// its `-wal` and `-shm` files, are private to the user (0600), whatever the umask.
    ///
    /// # Errors
    /// When the URL is invalid or the database cannot be opened.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url).map_err(backend)?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            create_private(options.get_filename())?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        // No ping before each use (sqlx's default): a file does not hang up, and each ping
        // is a round trip to the connection's own thread.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Ok(Self::from_pool(pool))
    }

    /// A store using `pool` as configured (the database file keeps the permissions it was
    /// created with), on the table `sessions`.
    #[must_use]
    pub fn from_pool(pool: sqlx::SqlitePool) -> Self {
        let table = Table::new(None, "sessions").expect("valid default name");
        Self {
            core: SqlCore::new(pool, Dialect::Sqlite, &table),
        }
    }

    /// The same table through another pool (for example one with other timeouts).
    #[must_use = "the builder returns a new store"]
    pub fn with_pool(self, pool: sqlx::SqlitePool) -> Self {
        Self {
            core: self.core.with_pool(pool),
        }
    }

    /// Uses `table` instead.
    ///
    /// # Errors
    /// When the name is not a plain SQL identifier.
    pub fn with_table(self, table: &str) -> Result<Self, InvalidTableNameError> {
        let table = Table::new(None, table)?;
        Ok(Self {
            core: self.core.with_table(Dialect::Sqlite, &table),
        })
    }

    /// Fails each store operation that takes longer than `limit` (default 2 s) with a
    /// store error, answered 503.
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

    /// Creates the table and its indexes if they do not exist.
    ///
    /// # Errors
    /// When the database refuses.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.core.migrate().await
    }
}

delegate_store!(SqliteStore, "sqlite");

impl SqlCore<sqlx::Sqlite> {
    /// What [`Store::replace`](crate::Store::replace) runs: a save and, when it lost, a load
    /// (one process writes a SQLite file at a time: no claims to keep it fair).
    pub(super) async fn replace_now(
        &self,
        key: &crate::store::StorageKey,
        data: &[u8],
        expires_at: std::time::SystemTime,
        expected: crate::store::Version,
    ) -> Result<crate::store::ReplaceOutcome, StoreError> {
        self.save_or_winner(key, data, expires_at, expected).await
    }
}
