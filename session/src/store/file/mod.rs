//! One file per session under a directory (Beaker's `file` type): survives restarts, needs no
//! server.

mod format;
mod owners;
mod records;
mod scan;
mod sweep;

use super::{
    BoxFuture, CreateOutcome, OwnedRecord, ReplaceOutcome, SaveOutcome, ScanCursor, ScanPage,
    Store, StoreError, StoredRecord, Version,
};
use crate::id::Owner;
use crate::id::StorageKey;
use crate::time::{from_unix_ms, unix_ms};
use format::Parsed;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

const LOCK_STRIPES: usize = 64;
const OWNER_LOCK_STRIPES: usize = 16;
const TEMP_PREFIX: &str = ".tmp-";
/// A temp file this old belongs to a write that died; the sweep removes it.
const STALE_TEMP: Duration = Duration::from_secs(600);

/// Sessions as files in one directory, one file per session.
///
/// - Writes are atomic: each file has two checksummed slots, and a save overwrites the one
///   not in use, so a crash leaves the old version or the new one, never a torn record. A
///   new session, or one that outgrew its file, is written to a temp file renamed into
///   place. A crash of the process loses nothing acknowledged (the kernel holds the
///   writes); [`FileStore::with_fsync`] adds an fsync to each write, and of the directory
///   after each rename and removal (a logout), for power-loss durability.
/// - File names are the base64url form of the id the store is given (a session id's
///   [storage key](StorageKey), never the id its cookie holds); no path is
///   ever built from request input.
/// - Expired files are removed by a sweep that runs in the background after a write, at most
///   once per sweep interval (five minutes by default), or by [`FileStore::sweep_expired`].
/// - Sessions with an owner are indexed by empty marker files under `owners/` (one
///   directory per owner), written before the session file and removed after it; the
///   sweep removes those of expired sessions. The index survives restarts with the files.
/// - A corrupt or truncated file is treated as no session (with a warning), never a panic.
/// - Compare-and-swap is enforced by locks inside the process: give each directory to one
///   process. Several instances need a shared store (Redis, PostgreSQL) instead.
///
/// # Example
/// ```no_run
/// use typed_sessions::{FileStore, Key, SessionLayer};
/// let store = FileStore::open("/var/lib/myapp/sessions")?;
/// let layer = SessionLayer::new(store, &Key::generate());
/// # let _ = layer;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct FileStore {
    inner: Arc<Inner>,
}

/// Cloned by the builders; the locks and the sweep schedule stay shared between clones.
#[derive(Clone, Debug)]
struct Inner {
    dir: PathBuf,
    locks: Arc<[Mutex<()>]>,
    /// Taken by a create within an owner's session limit, before any session's lock.
    owner_locks: Arc<[Mutex<()>]>,
    fsync: bool,
    sweep_interval_ms: u64,
    next_sweep_ms: Arc<AtomicU64>,
    /// The owners' sessions the index dropped as expired, for the layer's events.
    expired: Arc<super::ExpiredOwned>,
}

/// Options that create a file only its owner can read (on Unix).
fn private_file() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

impl FileStore {
    /// A store in `dir`, created if missing. On Unix, directories it creates are private
    /// to the user (0700), and so is every session file (0600), whatever the umask: a
    /// session file holds a live session.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
        Ok(Self {
            inner: Arc::new(Inner {
                dir,
                locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
                owner_locks: (0..OWNER_LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
                fsync: false,
                sweep_interval_ms: 300_000,
                next_sweep_ms: Arc::new(AtomicU64::new(0)),
                expired: Arc::default(),
            }),
        })
    }

    /// Flushes each write to disk before the save returns (slower; survives power loss, not
    /// just a crash of the process).
    #[must_use = "the builder returns a new store"]
    pub fn with_fsync(self, fsync: bool) -> Self {
        self.map_inner(|inner| inner.fsync = fsync)
    }

    /// Sweeps expired files (and temp files left by dead writes) at most once per
    /// `interval` (default 5 minutes), after a write;
    /// [`sweep_expired`](crate::Store::sweep_expired) removes them now.
    #[must_use = "the builder returns a new store"]
    pub fn with_sweep_interval(self, interval: Duration) -> Self {
        let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self.map_inner(|inner| inner.sweep_interval_ms = ms)
    }

