//! `migrate`: every live record copied to the target, page by page, with a progress bar on
//! a terminal and the position kept in the `--resume` file after each page.

use super::chain;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use typed_sessions::Store;
use typed_sessions::admin::copy_page;
use typed_sessions::store::ScanCursor;

/// Copies `from` to `to`; returns how many sessions were copied.
pub(super) async fn run(
    from: &dyn Store,
    to: &dyn Store,
    batch: u32,
    resume: Option<&Path>,
    progress: bool,
) -> Result<u64, String> {
    let mut cursor = match resume {
        Some(path) => kept(path)?,
        None => None,
    };
    let bar = if progress {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} sessions copied ({per_sec}) {msg}")
                .expect("a valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut migrated = 0;
    loop {
        let page = copy_page(from, to, cursor.as_ref(), batch as usize)
            .await
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

/// The position a `--resume` file holds, if it exists.
fn kept(path: &Path) -> Result<Option<ScanCursor>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => Ok(Some(ScanCursor::new(text.trim()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("--resume {}: {error}", path.display())),
    }
}

/// Keeps `cursor` in the `--resume` file (written whole, then renamed), or removes the file
/// once the copy is done.
fn keep(path: &Path, cursor: Option<&ScanCursor>) -> Result<(), String> {
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
