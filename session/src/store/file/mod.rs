//! One file per session under a directory (Beaker's `file` type): survives restarts, needs no
//! server.

mod format;
mod owners;
mod sweep;

use super::{BoxFuture, OwnedRecord, SaveOutcome, Store, StoreError, StoredRecord, Version};
use crate::id::Owner;
use crate::id::StorageKey;
use crate::time::{from_unix_ms, unix_ms};
use format::{Parsed, Slots};
use std::fs;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

const LOCK_STRIPES: usize = 64;
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
/// use session::{FileStore, Key, SessionLayer};
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
    fsync: bool,
    sweep_interval_ms: u64,
    next_sweep_ms: Arc<AtomicU64>,
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
                fsync: false,
                sweep_interval_ms: 300_000,
                next_sweep_ms: Arc::new(AtomicU64::new(0)),
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

impl Inner {
    fn path(&self, id: &StorageKey) -> PathBuf {
        self.dir.join(id.to_base64())
    }

    fn lock(&self, id: &StorageKey) -> MutexGuard<'_, ()> {
        self.locks[usize::from(id.as_bytes()[3]) % LOCK_STRIPES]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The live record under `id`; corrupt files count as absent.
    fn read_live(&self, id: &StorageKey, now: u64) -> io::Result<Option<Parsed>> {
        let path = self.path(id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let Some(parsed) = format::parse(bytes) else {
            tracing::warn!(path = %path.display(), "corrupt session file; treating it as no session");
            return Ok(None);
        };
        Ok((parsed.expires_ms > now).then_some(parsed))
    }

    /// Writes the record in place when the file's free slot holds it, or else as a new file.
    fn write(
        &self,
        id: &StorageKey,
        slots: Option<Slots>,
        version: u64,
        expires_ms: u64,
        data: &[u8],
    ) -> io::Result<()> {
        if data.len() > format::MAX_RECORD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a session record over 1 GiB does not fit a session file",
            ));
        }
        if let Some((at, sequence)) = slots.and_then(|slots| slots.next(data.len())) {
            let mut file = fs::OpenOptions::new().write(true).open(self.path(id))?;
            file.seek(SeekFrom::Start(at))?;
            file.write_all(&format::slot(sequence, version, expires_ms, data))?;
            if self.fsync {
                file.sync_data()?;
            }
            return Ok(());
        }
        let temp = self.dir.join(format!(
            "{TEMP_PREFIX}{}-{:016x}",
            id.to_base64(),
            crate::crypto::random::u64()
        ));
        let result = (|| {
            let mut file = private_file().open(&temp)?;
            file.write_all(&format::new_file(version, expires_ms, data))?;
            if self.fsync {
                file.sync_all()?;
            }
            fs::rename(&temp, self.path(id))?;
            self.sync_dir()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }

    fn save(
        &self,
        id: &StorageKey,
        data: &[u8],
        expires_ms: u64,
        expected: Option<Version>,
        owner: Option<&str>,
    ) -> io::Result<SaveOutcome> {
        let _guard = self.lock(id);
        let live = self.read_live(id, unix_ms(SystemTime::now()))?;
        let slots = live.as_ref().and_then(|live| live.slots);
        let version = match (expected, live) {
            (None, Some(_)) => return Ok(SaveOutcome::Conflict),
            (Some(_), None) => return Ok(SaveOutcome::Missing),
            (Some(expected), Some(live)) if expected.get() != live.version => {
                return Ok(SaveOutcome::Conflict);
            }
            (Some(_), Some(live)) => live.version.wrapping_add(1),
            // A random start keeps a recreated id from reusing an old version number.
            (None, None) => crate::crypto::random::u64(),
        };
        if let Some(owner) = owner {
            self.mark_owned(owner, id)?;
        }
        self.write(id, slots, version, expires_ms, data)?;
        Ok(SaveOutcome::Saved(Version::new(version)))
    }

    fn touch(&self, id: &StorageKey, expires_ms: u64) -> io::Result<bool> {
        let _guard = self.lock(id);
        match self.read_live(id, unix_ms(SystemTime::now()))? {
            Some(live) => self
                .write(id, live.slots, live.version, expires_ms, &live.data)
                .map(|()| true),
            None => Ok(false),
        }
    }

    /// With fsync on, flushes the directory: a rename or removal is on disk only once its
    /// directory is.
    fn sync_dir(&self) -> io::Result<()> {
        if self.fsync {
            fs::File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }

    fn delete(&self, id: &StorageKey, owner: Option<&str>) -> io::Result<bool> {
        let _guard = self.lock(id);
        let live = self.read_live(id, unix_ms(SystemTime::now()))?.is_some();
        let removed = match fs::remove_file(self.path(id)) {
            Ok(()) => {
                // A logout: with fsync on, the removal is on disk before it is acknowledged.
                self.sync_dir()?;
                live
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => false,
            Err(error) => return Err(error),
        };
        if let Some(owner) = owner {
            self.unmark_owned(owner, id)?;
        }
        Ok(removed)
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
            Ok(live.map(|parsed| StoredRecord {
                data: parsed.data,
                version: Version::new(parsed.version),
                expires_at: from_unix_ms(parsed.expires_ms),
            }))
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
        let (id, data, expires_ms) = (*id, data.to_vec(), unix_ms(expires_at));
        let owner = owner.map(|owner| owner.as_str().to_owned());
        Box::pin(async move {
            let outcome = self
                .blocking(move |inner| {
                    inner.save(&id, &data, expires_ms, expected, owner.as_deref())
                })
                .await?;
            self.maybe_sweep();
            Ok(outcome)
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
                    record: StoredRecord {
                        data: parsed.data,
                        version: Version::new(parsed.version),
                        expires_at: from_unix_ms(parsed.expires_ms),
                    },
                })
                .collect())
        })
    }
}
