//! `migrate`: every live record copied to the target, page by page, with a progress bar on
//! a terminal and the position kept in the `--resume` file after each page.

use super::chain;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use typed_sessions::Store;
use typed_sessions::admin::{copy_page, copy_sealed_page};
use typed_sessions::encryption::KeyRing;
use typed_sessions::store::ScanCursor;

/// Copies `from` to `to`; returns how many sessions were copied.
pub(super) async fn run(
    from: &dyn Store,
    to: &dyn Store,
    ring: Option<&KeyRing>,
    batch: u32,
    resume: Option<&Path>,
    progress: bool,
) -> Result<u64, String> {
    let mut cursor = match resume {
        Some(path) => kept(path)?,
        None => None,
    };
    let bar = bar(progress, "sessions copied");
    let mut migrated = 0;
    loop {
        let (at, limit) = (cursor.as_ref(), batch as usize);
        let page = match ring {
            Some(ring) => copy_sealed_page(from, to, ring, at, limit).await,
            None => copy_page(from, to, at, limit).await,
        }
        .map_err(chain)?;
        migrated += page.sessions;
        bar.inc(page.sessions);
        if page.present > 0 {
            bar.set_message(format!("({} already there)", page.present));
        }
        cursor = page.next;
        if let Some(path) = resume {
            keep(path, cursor.as_ref())?;
        }
        if cursor.is_none() {
            bar.finish_and_clear();
            return Ok(migrated);
        }
    }
}

/// A spinner counting `what` on a terminal, or nothing.
pub(super) fn bar(progress: bool, what: &str) -> ProgressBar {
    if !progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    let template = format!("{{spinner}} {{pos}} {what} ({{per_sec}}) {{msg}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("a valid template"));
    bar
}

/// The position a `--resume` file holds, if it exists.
pub(super) fn kept(path: &Path) -> Result<Option<ScanCursor>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => Ok(Some(ScanCursor::new(text.trim()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("--resume {}: {error}", path.display())),
    }
}

/// Keeps `cursor` in the `--resume` file (written whole, then renamed), or removes the file
/// once the copy is done.
pub(super) fn keep(path: &Path, cursor: Option<&ScanCursor>) -> Result<(), String> {
    let failed = |error: std::io::Error| format!("--resume {}: {error}", path.display());
    let Some(cursor) = cursor else {
        return match std::fs::remove_file(path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(failed(error)),
            _ => Ok(()),
        };
    };
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, cursor.as_str()).map_err(failed)?;
    std::fs::rename(&temp, path).map_err(failed)
}
