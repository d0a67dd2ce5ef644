//! Removing the files of expired sessions, and temp files left by writes that died.

use super::{Inner, STALE_TEMP, TEMP_PREFIX, format};
use crate::id::StorageKey;
use crate::time::unix_ms;
use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

impl Inner {
    pub(super) fn sweep(&self) -> io::Result<usize> {
        let now = SystemTime::now();
        let now_ms = unix_ms(now);
        let mut removed = 0;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(id) = StorageKey::from_base64(name) {
                if expired_or_corrupt(&entry.path(), now_ms) {
                    let _guard = self.lock(&id);
                    // Re-check under the lock: a save may have just renewed it.
                    if expired_or_corrupt(&entry.path(), now_ms)
                        && fs::remove_file(entry.path()).is_ok()
                    {
                        removed += 1;
                    }
                }
            } else if name.starts_with(TEMP_PREFIX) {
                let age = entry
                    .metadata()?
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok());
                if age.is_some_and(|age| age > STALE_TEMP) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        self.sweep_owners()?;
        Ok(removed)
    }
}

/// Whether the file at `path` holds an expired (or corrupt) record.
fn expired_or_corrupt(path: &Path, now_ms: u64) -> bool {
    match fs::read(path) {
        Ok(bytes) => format::parse(bytes).is_none_or(|parsed| parsed.expires_ms <= now_ms),
        Err(error) => error.kind() != io::ErrorKind::NotFound,
    }
}
