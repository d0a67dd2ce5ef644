//! A store wrapper that counts I/O and can be switched off.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::SystemTime;
use typed_sessions::Store;
use typed_sessions::store::StoreError;
use typed_sessions::store::{
    BoxFuture, Pipelined, ReplaceOutcome, SaveOutcome, StoredRecord, Version,
};

/// Counts of each store operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// `load` calls.
    pub loads: usize,
    /// `save` calls.
    pub saves: usize,
    /// `touch` calls.
    pub touches: usize,
    /// `delete` calls.
    pub deletes: usize,
    /// Saves answered `Conflict` (a compare-and-swap lost).
    pub conflicts: usize,
}

impl Counts {
    /// All operations.
    pub fn total(&self) -> usize {
        self.loads + self.saves + self.touches + self.deletes
    }
}

/// Wraps a store: counts each operation, and fails them all while [`ProbeStore::set_down`].
#[derive(Clone, Debug)]
pub struct ProbeStore {
    inner: Arc<dyn Store>,
    state: Arc<ProbeState>,
}

#[derive(Debug, Default)]
struct ProbeState {
    loads: AtomicUsize,
    saves: AtomicUsize,
    touches: AtomicUsize,
    deletes: AtomicUsize,
    down: AtomicBool,
    garbled: AtomicBool,
    /// The number of saves to let through before one fails, plus one (0: none fails).
    failing_save: AtomicUsize,
    /// How long each save takes, in milliseconds, like a store across a network.
    save_ms: AtomicU64,
    listing_ms: AtomicU64,
    delete_ms: AtomicU64,
    conflicts: AtomicUsize,
    /// Added to each revocation record saved, in µs.
    revocation_skew_us: std::sync::atomic::AtomicI64,
    /// Saves sent and not yet answered, and the most there were at once.
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// Another process's store, which writes the session just before the next pipelined
    /// replace is sent, once.
    interferer: std::sync::Mutex<Option<Arc<dyn Store>>>,
}

impl ProbeStore {
    /// Probes `inner`.
    pub fn new(inner: impl Store) -> Self {
        Self {
            inner: Arc::new(inner),
            state: Arc::default(),
        }
    }

    /// The operations so far.
    pub fn counts(&self) -> Counts {
        let s = &self.state;
        Counts {
            loads: s.loads.load(Ordering::SeqCst),
            saves: s.saves.load(Ordering::SeqCst),
            touches: s.touches.load(Ordering::SeqCst),
            deletes: s.deletes.load(Ordering::SeqCst),
            conflicts: s.conflicts.load(Ordering::SeqCst),
        }
    }

    /// The most saves sent and not yet answered at once.
    pub fn most_in_flight(&self) -> usize {
        self.state.most_in_flight.load(Ordering::SeqCst)
    }

    /// Just before the next pipelined replace is sent, `other` (another process's store on
    /// the same data) writes the session anew, unchanged: that replace is sure to lose.
    pub fn interfere_once_with(&self, other: impl Store) {
        *self.state.interferer.lock().unwrap() = Some(Arc::new(other));
    }

    /// Counts a save as sent until it is answered.
    async fn in_flight<T>(&self, sent: impl Future<Output = T>) -> T {
        let now = self.state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.state.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let answer = sent.await;
        self.state.in_flight.fetch_sub(1, Ordering::SeqCst);
        answer
    }

    /// The interfering write, if one is due.
    async fn interfere(&self, id: &typed_sessions::store::StorageKey) {
        let other = self.state.interferer.lock().unwrap().take();
        let Some(other) = other else { return };
        // Again while refused: a session's next write may be claimed for a while (20 ms)
        // by the process that lost the last race.
        for _ in 0..100 {
            let stored = other.load(id).await.unwrap();
            let stored = stored.expect("a record to write anew");
            let expected = Some(stored.version);
            let saved = other.save(id, &stored.data, stored.expires_at, expected, None);
            if matches!(saved.await.unwrap(), SaveOutcome::Saved(_)) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("another process's write refused for half a second");
    }

    /// What a save does before it reaches the store: counted, failed while down, delayed,
    /// and failed when it is the one [`Self::fail_a_save_after`] named.
    async fn before_save(&self) -> Result<(), StoreError> {
        self.check(&self.state.saves)?;
        let delay = self.state.save_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        let countdown =
            self.state
                .failing_save
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if countdown == Ok(1) {
            let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "save failed");
            return Err(StoreError::Io(reset));
        }
        Ok(())
    }

