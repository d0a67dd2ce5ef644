//! [`SqlCore`]: a SQL store whatever the database, generic over sqlx's `Database`, with the
//! statements of [`Queries`] and the sweep schedule.

use super::backend;
use super::queries::{Dialect, Queries};
use super::rows::{RowsAffected, owned_record, stored_record};
use super::statement::{first_version, ms, sql, within};
use super::sweep::SweepSchedule;
use super::table::Table;
use crate::chain::ErrorChain;
use crate::id::Owner;
use crate::store::{
    CreateOutcome, ExpiredOwned, OwnedRecord, ReplaceOutcome, SaveOutcome, StorageKey, StoreError,
    StoredRecord, Version,
};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

/// How long a store operation may take by default: a database behind a network partition
/// would otherwise hold a request for as long as TCP keeps trying (sqlx sets no TCP
/// keepalive).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a SQL store sweeps expired rows by default.
const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(300);

/// Rows one sweep statement deletes at most, so that no sweep holds a long lock.
pub(super) const SWEEP_BATCH: i64 = 1000;

/// What a SQL store is, whatever the database: a pool, its statements, its limits.
#[derive(Debug)]
pub(crate) struct SqlCore<DB: Database> {
    pub(super) pool: Pool<DB>,
    pub(super) queries: Arc<Queries>,
    /// How long one store operation may take.
    pub(super) timeout: Duration,
    sweep: Arc<SweepSchedule>,
    /// The owners' sessions dropped as expired, for the layer's events (`expired.rs`).
    pub(super) expired: Arc<ExpiredOwned>,
    /// Who this store is in the claims of PostgreSQL's replace (`claim.rs`): random.
    pub(super) claimant: i64,
    /// Set when the table turned out to have no claim columns (not migrated since).
    pub(super) unclaimed: Arc<AtomicBool>,
}

impl<DB: Database> Clone for SqlCore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            queries: Arc::clone(&self.queries),
            timeout: self.timeout,
            sweep: Arc::clone(&self.sweep),
            expired: Arc::clone(&self.expired),
            claimant: self.claimant,
            unclaimed: Arc::clone(&self.unclaimed),
        }
    }
}

impl<DB: Database> SqlCore<DB> {
    pub(super) fn new(pool: Pool<DB>, dialect: Dialect, table: &Table) -> Self {
        Self {
            pool,
            queries: Arc::new(Queries::new(dialect, table)),
            timeout: DEFAULT_TIMEOUT,
            sweep: Arc::new(SweepSchedule::every(DEFAULT_SWEEP_INTERVAL)),
            expired: Arc::default(),
            claimant: first_version(),
            unclaimed: Arc::default(),
        }
    }

    pub(super) fn with_table(self, dialect: Dialect, table: &Table) -> Self {
        Self {
            queries: Arc::new(Queries::new(dialect, table)),
            unclaimed: Arc::default(),
            ..self
        }
    }

    pub(super) fn with_pool(self, pool: Pool<DB>) -> Self {
        Self { pool, ..self }
    }

    pub(super) fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    pub(super) fn with_sweep_interval(self, interval: Duration) -> Self {
        Self {
            sweep: Arc::new(SweepSchedule::every(interval)),
            ..self
        }
    }
}

