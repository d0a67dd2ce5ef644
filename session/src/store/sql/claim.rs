//! PostgreSQL's replace: a compare-and-swap that, when it loses, claims the session's next
//! write for this store and answers the row that won.
//!
//! The claim keeps processes writing one session fair, as the Redis store's save script
//! does: a replace that loses claims the next write (`claim_by`, until `claim_until`), and
//! another store's replace is refused while the claim lasts; the first store refused is
//! `claim_next`, and the claim passes to it when the claimed write is made. Without it the
//! process that just won sends its next save before the loser's retry arrives, and wins
//! again for as long as it has saves queued. Claims decide who goes first, never what is
//! written: the version check alone keeps every update.

use super::statement::{ms, sql, within};
use super::{SqlCore, backend, rows::stored_record};
use crate::store::{ReplaceOutcome, StorageKey, StoreError, Version};
use sqlx::Row;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

/// How long a claim lasts, in milliseconds: a loser's retry normally comes within a round
/// trip; a claim left by a request that gave up holds the others back no longer than this.
const CLAIM_MS: i64 = 20;

/// The columns the claims live in, added to tables made before them.
pub(super) fn migration(t: &str) -> String {
    format!(
        "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS claim_by BIGINT, \
         ADD COLUMN IF NOT EXISTS claim_next BIGINT, ADD COLUMN IF NOT EXISTS claim_until BIGINT"
    )
}

/// The write: `$1` data, `$2` expires at, `$3` id, `$4` the expected version, `$5` now, `$6`
/// this store's claimant, `$7` when a claim passed on now ends. Writes unless another
/// store's claim holds the session; a claim of this store's passes to `claim_next`.
/// Returns the new version, or no row (lost, refused, or no live row).
pub(super) fn write(t: &str) -> String {
    let mine = "(claim_by = $6 AND claim_until > $5)";
    format!(
        "UPDATE {t} SET data = $1, version = version + 1, expires_at = $2, \
           claim_by = CASE WHEN {mine} THEN claim_next END, claim_next = NULL, \
           claim_until = CASE WHEN {mine} AND claim_next IS NOT NULL THEN $7 END \
         WHERE id = $3 AND version = $4 AND expires_at > $5 \
           AND ({mine} OR claim_by IS NULL OR claim_until <= $5) \
         RETURNING version"
    )
}

/// After a write that wrote nothing: claims the session's next write for this store (`$2`,
/// until `$3`; `$1` the id, `$4` now) if nobody holds it, or else, if nobody is next,
/// queues this store next; and answers the row as it is now (an update's lock, so the
/// newest version even when the write that won has just committed). No row: no live one.
pub(super) fn claim(t: &str) -> String {
    let free = "(claim_by IS NULL OR claim_until <= $4)";
    format!(
        "UPDATE {t} SET \
           claim_by = CASE WHEN {free} THEN $2 ELSE claim_by END, \
           claim_next = CASE WHEN {free} THEN NULL \
             WHEN claim_by <> $2 AND claim_next IS NULL THEN $2 ELSE claim_next END, \
           claim_until = CASE WHEN {free} THEN $3 ELSE claim_until END \
         WHERE id = $1 AND expires_at > $4 \
         RETURNING data, version, expires_at"
    )
}

impl SqlCore<sqlx::Postgres> {
    /// [`Store::replace`](crate::store::Store::replace) on PostgreSQL: one statement when it
    /// writes, two when it loses (the write, then the claim with the row that won). On a
    /// table not migrated since claims came (its columns missing), a save and, when it
    /// lost, a load, as before.
    pub(super) async fn replace_now(
        &self,
        key: &StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        expected: Version,
    ) -> Result<ReplaceOutcome, StoreError> {
        if !self.unclaimed.load(Ordering::Relaxed) {
            let now = ms(SystemTime::now());
            let until = now.saturating_add(CLAIM_MS);
            let key = key.as_bytes().as_slice();
            let written = within(self.timeout, async {
                Ok(sqlx::query(sql(&self.queries.claims.write))
                    .bind(data)
                    .bind(ms(expires_at))
                    .bind(key)
                    .bind(i64::from_le_bytes(expected.get().to_le_bytes()))
                    .bind(now)
                    .bind(self.claimant)
                    .bind(until)
                    .fetch_optional(&self.pool)
                    .await)
            })
            .await?;
            match written.map_err(|error| self.unless_unmigrated(error)) {
                Ok(Some(row)) => {
                    let version: i64 = row.try_get(0).map_err(backend)?;
                    return Ok(ReplaceOutcome::Saved(Version::new(version.unsigned_abs())));
                }
                Ok(None) => return self.claim(key, now, until).await,
                Err(Some(error)) => return Err(error),
                // The columns are missing: below, without claims.
                Err(None) => {}
            }
        }
        self.save_or_winner(key, data, expires_at, expected).await
    }

    /// After a write that lost or was refused: the claim, and the row that won.
    async fn claim(&self, key: &[u8], now: i64, until: i64) -> Result<ReplaceOutcome, StoreError> {
        let row = within(self.timeout, async {
            sqlx::query(sql(&self.queries.claims.claim))
                .bind(key)
                .bind(self.claimant)
                .bind(until)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)
        })
        .await?;
        Ok(match row {
            Some(row) => ReplaceOutcome::Lost(Box::new(stored_record(&row, 0)?)),
            None => ReplaceOutcome::Missing,
        })
    }

    /// `error` as a store error; `None` (and claims off from now on) when it says the
    /// claim columns are missing: the table was made before them and not migrated since.
    fn unless_unmigrated(&self, error: sqlx::Error) -> Option<StoreError> {
        let code = error.as_database_error().and_then(|error| error.code());
        if code.as_deref() != Some("42703") {
            return Some(backend(error));
        }
        tracing::warn!(
            "the sessions table has no claim columns: run `PostgresStore::migrate` to keep \
             processes that write one session fair"
        );
        self.unclaimed.store(true, Ordering::Relaxed);
        None
    }
}

/// The statements of claims, for one table.
#[derive(Debug)]
pub(crate) struct ClaimQueries {
    pub(crate) write: std::sync::Arc<str>,
    pub(crate) claim: std::sync::Arc<str>,
}

impl ClaimQueries {
    pub(crate) fn new(t: &str) -> Self {
        Self {
            write: write(t).into(),
            claim: claim(t).into(),
        }
    }
}
