//! An in-process store: fast, and gone when the process ends.

use super::{BoxFuture, SaveOutcome, Store, StoreError, StoredRecord, Version};
use crate::SessionId;
use crate::record::{from_unix_ms, unix_ms};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

const SHARDS: usize = 32;

/// Sessions in this process's memory, in sharded hash maps.
///
/// Expired records are never returned, and each shard drops them on its first write after
/// every sweep interval (one minute by default), so memory is bounded by the sessions alive
/// within an interval; reads never allocate. Sessions do not survive a restart and are not
/// shared between processes: use [`FileStore`](crate::FileStore) or a shared store for that.
///
/// # Example
/// ```
/// use session::{Key, MemoryStore, SessionLayer};
/// let layer = SessionLayer::new(MemoryStore::new(), &Key::generate());
/// # let _ = layer;
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shards: Box<[Shard]>,
    sweep_interval_ms: AtomicU64,
    versions: AtomicU64,
}

#[derive(Debug, Default)]
struct Shard {
    map: RwLock<HashMap<SessionId, Entry>>,
    next_sweep_ms: AtomicU64,
}

#[derive(Debug)]
struct Entry {
    data: Box<[u8]>,
    version: u64,
    expires_ms: u64,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            sweep_interval_ms: AtomicU64::new(60_000),
            versions: AtomicU64::new(1),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sweeps each shard of expired records at most once per `interval` (on a write).
    #[must_use = "the builder returns a new store"]
    pub fn with_sweep_interval(self, interval: Duration) -> Self {
        let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self.inner.sweep_interval_ms.store(ms, Ordering::Relaxed);
        self
    }

    /// Records held, including expired ones not yet swept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| read(shard).len())
            .sum()
    }

    /// Whether no record is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired record now; returns how many.
    pub fn sweep_expired(&self) -> usize {
        let now = unix_ms(SystemTime::now());
        self.inner
            .shards
            .iter()
            .map(|shard| sweep(&mut write(shard), now))
            .sum()
    }

    fn shard(&self, id: &SessionId) -> &Shard {
        &self.inner.shards[usize::from(id.as_bytes()[0]) % SHARDS]
    }

    fn load_now(&self, id: &SessionId) -> Option<StoredRecord> {
        let now = unix_ms(SystemTime::now());
        let map = read(self.shard(id));
        let entry = map.get(id).filter(|entry| entry.expires_ms > now)?;
        Some(StoredRecord {
            data: entry.data.to_vec(),
            version: Version::new(entry.version),
            expires_at: from_unix_ms(entry.expires_ms),
        })
    }

    fn save_now(
        &self,
        id: &SessionId,
        data: &[u8],
        expires: SystemTime,
        expected: Option<Version>,
    ) -> SaveOutcome {
        let now = unix_ms(SystemTime::now());
        let shard = self.shard(id);
        let mut map = write(shard);
        if now >= shard.next_sweep_ms.load(Ordering::Relaxed) {
            sweep(&mut map, now);
            shard.next_sweep_ms.store(
                now.saturating_add(self.inner.sweep_interval_ms.load(Ordering::Relaxed)),
                Ordering::Relaxed,
            );
        }
        let live = map
            .get(id)
            .filter(|entry| entry.expires_ms > now)
            .map(|entry| entry.version);
        match (expected, live) {
            (None, Some(_)) => return SaveOutcome::Conflict,
            (Some(_), None) => return SaveOutcome::Missing,
            (Some(expected), Some(live)) if expected.get() != live => return SaveOutcome::Conflict,
            _ => {}
        }
        let version = self.inner.versions.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            data: data.into(),
            version,
            expires_ms: unix_ms(expires),
        };
        map.insert(*id, entry);
        SaveOutcome::Saved(Version::new(version))
    }

    fn touch_now(&self, id: &SessionId, expires: SystemTime) -> bool {
        let now = unix_ms(SystemTime::now());
        let mut map = write(self.shard(id));
        match map.get_mut(id).filter(|entry| entry.expires_ms > now) {
            Some(entry) => {
                entry.expires_ms = unix_ms(expires);
                true
            }
            None => false,
        }
    }

    fn delete_now(&self, id: &SessionId) -> bool {
        let now = unix_ms(SystemTime::now());
        let removed = write(self.shard(id)).remove(id);
        removed.is_some_and(|entry| entry.expires_ms > now)
    }
}

fn sweep(map: &mut HashMap<SessionId, Entry>, now: u64) -> usize {
    let before = map.len();
    map.retain(|_, entry| entry.expires_ms > now);
    if map.capacity() > 4 * map.len().max(16) {
        map.shrink_to_fit();
    }
    before - map.len()
}

// A panic while a shard is locked leaves the map consistent (every change is one insert or
// remove), so a poisoned lock is safe to keep using.
fn read(shard: &Shard) -> std::sync::RwLockReadGuard<'_, HashMap<SessionId, Entry>> {
    shard.map.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(shard: &Shard) -> std::sync::RwLockWriteGuard<'_, HashMap<SessionId, Entry>> {
    shard.map.write().unwrap_or_else(PoisonError::into_inner)
}

impl Store for MemoryStore {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        Box::pin(std::future::ready(Ok(self.load_now(id))))
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        Box::pin(std::future::ready(Ok(
            self.save_now(id, data, expires_at, expected)
        )))
    }

    fn touch<'a>(
        &'a self,
        id: &'a SessionId,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Ok(self.touch_now(id, expires_at))))
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Ok(self.delete_now(id))))
    }
}
