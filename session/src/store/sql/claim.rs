//! PostgreSQL's replace: a compare-and-swap that, when it loses, answers the row that won
//! and claims the session's next write for this store, in one statement.
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
use crate::store::replace::lost_to;
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

/// The replace. `$1` data, `$2` expires at, `$3` id, `$4` the expected version, `$5` now,
/// `$6` this store's claimant, `$7` when a claim made now ends. One row: `0, _, version`
/// when written; `1, data, version, expires_at` (the row that won) when lost; none when
/// there is no live row.
///
/// `lost` runs only when `won` wrote nothing (its `NOT EXISTS` is evaluated first), so the
/// two never update one row; it locks the row as an update does, and so returns the newest
/// version even when this statement waited for the write that won.
pub(super) fn statement(t: &str) -> String {
    let free = "(claim_by IS NULL OR claim_until <= $5)";
    let mine = "(claim_by = $6 AND claim_until > $5)";
    format!(
        "WITH won AS (UPDATE {t} SET data = $1, version = version + 1, expires_at = $2, \
           claim_by = CASE WHEN {mine} THEN claim_next END, claim_next = NULL, \
           claim_until = CASE WHEN {mine} AND claim_next IS NOT NULL THEN $7 END \
         WHERE id = $3 AND version = $4 AND expires_at > $5 AND ({mine} OR {free}) \
         RETURNING version), \
         lost AS (UPDATE {t} SET \
           claim_by = CASE WHEN {free} THEN $6 ELSE claim_by END, \
           claim_next = CASE WHEN {free} THEN NULL \
             WHEN claim_by <> $6 AND claim_next IS NULL THEN $6 ELSE claim_next END, \
           claim_until = CASE WHEN {free} THEN $7 ELSE claim_until END \
         WHERE id = $3 AND expires_at > $5 AND NOT EXISTS (SELECT 1 FROM won) \
         RETURNING data, version, expires_at) \
         SELECT 0::BIGINT, '\\x'::BYTEA, version, 0::BIGINT FROM won \
         UNION ALL SELECT 1, data, version, expires_at FROM lost"
    )
}

impl SqlCore<sqlx::Postgres> {
    /// [`Store::replace`](crate::store::Store::replace) on PostgreSQL: one statement. On a
    /// table not migrated since claims came (its columns missing), a save and, when it
    /// lost, a load, as before.
    pub(super) async fn replace_claimed(
        &self,
        key: &StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        expected: Version,
    ) -> Result<ReplaceOutcome, StoreError> {
        if !self.unclaimed.load(Ordering::Relaxed) {
            let now = ms(SystemTime::now());
            let row = within(self.timeout, async {
                Ok(sqlx::query(sql(&self.queries.replace))
                    .bind(data)
                    .bind(ms(expires_at))
                    .bind(key.as_bytes().as_slice())
                    .bind(i64::from_le_bytes(expected.get().to_le_bytes()))
                    .bind(now)
                    .bind(self.claimant)
                    .bind(now.saturating_add(CLAIM_MS))
                    .fetch_optional(&self.pool)
                    .await)
            })
            .await?;
            match row.map_err(|error| self.unless_unmigrated(error)) {
                Ok(Some(row)) => return answer(&row),
                Ok(None) => return Ok(ReplaceOutcome::Missing),
                Err(Some(error)) => return Err(error),
                // The columns are missing: below, without claims.
                Err(None) => {}
            }
        }
        let saved = self
            .save(key, data, expires_at, Some(expected), None)
            .await?;
        lost_to(saved, || self.load(key)).await
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

/// A row of [`statement`] as the replace's outcome.
fn answer(row: &sqlx::postgres::PgRow) -> Result<ReplaceOutcome, StoreError> {
    let lost: i64 = row.try_get(0).map_err(backend)?;
    if lost == 0 {
        let version: i64 = row.try_get(2).map_err(backend)?;
        return Ok(ReplaceOutcome::Saved(Version::new(version.unsigned_abs())));
    }
    Ok(ReplaceOutcome::Lost(Box::new(stored_record(row, 1)?)))
}
