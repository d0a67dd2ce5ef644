//! The commit of a session kept in a cookie: sealed (or signed) into the `Set-Cookie` the
//! response will carry, when it changed, must be refreshed, or was made with an old key.

use super::state::{Decision, Kind, State};
use crate::Error;
use crate::config::Config;
use crate::time::unix_ms;
use std::sync::Arc;
use std::time::SystemTime;

impl State {
    /// Seals the session into the cookie to send, as `decision` says. Over the size limit
    /// nothing is sent and the client keeps its earlier cookie.
    pub(super) fn seal(
        &mut self,
        decision: Decision,
        config: &Config,
        now: SystemTime,
    ) -> Result<(), Error> {
        let Kind::Cookie(cookie) = &mut self.kind else {
            return Ok(());
        };
        if decision == Decision::Nothing {
            return Ok(());
        }
        let codec = Arc::clone(&cookie.codec);
        let (changes, dirty) = self.changes(config.save_mode)?;
        let record = self.base.with(changes.iter());
        let created = record.created();
        let expires_at = config.expiry(created, now);
        let absolute = config
            .max_lifetime
            .map(|lifetime| unix_ms(created + lifetime));
        let value = codec.seal(&config.cookie.name, &record, unix_ms(expires_at), absolute);
        let header = config.cookie.set_cookie(Some(&value));
        let size = header.len();
        if size > config.cookie_size_limit {
            return Err(Error::SessionTooLarge {
                size,
                limit: config.cookie_size_limit,
            });
        }
        self.saved(&dirty);
        self.base = record;
        self.expires_at = Some(expires_at);
        self.old_key = false;
        if let Kind::Cookie(cookie) = &mut self.kind {
            cookie.present = true;
            cookie.sealed = Some(header);
        }
        Ok(())
    }
}