    fn map_inner(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The directory holding the session files.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    async fn blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Inner) -> io::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        // Logs from the blocking thread (a corrupt file) go where the request's go.
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let span = tracing::Span::current();
        let run =
            move || tracing::dispatcher::with_default(&dispatch, || span.in_scope(|| op(&inner)));
        match tokio::task::spawn_blocking(run).await {
            Ok(result) => result.map_err(StoreError::Io),
            Err(join) => Err(StoreError::backend(join)),
        }
    }

    fn maybe_sweep(&self) {
        let now = unix_ms(SystemTime::now());
        let due = self.inner.next_sweep_ms.load(Ordering::Relaxed);
        let next = now.saturating_add(self.inner.sweep_interval_ms);
        if now < due
            || self
                .inner
                .next_sweep_ms
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            if let Err(error) = inner.sweep() {
                tracing::warn!(%error, dir = %inner.dir.display(), "sweeping expired session files failed");
            }
        });
    }
}

impl FileStore {
    /// A save, as [`Store::save`] and [`Store::replace`] run it.
    async fn save_now(
        &self,
        id: &StorageKey,
        data: &[u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&Owner>,
    ) -> Result<SaveOutcome, StoreError> {
        let (id, data, expires_ms) = (*id, data.to_vec(), unix_ms(expires_at));
        let owner = owner.map(|owner| owner.as_str().to_owned());
        let outcome = self
            .blocking(move |inner| inner.save(&id, &data, expires_ms, expected, owner.as_deref()))
            .await?;
        self.maybe_sweep();
        Ok(outcome)
    }
}

impl Store for FileStore {
    fn name(&self) -> &'static str {
        "file"
    }

    fn load<'a>(
        &'a self,
        id: &'a StorageKey,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        let id = *id;
        Box::pin(async move {
            let now = unix_ms(SystemTime::now());
            let live = self
                .blocking(move |inner| inner.read_live(&id, now))
                .await?;
            Ok(live.map(stored))
        })
    }

    fn scan<'a>(
        &'a self,
        cursor: Option<&'a ScanCursor>,
        limit: usize,
    ) -> BoxFuture<'a, Result<ScanPage, StoreError>> {
        Box::pin(async move {
            let after = scan::after(cursor)?;
            self.blocking(move |inner| inner.scan(after, limit)).await
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        Box::pin(self.save_now(id, data, expires_at, expected, owner))
    }

    fn replace<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<ReplaceOutcome, StoreError>> {
        // One box for the save, as `save`'s; a lost race's read boxes its own, rarely.
        Box::pin(async move {
            let saved = self
                .save_now(key, data, expires_at, Some(expected), owner)
                .await?;
            super::replace::lost_to(saved, || self.load(key)).await
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
        let (id, data, expires_ms) = (*id, data.to_vec(), unix_ms(expires_at));
        let owner = owner.as_str().to_owned();
        Box::pin(async move {
            let outcome = self
                .blocking(move |inner| inner.create_owned(&owner, &id, &data, expires_ms, max))
                .await?;
            self.maybe_sweep();
            Ok(CreateOutcome::of_create(outcome))
        })
    }

    fn touch<'a>(
        &'a self,
        id: &'a StorageKey,
        expires_at: SystemTime,
        _owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let (id, expires_ms) = (*id, unix_ms(expires_at));
        Box::pin(self.blocking(move |inner| inner.touch(&id, expires_ms)))
    }

    fn delete<'a>(
        &'a self,
        id: &'a StorageKey,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let (id, owner) = (*id, owner.map(|owner| owner.as_str().to_owned()));
        Box::pin(self.blocking(move |inner| inner.delete(&id, owner.as_deref())))
    }

    fn expired_owned(&self) -> Option<&super::ExpiredOwned> {
        Some(&self.inner.expired)
    }

    fn sweep_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let swept = self.blocking(|inner| inner.sweep()).await?;
            Ok(u64::try_from(swept).unwrap_or(u64::MAX))
        })
    }

    fn owned<'a>(
        &'a self,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Vec<OwnedRecord>, StoreError>> {
        let owner = owner.as_str().to_owned();
        Box::pin(async move {
            let owned = self.blocking(move |inner| inner.owned(&owner)).await?;
            Ok(owned
                .into_iter()
                .map(|(key, parsed)| OwnedRecord {
                    key,
                    record: stored(parsed),
                })
                .collect())
        })
    }
}

/// A parsed session file as the store hands it out.
fn stored(parsed: Parsed) -> StoredRecord {
    StoredRecord {
        data: parsed.data,
        version: Version::new(parsed.version),
        expires_at: from_unix_ms(parsed.expires_ms),
    }
}
