//! A session kept in a cookie: opened from the request's cookie, and committed by sealing
//! (or signing) it into the `Set-Cookie` the response will carry, when it changed, must be
//! refreshed, or was made with an old key.

use super::RequestSession;
use super::arrival::{Arrival, Live, Token};
use super::state::{Decision, Kind, State, Stored};
use crate::config::Config;
use crate::cookie::codec::CookieCodec;
use crate::error::Error;
use crate::id::SessionId;
use crate::observe::{self, Loaded};
use crate::time::{from_unix_ms, unix_ms};
use crate::transport::{Found, Via};
use http::{HeaderMap, HeaderValue};
use std::time::SystemTime;

impl RequestSession {
    /// Opens the request's session cookie, if one is authentic and live (and, bound to its
    /// device, proven: else refused, [`Error::DeviceNotProven`]).
    pub(super) fn open_cookie(
        &self,
        codec: &CookieCodec,
        headers: &HeaderMap,
    ) -> Result<(), Error> {
        let name = &self.config.cookie.name;
        let now = SystemTime::now();
        let now_ms = unix_ms(now);
        let found = self.config.transport.find(headers);
        let (via, opened) = match found {
            Found::Header(token) => (
                Via::Header,
                token.and_then(|token| {
                    codec.open(self.config.token_name(Via::Header), token, now_ms)
                }),
            ),
            Found::Cookie => (
                Via::Cookie,
                crate::cookie::cookie_values(name, headers)
                    .find_map(|value| codec.open(name, value, now_ms)),
            ),
        };
        let Some(opened) = opened else {
            // As for a store: a lookup, and a miss, only when a cookie or token was sent.
            if observe::ENABLED && super::presented(self, found, name, headers) {
                observe::rejected(codec.name(), "unopenable");
                observe::loaded(codec.name(), Loaded::Miss);
            }
            self.note_insecure_host(headers);
            self.arrive(Arrival::none(via), now);
            return Ok(());
        };
        let live = !self.config.past_lifetime(&opened.record, now);
        let outcome = if live { Loaded::Hit } else { Loaded::Expired };
        observe::loaded(codec.name(), outcome);
        let live = live.then(|| Live {
            record: opened.record,
            expires_at: from_unix_ms(opened.idle_deadline_ms),
            version: None,
        });
        let live = self.admit_device(headers, live, now)?;
        let token = Token::Cookie { id: opened.id };
        let old_key = opened.old_key && live.is_some();
        self.arrive(
            Arrival {
                via,
                token,
                old_key,
                live,
            },
            now,
        );
        Ok(())
    }
}

impl State {
    /// Seals the session into the cookie to send, as `decision` says. Over the size limit
    /// nothing is sent and the client keeps its earlier cookie.
    pub(super) fn seal(
        &mut self,
        decision: Decision,
        config: &Config,
        now: SystemTime,
    ) -> Result<(), Error> {
        let Kind::Cookie(cookie) = &self.kind else {
            return Ok(());
        };
        if decision == Decision::Nothing {
            return Ok(());
        }
        let (changes, dirty) = self.changes(config.save_mode)?;
        let record = self.base.with(changes.iter());
        let expires_at = config.expiry(&record, now);
        let absolute = config.lifetime_end(&record).map(unix_ms);
        // A new session, a cookie sealed before sessions had ids, or `cycle_id()`: a new id.
        let id = cookie
            .id
            .filter(|_| !self.rotate)
            .unwrap_or_else(SessionId::random);
        let value = cookie.codec.seal(
            config.token_name(self.via),
            &id,
            &record,
            unix_ms(expires_at),
            absolute,
        );
        let header = match self.via {
            Via::Cookie => config
                .cookie
                .set_cookie_lasting(Some(&value), config.cookie_max_age(&record)),
            Via::Header => HeaderValue::try_from(value).expect("a sealed cookie is base64url"),
        };
        let size = header.len();
        if size > config.cookie_size_limit {
            observe::count(observe::names::TOO_LARGE, cookie.codec.name());
            return Err(Error::SessionTooLarge {
                size,
                limit: config.cookie_size_limit,
            });
        }
        let store = cookie.codec.name();
        observe::size(observe::names::COOKIE_BYTES, store, size);
        if self.rotate && cookie.id.is_some() {
            observe::count(observe::names::ROTATIONS, store);
        }
        self.saved(&dirty, None);
        self.base = record;
        self.expires_at = Some(expires_at);
        self.old_key = false;
        if let Kind::Cookie(cookie) = &mut self.kind {
            cookie.stored = Stored::Live(());
            cookie.sealed = Some(header);
            cookie.id = Some(id);
        }
        Ok(())
    }
}
