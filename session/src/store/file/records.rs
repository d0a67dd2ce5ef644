//! One session's file: its path and lock, read, written (two checksummed slots, or a temp
//! file renamed into place), touched and removed, each under the session's lock.

use super::format::{self, Parsed, Slots};
use super::{Inner, LOCK_STRIPES, TEMP_PREFIX, private_file};
use crate::id::StorageKey;
use crate::store::{SaveOutcome, Version};
use crate::time::unix_ms;
use std::fs;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{MutexGuard, PoisonError};
use std::time::SystemTime;

impl Inner {
    pub(super) fn path(&self, id: &StorageKey) -> PathBuf {
        self.dir.join(id.to_base64())
    }

    pub(super) fn lock(&self, id: &StorageKey) -> MutexGuard<'_, ()> {
        self.locks[usize::from(id.as_bytes()[3]) % LOCK_STRIPES]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The live record under `id`; corrupt files count as absent.
    pub(super) fn read_live(&self, id: &StorageKey, now: u64) -> io::Result<Option<Parsed>> {
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
    pub(super) fn write(
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

    pub(super) fn save(
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

    pub(super) fn touch(&self, id: &StorageKey, expires_ms: u64) -> io::Result<bool> {
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
    pub(super) fn sync_dir(&self) -> io::Result<()> {
        if self.fsync {
            fs::File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }

    pub(super) fn delete(&self, id: &StorageKey, owner: Option<&str>) -> io::Result<bool> {
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
