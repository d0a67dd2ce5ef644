//! An in-process store: fast, and gone when the process ends.

mod owners;
mod records;
mod scan;

use super::{
    BoxFuture, CreateOutcome, ExpiredOwned, OwnedRecord, ReplaceOutcome, SaveOutcome, ScanCursor,
    ScanPage, Store, StoreError, StoredRecord, Version,
};
use crate::id::Owner;
use crate::id::StorageKey;
use crate::time::{from_unix_ms, unix_ms};
use owners::Owners;
use records::Records;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

const SHARDS: usize = 32;

/// Sessions in this process's memory, in sharded hash maps.
///
/// Expired records are never returned, and each shard drops them on its first write after
/// every sweep interval (one minute by default), so memory is bounded by the sessions alive
/// within an interval; the index of sessions by owner is swept on the same schedule.
/// Records are packed into one arena per shard: an idle session costs
/// about twice its encoded bytes (`cargo bench -p typed-sessions --bench scale`). Sessions do not
/// survive a restart and are not shared between processes: use
/// [`FileStore`](crate::FileStore) or a shared store for that.
///
/// # Example
/// ```
/// use typed_sessions::{Key, MemoryStore, SessionLayer};
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
    /// Taken after a shard's lock, never before.
    owners: Mutex<Owners>,
    next_owner_sweep_ms: AtomicU64,
    /// The owners' sessions the index dropped as expired, for the layer's events.
    expired: ExpiredOwned,
}

#[derive(Debug, Default)]
struct Shard {
    records: RwLock<Records>,
    next_sweep_ms: AtomicU64,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            sweep_interval_ms: AtomicU64::new(60_000),
            versions: AtomicU64::new(1),
            owners: Mutex::default(),
            next_owner_sweep_ms: AtomicU64::new(0),
            expired: ExpiredOwned::new(),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sweeps each shard of expired records at most once per `interval` (default a minute),
    /// on a write; [`sweep_expired`](crate::Store::sweep_expired) sweeps them all now.
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

    /// Drops every expired record (and owner index entry) now; returns how many records.
    fn sweep_now(&self) -> usize {
        let now = unix_ms(SystemTime::now());
        self.sweep_owners(now);
        self.inner
            .shards
            .iter()
            .map(|shard| write(shard).remove_expired(now))
            .sum()
    }

    /// Entries in the index of sessions by owner, including expired ones not yet swept.
    #[must_use]
    pub fn owner_index_len(&self) -> usize {
        self.owners().len()
    }

    /// Drops the owner index's entries expired by `now`, and reports them.
    fn sweep_owners(&self, now: u64) {
        let dropped = self.owners().sweep(now);
        for (owner, key) in dropped {
            self.inner.expired.report(key, &owner);
        }
    }

    fn owners(&self) -> MutexGuard<'_, Owners> {
        self.inner
            .owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a sweep scheduled by `next` is due `now`; if it is, the next one is
    /// scheduled a sweep interval later.
    fn sweep_due(&self, next: &AtomicU64, now: u64) -> bool {
        if now < next.load(Ordering::Relaxed) {
            return false;
        }
        let interval = self.inner.sweep_interval_ms.load(Ordering::Relaxed);
        next.store(now.saturating_add(interval), Ordering::Relaxed);
        true
    }

    fn shard(&self, id: &StorageKey) -> &Shard {
        // Byte 2: the first two are an owner's shard, the same for all their sessions.
        &self.inner.shards[usize::from(id.as_bytes()[2]) % SHARDS]
    }

    fn load_now(&self, id: &StorageKey) -> Option<StoredRecord> {
        let now = unix_ms(SystemTime::now());
        let records = read(self.shard(id));
        let record = records.get(id).filter(|record| record.expires_ms > now)?;
        Some(stored(&record))
    }

    /// Saves as [`Store::save`]; with `max`, a create of a session of `owner` only while
    /// the owner has fewer live sessions (`None`: it had as many, nothing was written).
    fn save_now(
        &self,
        id: &StorageKey,
        data: &[u8],
        expires: SystemTime,
        expected: Option<Version>,
        owner: Option<&str>,
        max: Option<usize>,
    ) -> Result<Option<SaveOutcome>, StoreError> {
        let now = unix_ms(SystemTime::now());
        if self.sweep_due(&self.inner.next_owner_sweep_ms, now) {
            self.sweep_owners(now);
        }
        let shard = self.shard(id);
        let mut records = write(shard);
        if self.sweep_due(&shard.next_sweep_ms, now) {
            records.remove_expired(now);
        }
        let live = records
            .get(id)
            .filter(|record| record.expires_ms > now)
            .map(|record| record.version);
        match (expected, live) {
            (None, Some(_)) => return Ok(Some(SaveOutcome::Conflict)),
            (Some(_), None) => return Ok(Some(SaveOutcome::Missing)),
            (Some(expected), Some(live)) if expected.get() != live => {
                return Ok(Some(SaveOutcome::Conflict));
            }
            _ => {}
        }
        // Held from the count to the index entry: creates within a limit take turns.
        let mut owners = owner.map(|_| self.owners());
        if let (Some(owners), Some(owner), Some(max)) = (&owners, owner, max)
            && owners.live(owner, now) >= max
        {
            return Ok(None);
        }
        let version = self.inner.versions.fetch_add(1, Ordering::Relaxed);
        records
            .put(id, version, unix_ms(expires), data)
            .map_err(StoreError::backend)?;
        // Under the shard's lock: no reader sees the record without its index entry.
        if let (Some(owners), Some(owner)) = (&mut owners, owner) {
            owners.put(owner, *id, unix_ms(expires));
            // Writing the owner's index drops (and reports) their expired sessions.
            for key in owners.take_expired(owner, now) {
                self.inner.expired.report(key, owner);
            }
        }
        Ok(Some(SaveOutcome::Saved(Version::new(version))))
    }

