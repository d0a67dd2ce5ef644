//! The one place where what a request's token led to becomes its state: a store's load,
//! a cookie's opening, and a test's made-up session all arrive through [`Arrival`].

use super::RequestSession;
use super::state::{Current, Kind, Stored};
use crate::builtin::rotation::issued;
use crate::id::{SessionId, StorageKey};
use crate::record::Record;
use crate::store::Version;
use crate::time::unix_us;
use crate::transport::Via;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

/// What a request's token led to.
pub(super) struct Arrival {
    /// How the token came: the response answers the same way.
    pub(super) via: Via,
    /// What the token named, if it verified.
    pub(super) token: Token,
    /// The token was made with a previous key: it is issued again with the current one.
    pub(super) old_key: bool,
    /// The live session it named, if there is one.
    pub(super) live: Option<Live>,
}

/// What a token that verified named.
pub(super) enum Token {
    /// No token, or one that did not verify or open.
    None,
    /// A signed id, and the key its record is stored under.
    Server { id: SessionId, key: StorageKey },
    /// A sealed or signed cookie session, with the id sealed in it.
    Cookie { id: Option<SessionId> },
}

/// A live session the token named.
pub(super) struct Live {
    pub(super) record: Record,
    pub(super) expires_at: SystemTime,
    /// The stored record's version (a server store's; none in a cookie).
    pub(super) version: Option<Version>,
}

impl Arrival {
    /// A request `via` which no token verified or opened: a fresh session.
    pub(super) const fn none(via: Via) -> Self {
        Self {
            via,
            token: Token::None,
            old_key: false,
            live: None,
        }
    }
}

impl RequestSession {
    /// Makes `arrival` the request's state: the live record its base (else a fresh one as
    /// of `now`), and what the backend keeps of the token.
    pub(super) fn arrive(&self, arrival: Arrival, now: SystemTime) {
        let Arrival {
            via,
            token,
            old_key,
            live,
        } = arrival;
        let version = live.as_ref().and_then(|live| live.version);
        let is_live = live.is_some();
        let mut state = match live {
            Some(live) => {
                let mut state = self.lock_around(live.record);
                state.expires_at = Some(live.expires_at);
                state.arrived = true;
                state
            }
            None => self.lock_with(|| Record::new(now)),
        };
        state.via = via;
        state.old_key = old_key;
        match (&mut state.kind, token) {
            (Kind::Server(server), Token::Server { id, key }) => {
                server.client_id = Some(id);
                if let Some(version) = version {
                    server.stored = Stored::Live(Current { id, key, version });
                }
            }
            (Kind::Cookie(cookie), Token::Cookie { id }) => {
                cookie.from_client = true;
                if is_live {
                    cookie.stored = Stored::Live(());
                    cookie.id = id;
                }
            }
            _ => {}
        }
        if is_live && crate::builtin::owner::has_owner(&state.base) {
            self.arrived_owned.store(true, Ordering::Relaxed);
        }
        if let Some(interval) = self.config.rotation_interval
            && is_live
            && now.duration_since(issued(&state.base)).unwrap_or_default() >= interval
        {
            state.rotate_periodically(unix_us(now));
        }
    }
}
