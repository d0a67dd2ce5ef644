//! A request's session handed on to a live handle ([`crate::live`]): a request of its own,
//! made from the session as it arrived, that the socket's task commits as often as it likes
//! (a `persist()` at a time) and that never sends a cookie.
//!
//! The live-session feature lives where the layering puts each part: `live/` (the
//! extractor), `hub/` (this process's live sessions), `announce.rs` (what the write path
//! tells them), `request/socket.rs` (a request's session handed on to a socket) and
//! `store/broadcast.rs` (the channel between instances).

use super::RequestSession;
use super::state::{Current, Kind, Phase, Stored};
use crate::builtin::owner::revocation_check;
use crate::hub::{EndReason, Place};
use crate::store::Version;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

/// What a live handle watches of the session it was given.
pub(crate) struct Handed {
    /// The socket's own request of the session.
    pub(crate) request: RequestSession,
    /// Where its record is.
    pub(crate) place: Place,
    /// Its owner's revocation key, when it has an owner that can be revoked.
    pub(crate) owner: Option<crate::id::StorageKey>,
    /// A cookie session: the socket cannot save it (its cookie travels in HTTP responses).
    pub(crate) cookie: bool,
}

impl RequestSession {
    /// The live session this request came with, as a request of its own; `None` when it came
    /// with none (or its handler ended it).
    pub(crate) fn hand_on(&self) -> Option<Handed> {
        let state = self.lock();
        if !state.arrived || state.phase != Phase::Open {
            return None;
        }
        let (id, key, cookie) = match &state.kind {
            Kind::Server(server) => {
                let current = server.stored.live()?;
                (Some(current.id), current.key, false)
            }
            Kind::Cookie(session) => {
                session.stored.live()?;
                let id = session.id?;
                (Some(id), id.storage_key(), true)
            }
        };
        let request = Self::new(Arc::clone(&self.config));
        let _ = request.loaded.set(());
        request.asked.store(true, Ordering::Relaxed);
        {
            let mut copy = request.lock_around(state.base.clone());
            copy.expires_at = state.expires_at;
            copy.arrived = true;
            copy.via = state.via;
            match (&mut copy.kind, &state.kind) {
                (Kind::Server(copy), Kind::Server(server)) => {
                    copy.client_id = server.client_id;
                    copy.stored = server.stored;
                }
                (Kind::Cookie(copy), Kind::Cookie(session)) => {
                    copy.from_client = true;
                    copy.stored = Stored::Live(());
                    copy.id = session.id;
                }
                _ => return None,
            }
        }
        let owner = revocation_check(&state.base).map(|(key, _)| key);
        let place = Place {
            key,
            id,
            moved: false,
        };
        Some(Handed {
            request,
            place,
            owner,
            cookie,
        })
    }

    /// The session moved to `place` (another request gave it a new id): the next save goes
    /// there. Its version there is not known: the save loses its first compare-and-swap and
    /// rebases on the record as it is.
    pub(crate) fn moved_to(&self, place: Place) {
        let mut state = self.lock();
        if let (Kind::Server(server), Some(id)) = (&mut state.kind, place.id) {
            server.client_id = Some(id);
            server.stored = Stored::Live(Current {
                id,
                key: place.key,
                // A version no record is expected to have (stores draw them at random).
                version: Version::new(u64::MAX),
            });
        }
    }

    /// Whether another request ended the session while this one tried to save it.
    pub(crate) fn is_gone(&self) -> bool {
        match &self.lock().kind {
            Kind::Server(server) => matches!(server.stored, Stored::Gone),
            Kind::Cookie(_) => false,
        }
    }

    /// When the session expires, as this request last knew it.
    pub(crate) fn expires_at(&self) -> Option<SystemTime> {
        self.lock().expires_at
    }

    /// The session expires later than it knew (another request renewed it).
    pub(crate) fn renewed(&self, expires_at: SystemTime) {
        self.lock().expires_at = Some(expires_at);
    }

    /// The end of the session's absolute lifetime, if it has one.
    pub(crate) fn lifetime_end(&self) -> Option<SystemTime> {
        self.config.lifetime_end(&self.lock().base)
    }
}

impl RequestSession {
    /// When the session's record expires in the store now, if it is still there: `None`
    /// when it is gone. A store that cannot be asked is asked again a second later: its
    /// failure ends no socket.
    pub(crate) async fn stored_expiry(&self) -> Option<SystemTime> {
        let (store, key) = {
            let state = self.lock();
            let Kind::Server(server) = &state.kind else {
                return None;
            };
            (server.backend.store.clone(), server.stored.live()?.key)
        };
        match store.load(&key).await {
            Ok(stored) => stored.map(|stored| stored.expires_at),
            Err(error) => {
                tracing::warn!(%error, "cannot tell whether a live session expired; asking again");
                Some(SystemTime::now() + std::time::Duration::from_secs(1))
            }
        }
    }

    /// Why the session ended, if the stores say it has: its record is gone, or its owner
    /// revoked it. A live handle asks once it listens to the session's changes (at its
    /// start, and after a move to a new id): an ending announced before then did not reach
    /// it. A store that cannot be asked ends nothing.
    pub(crate) async fn ended_meanwhile(&self) -> Option<EndReason> {
        let (stored, check) = {
            let state = self.lock();
            let stored =
                matches!(&state.kind, Kind::Server(server) if server.stored.live().is_some());
            (stored, revocation_check(&state.base))
        };
        // The owner's revocation first: it deletes the records too.
        if let Some((owner, bound)) = check {
            match crate::accounts::is_revoked(&self.config, &owner, bound).await {
                Ok(true) => return Some(EndReason::Revoked),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, "cannot tell whether a live session was revoked")
                }
            }
        }
        if !stored {
            return None;
        }
        match self.stored_expiry().await {
            None => Some(EndReason::Deleted),
            Some(expires_at) if expires_at <= SystemTime::now() => Some(EndReason::Expired),
            Some(_) => None,
        }
    }
}