    fn touch_now(&self, id: &StorageKey, expires: SystemTime, owner: Option<&str>) -> bool {
        let now = unix_ms(SystemTime::now());
        let mut records = write(self.shard(id));
        let live = records
            .get(id)
            .is_some_and(|record| record.expires_ms > now);
        let touched = live && records.set_expires(id, unix_ms(expires));
        if let (true, Some(owner)) = (touched, owner) {
            self.owners().put(owner, *id, unix_ms(expires));
        }
        touched
    }

    fn delete_now(&self, id: &StorageKey, owner: Option<&str>) -> bool {
        let now = unix_ms(SystemTime::now());
        let mut records = write(self.shard(id));
        let removed = records.remove(id);
        if let Some(owner) = owner {
            self.owners().remove(owner, id);
        }
        removed.is_some_and(|expires_ms| expires_ms > now)
    }

    fn owned_now(&self, owner: &str) -> Vec<OwnedRecord> {
        let now = unix_ms(SystemTime::now());
        let (keys, expired) = {
            let mut owners = self.owners();
            (owners.keys(owner, now), owners.take_expired(owner, now))
        };
        for key in expired {
            self.inner.expired.report(key, owner);
        }
        keys.into_iter()
            .filter_map(|key| {
                Some(OwnedRecord {
                    key,
                    record: self.load_now(&key)?,
                })
            })
            .collect()
    }
}

// No method of `Records` can panic between two writes that must go together (bounds were
// checked before the first), so a poisoned lock is safe to keep using.
/// A record of the arena as the store hands it out.
fn stored(record: &records::Record<'_>) -> StoredRecord {
    StoredRecord {
        data: record.data.to_vec(),
        version: Version::new(record.version),
        expires_at: from_unix_ms(record.expires_ms),
    }
}

fn read(shard: &Shard) -> std::sync::RwLockReadGuard<'_, Records> {
    shard.records.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(shard: &Shard) -> std::sync::RwLockWriteGuard<'_, Records> {
    shard
        .records
        .write()
        .unwrap_or_else(PoisonError::into_inner)
}

impl Store for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn load<'a>(
        &'a self,
        id: &'a StorageKey,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        Box::pin(std::future::ready(Ok(self.load_now(id))))
    }

    fn scan<'a>(
        &'a self,
        cursor: Option<&'a ScanCursor>,
        limit: usize,
    ) -> BoxFuture<'a, Result<ScanPage, StoreError>> {
        Box::pin(std::future::ready(self.scan_now(cursor, limit)))
    }

    fn save<'a>(
        &'a self,
        id: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        let saved = self.save_now(
            id,
            data,
            expires_at,
            expected,
            owner.map(Owner::as_str),
            None,
        );
        // Never full: there is no limit.
        Box::pin(std::future::ready(
            saved.map(|saved| saved.unwrap_or(SaveOutcome::Conflict)),
        ))
    }

    fn replace<'a>(
        &'a self,
        id: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<ReplaceOutcome, StoreError>> {
        let owner = owner.map(Owner::as_str);
        let saved = self.save_now(id, data, expires_at, Some(expected), owner, None);
        let saved = saved.map(|saved| saved.unwrap_or(SaveOutcome::Conflict));
        Box::pin(async move {
            let loaded = || std::future::ready(Ok(self.load_now(id)));
            super::replace::lost_to(saved?, loaded).await
        })
    }

    fn create_owned<'a>(
        &'a self,
        id: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        owner: &'a Owner,
        max: usize,
    ) -> BoxFuture<'a, Result<CreateOutcome, StoreError>> {
        let saved = self.save_now(id, data, expires_at, None, Some(owner.as_str()), Some(max));
        Box::pin(std::future::ready(saved.map(CreateOutcome::of_create)))
    }

    fn touch<'a>(
        &'a self,
        id: &'a StorageKey,
        expires_at: SystemTime,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Ok(self.touch_now(
            id,
            expires_at,
            owner.map(Owner::as_str),
        ))))
    }

    fn delete<'a>(
        &'a self,
        id: &'a StorageKey,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Ok(
            self.delete_now(id, owner.map(Owner::as_str))
        )))
    }

    fn sweep_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        let swept = self.sweep_now();
        Box::pin(std::future::ready(Ok(
            u64::try_from(swept).unwrap_or(u64::MAX)
        )))
    }

    fn owned<'a>(
        &'a self,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Vec<OwnedRecord>, StoreError>> {
        Box::pin(std::future::ready(Ok(self.owned_now(owner.as_str()))))
    }

    fn expired_owned(&self) -> Option<&ExpiredOwned> {
        Some(&self.inner.expired)
    }
}