// The bounds sqlx needs to run these statements with these types; both databases meet them.
impl<DB> SqlCore<DB>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'r> i64: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    pub(super) async fn migrate(&self) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.map_err(backend)?;
        for statement in &self.queries.migrate {
            sqlx::query(sql(statement))
                .execute(&mut *transaction)
                .await
                .map_err(backend)?;
        }
        transaction.commit().await.map_err(backend)
    }

    pub(super) async fn load(&self, key: &StorageKey) -> Result<Option<StoredRecord>, StoreError> {
        within(self.timeout, async {
            let row = sqlx::query(sql(&self.queries.load))
                .bind(key.as_bytes().as_slice())
                .bind(ms(SystemTime::now()))
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
            row.map(|row| stored_record(&row, 0)).transpose()
        })
        .await
    }

    /// A replace without claims: a save and, when it lost, a load of the row that won.
    pub(super) async fn save_or_winner(
        &self,
        key: &StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        expected: Version,
    ) -> Result<ReplaceOutcome, StoreError> {
        let saved = self
            .save(key, data, expires_at, Some(expected), None)
            .await?;
        crate::store::replace::lost_to(saved, || self.load(key)).await
    }

    pub(super) async fn save(
        &self,
        key: &StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&Owner>,
    ) -> Result<SaveOutcome, StoreError> {
        within(self.timeout, async {
            match expected {
                None => self.create(key, data, expires_at, owner).await,
                Some(expected) => self.replace(key, data, expires_at, expected).await,
            }
        })
        .await
    }

    async fn create(
        &self,
        key: &StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        owner: Option<&Owner>,
    ) -> Result<SaveOutcome, StoreError> {
        let now = ms(SystemTime::now());
        let version = first_version();
        let created = sqlx::query(sql(&self.queries.create))
            .bind(key.as_bytes().as_slice())
            .bind(data)
            .bind(version)
            .bind(ms(expires_at))
            .bind(now)
            .bind(owner.map(Owner::as_str))
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows();
        if created != 1 {
            return Ok(SaveOutcome::Conflict);
        }
        self.after_create(owner, now).await?;
        Ok(SaveOutcome::Saved(Version::new(version.unsigned_abs())))
    }

    /// What follows a create: the owner's expired rows leave with each new session of
    /// theirs (the index of an owner holds their live sessions and those that expired since
    /// their last login), and the rest in a batch once per sweep interval.
    async fn after_create(&self, owner: Option<&Owner>, now: i64) -> Result<(), StoreError> {
        if let Some(owner) = owner {
            self.drop_expired_of(owner, now).await?;
        }
        if self.sweep.due(now.unsigned_abs())
            && let Err(error) = self.sweep_batch().await
        {
            tracing::warn!(error = %ErrorChain(&error), "sweeping expired sessions failed");
        }
        Ok(())
    }

    /// Creates `key`'s row as a session of `owner` while the owner has fewer than `max`
    /// live ones: the count and the insert are one statement, after the owner's lock.
    pub(super) async fn create_owned(
        &self,
        key: &StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        owner: &Owner,
        max: usize,
    ) -> Result<CreateOutcome, StoreError> {
        within(self.timeout, async {
            let now = ms(SystemTime::now());
            let version = first_version();
            let mut transaction = self.pool.begin().await.map_err(backend)?;
            if let Some(lock) = &self.queries.owners.owner_lock {
                sqlx::query(sql(lock))
                    .bind(owner.as_str())
                    .execute(&mut *transaction)
                    .await
                    .map_err(backend)?;
            }
            let created = sqlx::query(sql(&self.queries.owners.create_within))
                .bind(key.as_bytes().as_slice())
                .bind(data)
                .bind(version)
                .bind(ms(expires_at))
                .bind(now)
                .bind(owner.as_str())
                .bind(i64::try_from(max).unwrap_or(i64::MAX))
                .execute(&mut *transaction)
                .await
                .map_err(backend)?
                .rows();
            transaction.commit().await.map_err(backend)?;
            if created == 1 {
                self.after_create(Some(owner), now).await?;
                return Ok(CreateOutcome::Created(Version::new(version.unsigned_abs())));
            }
            // Nothing written: a live row with this id (a collision), or the owner is full.
            let live = sqlx::query(sql(&self.queries.exists))
                .bind(key.as_bytes().as_slice())
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
            Ok(if live.is_some() {
                CreateOutcome::Taken
            } else {
                CreateOutcome::Full
            })
        })
        .await
    }

    async fn replace(
        &self,
        key: &StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        expected: Version,
    ) -> Result<SaveOutcome, StoreError> {
        let now = ms(SystemTime::now());
        let key = key.as_bytes().as_slice();
        let updated = sqlx::query(sql(&self.queries.update))
            .bind(data)
            .bind(ms(expires_at))
            .bind(key)
            .bind(i64::from_le_bytes(expected.get().to_le_bytes()))
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        if let Some(row) = updated {
            let version: i64 = row.try_get(0).map_err(backend)?;
            return Ok(SaveOutcome::Saved(Version::new(version.unsigned_abs())));
        }
        // Only on a lost race: tell a conflict from a vanished record.
        let live = sqlx::query(sql(&self.queries.exists))
            .bind(key)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(if live.is_some() {
            SaveOutcome::Conflict
        } else {
            SaveOutcome::Missing
        })
    }

    pub(super) async fn touch(
        &self,
        key: &StorageKey,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        within(self.timeout, async {
            let touched = sqlx::query(sql(&self.queries.touch))
                .bind(ms(expires_at))
                .bind(key.as_bytes().as_slice())
                .bind(ms(SystemTime::now()))
                .execute(&self.pool)
                .await
                .map_err(backend)?
                .rows();
            Ok(touched == 1)
        })
        .await
    }

    /// A transaction whose commit waits for the disk (PostgreSQL), for deletes: a logout
    /// survives a crash of the database server.
    async fn durable(&self) -> Result<sqlx::Transaction<'static, DB>, StoreError> {
        let mut transaction = self.pool.begin().await.map_err(backend)?;
        if let Some(durable) = &self.queries.durable {
            sqlx::query(sql(durable))
                .execute(&mut *transaction)
                .await
                .map_err(backend)?;
        }
        Ok(transaction)
    }

    pub(super) async fn delete(&self, key: &StorageKey) -> Result<bool, StoreError> {
        within(self.timeout, async {
            let now = ms(SystemTime::now());
            let mut transaction = self.durable().await?;
            let row = sqlx::query(sql(&self.queries.delete))
                .bind(key.as_bytes().as_slice())
                .fetch_optional(&mut *transaction)
                .await
                .map_err(backend)?;
            transaction.commit().await.map_err(backend)?;
            match row {
                Some(row) => Ok(row.try_get::<i64, _>(0).map_err(backend)? > now),
                None => Ok(false),
            }
        })
        .await
    }

    /// `owner`'s live sessions but `except`, removed in one statement.
    pub(super) async fn delete_owned(
        &self,
        owner: &Owner,
        except: Option<&StorageKey>,
    ) -> Result<u64, StoreError> {
        within(self.timeout, async {
            let except: &[u8] = except.map_or(&[], |key| key.as_bytes().as_slice());
            let mut transaction = self.durable().await?;
            let removed = sqlx::query(sql(&self.queries.owners.delete_owned))
                .bind(owner.as_str())
                .bind(ms(SystemTime::now()))
                .bind(except)
                .execute(&mut *transaction)
                .await
                .map_err(backend)?
                .rows();
            transaction.commit().await.map_err(backend)?;
            Ok(removed)
        })
        .await
    }

    pub(super) async fn owned(&self, owner: &Owner) -> Result<Vec<OwnedRecord>, StoreError> {
        within(self.timeout, async {
            let now = ms(SystemTime::now());
            let rows = sqlx::query(sql(&self.queries.owners.owned))
                .bind(owner.as_str())
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            // Reading the owner's index drops (and reports) their expired sessions.
            self.drop_expired_of(owner, now).await?;
            rows.iter().map(owned_record).collect()
        })
        .await
    }
}
