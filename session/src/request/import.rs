//! A request that brings no session of this layer but a tower-sessions cookie: that
//! session is taken out of tower-sessions' store and goes on as a new session of this
//! layer ([`crate::import`]).
//!
//! The import lives where the layering puts each part: `import/` (its settings, tower-sessions'
//! cookie and record, the stores it is taken from), `request/import.rs` (a request taking one
//! over) and `typed/imported.rs` (a struct's fields read from the imported data).

use super::RequestSession;
use crate::cookie::cookie_values;
use crate::error::Error;
use crate::import::TowerSessionsImport;
use crate::transport::Via;
use http::HeaderMap;
use std::time::SystemTime;

impl RequestSession {
    /// Takes over the tower-sessions session the request's cookie names, if the request
    /// came with no live session of this layer. The new session is saved when the request
    /// ends, whatever the handler does: the tower-sessions record is gone.
    pub(super) async fn import_tower(&self, headers: &HeaderMap) -> Result<(), Error> {
        let Some(import) = &self.config.import else {
            return Ok(());
        };
        if self.lock().arrived || self.via() != Via::Cookie {
            return Ok(());
        }
        let Some(id) = tower_id(import, headers) else {
            return Ok(());
        };
        let Some(imported) = import.take(&id).await? else {
            return Ok(());
        };
        let mut state = self.lock();
        state.base = imported.into_record(SystemTime::now());
        state.save_requested = true;
        tracing::debug!("took over a tower-sessions session");
        Ok(())
    }

    /// Whether the request brings a tower-sessions cookie that the import takes: such a
    /// cookie is not counted as a forged token of this layer.
    pub(super) fn brings_tower_cookie(&self, headers: &HeaderMap) -> bool {
        self.config
            .import
            .as_ref()
            .is_some_and(|import| tower_id(import, headers).is_some())
    }
}

/// The tower-sessions id in the request's cookie, if one verifies.
fn tower_id(import: &TowerSessionsImport, headers: &HeaderMap) -> Option<String> {
    cookie_values(import.cookie_name(), headers).find_map(|value| import.id_in(value))
}
