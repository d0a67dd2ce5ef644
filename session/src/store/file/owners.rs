//! The file store's index of sessions by owner: a file per session holding the owner, named
//! by its key, in a directory per owner (`owners/<hash of the owner>/`). A marker is written
//! before its session's file and removed after it, under the session's lock, so that every
//! live session with an owner has one; markers whose session is gone (it expired) are
//! removed by the sweep and by listing, and reported for the layer's `Expired` events.

use super::{Inner, private_file};
use crate::id::StorageKey;
use crate::id::index_name;
use crate::time::unix_ms;
use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::SystemTime;

/// The directory of the index, beside the session files (never a session file's name).
pub(super) const OWNERS_DIR: &str = "owners";

impl Inner {
    fn owner_dir(&self, owner: &str) -> PathBuf {
        self.dir.join(OWNERS_DIR).join(index_name(owner))
    }

    /// Creates `id`'s record as `owner`'s session unless `owner` has `max` live sessions
    /// or more (`None`: nothing was written). Under the owner's lock, taken before any
    /// session's: creates of one owner take turns, within this process (the only one a
    /// directory has).
    pub(super) fn create_owned(
        &self,
        owner: &str,
        id: &StorageKey,
        data: &[u8],
        expires_ms: u64,
        max: usize,
    ) -> io::Result<Option<super::SaveOutcome>> {
        let name = index_name(owner);
        let stripe = usize::from(name.as_bytes()[0]) % self.owner_locks.len();
        let _owner = self.owner_locks[stripe]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.owned(owner)?.len() >= max {
            return Ok(None);
        }
        self.save(id, data, expires_ms, None, Some(owner)).map(Some)
    }

    /// Marks `id` as `owner`'s, if it is not yet. Called under `id`'s lock, before its file
    /// is written.
    pub(super) fn mark_owned(&self, owner: &str, id: &StorageKey) -> io::Result<()> {
        let dir = self.owner_dir(owner);
        let marker = dir.join(id.to_base64());
        if marker.exists() {
            return Ok(());
        }
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
        // The owner, so that the sweep can report whose session expired.
        private_file().open(&marker)?.write_all(owner.as_bytes())?;
        if self.fsync {
            fs::File::open(&dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Removes `id`'s marker under `owner`. Called under `id`'s lock, after its file was
    /// removed.
    pub(super) fn unmark_owned(&self, owner: &str, id: &StorageKey) -> io::Result<()> {
        match fs::remove_file(self.owner_dir(owner).join(id.to_base64())) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// The keys marked as `owner`'s whose session is live, with its record; markers of
    /// sessions that are gone are removed.
    pub(super) fn owned(&self, owner: &str) -> io::Result<Vec<(StorageKey, super::Parsed)>> {
        let dir = self.owner_dir(owner);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let now = unix_ms(SystemTime::now());
        let mut live = Vec::new();
        for entry in entries {
            let entry = entry?;
            let Some(id) = entry.file_name().to_str().and_then(StorageKey::from_base64) else {
                continue;
            };
            let _guard = self.lock(&id);
            match self.read_live(&id, now)? {
                Some(parsed) => live.push((id, parsed)),
                None => {
                    self.unmark_owned(owner, &id)?;
                    self.expired.report(id, owner);
                }
            }
        }
        Ok(live)
    }

    /// Removes the markers of sessions that are gone (expired, deleted, or never written
    /// after a crash), and the owner directories left empty; returns how many markers.
    pub(super) fn sweep_owners(&self) -> io::Result<usize> {
        let owners = match fs::read_dir(self.dir.join(OWNERS_DIR)) {
            Ok(owners) => owners,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(error) => return Err(error),
        };
        let now = unix_ms(SystemTime::now());
        let mut removed = 0;
        for owner in owners {
            let dir = owner?.path();
            for entry in fs::read_dir(&dir)? {
                let entry = entry?;
                let Some(id) = entry.file_name().to_str().and_then(StorageKey::from_base64) else {
                    continue;
                };
                let _guard = self.lock(&id);
                if self.read_live(&id, now)?.is_some() {
                    continue;
                }
                // Markers written before they held their owner report nothing.
                let owner = fs::read_to_string(entry.path()).unwrap_or_default();
                if fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                    self.expired.report(id, &owner);
                }
            }
            // Fails, as it should, when a marker is left or was just written.
            let _ = fs::remove_dir(&dir);
        }
        Ok(removed)
    }
}