    /// While `down`, every operation fails like an unreachable server.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// Makes every record read back as garbage (its version kept): what a corrupted store
    /// returns.
    pub fn set_garbled(&self, garbled: bool) {
        self.state.garbled.store(garbled, Ordering::SeqCst);
    }

    /// Lets `passing` saves through, then fails one like a dropped connection.
    pub fn fail_a_save_after(&self, passing: usize) {
        self.state.failing_save.store(passing + 1, Ordering::SeqCst);
    }

    /// Makes each delete take `delay` before it reaches the store.
    pub fn delay_deletes(&self, delay: std::time::Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.delete_ms.store(ms, Ordering::SeqCst);
    }

    /// Adds `skew_us` to each revocation record saved (8 bytes, with no owner): the record
    /// as a revoking instance whose clock is off by that much would have written it.
    pub fn skew_revocations(&self, skew_us: i64) {
        self.state
            .revocation_skew_us
            .store(skew_us, Ordering::SeqCst);
    }

    /// Makes each save take `delay` before it reaches the store.
    pub fn delay_saves(&self, delay: std::time::Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.save_ms.store(ms, Ordering::SeqCst);
    }

    /// Holds each listing of an owner's sessions for `delay` after it was read: what it
    /// returns is that long out of date.
    pub fn delay_listings(&self, delay: std::time::Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.listing_ms.store(ms, Ordering::SeqCst);
    }

    fn check(&self, counter: &AtomicUsize) -> Result<(), StoreError> {
        counter.fetch_add(1, Ordering::SeqCst);
        if self.state.down.load(Ordering::SeqCst) {
            let refused =
                std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "store is down");
            return Err(StoreError::Io(refused));
        }
        Ok(())
    }
}

impl Store for ProbeStore {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn load<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.loads)?;
            let loaded = self.inner.load(id).await?;
            if !self.state.garbled.load(Ordering::SeqCst) {
                return Ok(loaded);
            }
            Ok(loaded.map(|stored| StoredRecord {
                data: b"garbled".to_vec(),
                ..stored
            }))
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&'a typed_sessions::Owner>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        Box::pin(self.in_flight(async move {
            self.before_save().await?;
            let skew = self.state.revocation_skew_us.load(Ordering::SeqCst);
            let skewed = match <[u8; 8]>::try_from(data) {
                Ok(value) if skew != 0 && owner.is_none() => {
                    let value = u64::from_le_bytes(value).saturating_add_signed(skew);
                    Some(value.to_le_bytes())
                }
                _ => None,
            };
            let data = skewed.as_ref().map_or(data, |skewed| skewed.as_slice());
            let outcome = self
                .inner
                .save(id, data, expires_at, expected, owner)
                .await?;
            if outcome == SaveOutcome::Conflict {
                self.state.conflicts.fetch_add(1, Ordering::SeqCst);
            }
            Ok(outcome)
        }))
    }

    /// The inner store's, where it pipelines: delayed and counted as a save is, and sent
    /// after the interfering write, if one is due.
    fn replace_pipelined<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a typed_sessions::Owner>,
    ) -> Option<Pipelined<'a>> {
        let pipelined = self
            .inner
            .replace_pipelined(id, data, expires_at, expected, owner)?;
        let replace = Box::pin(self.in_flight(async move {
            self.before_save().await?;
            self.interfere(id).await;
            let outcome = pipelined.replace.await?;
            if matches!(outcome, ReplaceOutcome::Lost(_)) {
                self.state.conflicts.fetch_add(1, Ordering::SeqCst);
            }
            Ok(outcome)
        }));
        Some(Pipelined {
            version: pipelined.version,
            replace,
        })
    }

    fn touch<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
        expires_at: SystemTime,
        owner: Option<&'a typed_sessions::Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.touches)?;
            self.inner.touch(id, expires_at, owner).await
        })
    }

    fn delete<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
        owner: Option<&'a typed_sessions::Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.deletes)?;
            let delay = self.state.delete_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            }
            self.inner.delete(id, owner).await
        })
    }

    fn owned<'a>(
        &'a self,
        owner: &'a typed_sessions::Owner,
    ) -> BoxFuture<'a, Result<Vec<typed_sessions::store::OwnedRecord>, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.loads)?;
            let listed = self.inner.owned(owner).await;
            let delay = self.state.listing_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            }
            listed
        })
    }

    fn sweep_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.inner.sweep_expired()
    }

    fn scan<'a>(
        &'a self,
        cursor: Option<&'a typed_sessions::store::ScanCursor>,
        limit: usize,
    ) -> BoxFuture<'a, Result<typed_sessions::store::ScanPage, StoreError>> {
        self.inner.scan(cursor, limit)
    }
}
