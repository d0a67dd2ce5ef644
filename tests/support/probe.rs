//! A store wrapper that counts I/O and can be switched off.

use session::store::{BoxFuture, SaveOutcome, StoredRecord, Version};
use session::{SessionId, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::SystemTime;

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
        }
    }

    /// While `down`, every operation fails like an unreachable server.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
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
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.loads)?;
            self.inner.load(id).await
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.saves)?;
            self.inner.save(id, data, expires_at, expected).await
        })
    }

    fn touch<'a>(
        &'a self,
        id: &'a SessionId,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.touches)?;
            self.inner.touch(id, expires_at).await
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.deletes)?;
            self.inner.delete(id).await
        })
    }
}
