//! `re-key`: every record (or a user's) sealed under the primary key of `SESSION_SECRET`'s
//! ring, page by page, with a progress bar on a terminal and the position kept in the
//! `--resume` file after each page; `--dry-run` counts and writes nothing.

use super::chain;
use super::migrate::{bar, keep, kept};
use typed_sessions::admin::{RekeyedPage, rekey_page, rekey_records};
use typed_sessions::encryption::KeyRing;
use typed_sessions::{Owner, Store};

/// What the records would be or were moved to `ring`'s primary key, with every page's
/// counts added up.
pub(super) struct Rekey<'a> {
    pub(super) store: &'a dyn Store,
    pub(super) ring: &'a KeyRing,
    pub(super) dry_run: bool,
    pub(super) progress: bool,
}

impl Rekey<'_> {
    /// Every record of the store, `batch` at a time.
    pub(super) async fn all(
        &self,
        batch: u32,
        resume: Option<&std::path::Path>,
    ) -> Result<RekeyedPage, String> {
        let mut cursor = match resume {
            Some(path) => kept(path)?,
            None => None,
        };
        let bar = bar(self.progress, "records re-keyed");
        let mut total = RekeyedPage::default();
        loop {
            let page = rekey_page(
                self.store,
                self.ring,
                cursor.as_ref(),
                batch as usize,
                self.dry_run,
            )
            .await
            .map_err(chain)?;
            bar.inc(page.rekeyed + page.sealed + page.current + page.unopened + page.raced);
            total.add(&page);
            cursor = page.next;
            if let Some(path) = resume.filter(|_| !self.dry_run) {
                keep(path, cursor.as_ref())?;
            }
            if cursor.is_none() {
                bar.finish_and_clear();
                return Ok(total);
            }
        }
    }

    /// The records of `owner`'s sessions.
    pub(super) async fn owner(&self, owner: &Owner) -> Result<RekeyedPage, String> {
        let records = self.store.owned(owner).await.map_err(chain)?;
        rekey_records(self.store, self.ring, &records, self.dry_run)
            .await
            .map_err(chain)
    }
}
