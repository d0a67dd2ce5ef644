//! The session token a response hands the client: a `Set-Cookie` (or header token) with
//! this record's id or sealed session, an expired cookie, or nothing.

use super::phase::{Phase, Stored};
use super::state::{Current, Kind, State};
use crate::config::Config;
use crate::cookie::signed_id::IdSigner;
use crate::id::SessionId;
use http::HeaderValue;

/// The session cookie a response carries.
#[derive(Debug)]
pub(super) enum CookieOut<'a> {
    /// No `Set-Cookie`: the client's cookie stays as it is.
    Keep,
    /// The id of this record, signed by `ids`, for `max_age`.
    Id {
        id: SessionId,
        ids: &'a IdSigner,
        max_age: Option<std::time::Duration>,
    },
    /// This sealed or signed session.
    Sealed(HeaderValue),
    /// Expire the client's cookie.
    Expire,
}

impl State {
    /// The request came with a session cookie that verified.
    fn came_with_cookie(&self) -> bool {
        match &self.kind {
            Kind::Server(server) => server.client_id.is_some(),
            Kind::Cookie(cookie) => cookie.from_client,
        }
    }

    /// The cookie the response carries. A sealed cookie is handed over, not copied.
    pub(super) fn cookie_out(&mut self, config: &Config) -> CookieOut<'_> {
        let expire = match self.phase {
            Phase::Refused => return CookieOut::Keep,
            Phase::Ended(_) => self.came_with_cookie(),
            Phase::Open => false,
        };
        let old_key = self.old_key;
        let or_expire = || {
            if expire {
                CookieOut::Expire
            } else {
                CookieOut::Keep
            }
        };
        let max_age = || config.cookie_max_age(&self.base);
        // A cookie with `Max-Age` is renewed with each save or touch; one whose lifetime
        // changed is sent again.
        let renew = || self.remember_changed || max_age().is_some();
        match &mut self.kind {
            Kind::Server(server) => match server.stored {
                Stored::Gone => CookieOut::Keep,
                Stored::Live(Current { id, .. })
                    if Some(id) != server.client_id || old_key || (server.refreshed && renew()) =>
                {
                    CookieOut::Id {
                        id,
                        ids: &server.backend.ids,
                        max_age: max_age(),
                    }
                }
                Stored::Live(_) => CookieOut::Keep,
                Stored::Nothing => or_expire(),
            },
            Kind::Cookie(cookie) => cookie
                .sealed
                .take()
                .map_or_else(or_expire, CookieOut::Sealed),
        }
    }
}
