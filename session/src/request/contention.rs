//! What a save does after losing a race to another process: back off, then rebase on the
//! record that won.

use super::RequestSession;
use super::commit::Save;
use super::live::decode;
use super::state::Current;
use super::turn;
use crate::error::Error;
use crate::id::{SessionId, StorageKey};
use crate::observe::{self, ObservedStore};
use crate::typed::Dirty;
use std::sync::PoisonError;

impl RequestSession {
    /// After a race lost to another process: rebases `save` on the record as it now is
    /// (`won`, the one the store answered the loss with, or read again if it answered none),
    /// with this process's saves of the session that queued meanwhile. `false`: the record
    /// is gone.
    ///
    /// The first [`FREE_RETRIES`] retries go at once: on Redis and PostgreSQL the loss
    /// claimed the session's next write for this process (`guide::saving`), so a pause
    /// would only leave that write waiting. From then on a random back-off, so that many
    /// processes on one session do not retry in a storm.
    pub(super) async fn rebase_after_loss(
        &self,
        store: &ObservedStore,
        save: &mut Save,
        dirty: &Dirty,
        attempt: u32,
        (id, key): (SessionId, StorageKey),
    ) -> Result<bool, Error> {
        observe::count(observe::names::RETRIES, store.name());
        if attempt > FREE_RETRIES {
            tracing::debug!(attempt, "lost a save race to another process; backing off");
            // Boxed: rare, and a timer inline would make every save's future larger.
            Box::pin(backoff(attempt - FREE_RETRIES)).await;
        }
        tracing::debug!("session changed since it was loaded; rebasing this request's changes");
        // `if let`, whose scrutinee (edition 2024) is gone before the `else` awaits.
        let won = self
            .won
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let loaded = if let Some(won) = won {
            Some(*won)
        } else {
            store.load(&key).await?
        };
        let encryption = self.config.encryption.as_deref();
        let decoded = loaded.and_then(|stored| decode(encryption, (&id, &key), stored));
        let Some((stored, version)) = decoded else {
            return Ok(false);
        };
        save.rebase_on(&stored, Some(Current { id, key, version }), dirty)?;
        if !save.rotate {
            turn::gather(self.config.turns(&id), id, save);
        }
        Ok(true)
    }
}

/// Losses retried without a pause.
const FREE_RETRIES: u32 = 8;

/// Sleeps a random 0 to 2^attempt tenths of a millisecond, at most 6.4 ms (full jitter):
/// short, because a store that grants the loser the next write (Redis, PostgreSQL) holds
/// that write for it while it sleeps.
async fn backoff(attempt: u32) {
    let ceiling = 100u64 << attempt.min(6);
    let micros = crate::crypto::random::u64() % ceiling;
    tokio::time::sleep(std::time::Duration::from_micros(micros)).await;
}
