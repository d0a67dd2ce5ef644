//! Live sessions: a session handle that outlives its request, for a WebSocket or an SSE
//! stream ([`LiveSession`]), told when the session ends anywhere.
//!
//! The feature lives where the layering puts each part: `live/mod.rs` ([`LiveSession`], the
//! extractor and what a socket does with it), `hub/` (this process's live sessions, what
//! reaches them, and the notices between instances), `announce.rs` (what the library's
//! write path tells the hub and the event sink), `request/socket.rs` (a request's session
//! handed on to a socket) and `store/broadcast.rs` ([`Broadcast`](crate::store::Broadcast), the channel between
//! instances a store offers). Lifecycle events ([`crate::events`]) come from the same
//! announcements.
//!
//! # What reaches a live session
//! Its session ending by a logout (`delete()`, `invalidate()`), a revocation (by
//! fingerprint, "log out everywhere" or "log out other devices", a credential change, a
//! session limit), or its idle timeout or absolute lifetime passing; and the session moving
//! to a new id (it follows). In one process on every store. Across instances over the
//! store's [`Broadcast`](crate::store::Broadcast): Redis (a channel per session and per
//! owner; one server, Sentinel, sharded pub/sub on a Cluster) and PostgreSQL, and for
//! cookie sessions the [revocation store](crate::SessionLayer::with_revocation_store)'s.
//! A live session starts once its process listens for its session's changes, and then
//! looks in the store once, so that an ending between the upgrade's read and then is not
//! missed.
//!
//! Expiry needs no message: each live session sleeps until its expiry, then looks at its
//! record once (another request may have renewed it). No process polls every session.
//!
//! # What a live session costs
//! Its own copy of the session's record and request state, and one entry in the hub: about
//! 1 KiB in all (`BENCHMARKS.md` measures it), and no store connection: the process shares
//! one subscription connection.

pub use crate::hub::EndReason;

use crate::error::{Error, SessionRejection};
use crate::extract::Session;
use crate::hub::Watch;
use crate::request::RequestSession;
use crate::typed::SessionData;
use axum_core::extract::FromRequestParts;
use http::request::Parts;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::SystemTime;

/// A session for a WebSocket or an SSE stream: extracted from the upgrade request, moved
/// into the socket's task, used for as long as the socket is open.
///
/// It reads and changes the session's fields with the accessors of
/// [`Session<T>`](struct@Session) (through `Deref`), saves them with
/// [`save`](Self::save) (compare-and-swap, with `update_*` replayed on what HTTP requests
/// saved meanwhile: nothing is lost either way), counts socket traffic as activity
/// ([`activity`](Self::activity): the idle expiry slides, with the same throttle as reads),
/// and learns when the session ends, anywhere ([`ended`](Self::ended)).
///
/// The upgrade request must come with a live session: else the extractor answers 401 and
/// nothing is upgraded.
///
/// ```
/// use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
/// use axum::response::Response;
/// use typed_sessions::Session;
/// use typed_sessions::live::LiveSession;
///
/// #[derive(Session, Default)]
/// struct Visit {
///     count: u64,
/// }
///
/// async fn live(upgrade: WebSocketUpgrade, visit: LiveSession<Visit>) -> Response {
///     upgrade.on_upgrade(move |socket| talk(socket, visit))
/// }
///
/// async fn talk(mut socket: WebSocket, visit: LiveSession<Visit>) {
///     loop {
///         tokio::select! {
///             // Logged out, revoked or expired, here or on another instance.
///             _ = visit.ended() => break,
///             message = socket.recv() => {
///                 let Some(Ok(Message::Text(_))) = message else { break };
///                 visit.update_count(|n| *n += 1);
///                 if visit.save().await.is_err() {
///                     break;
///                 }
///                 let count = visit.count().to_string();
///                 if socket.send(Message::Text(count.into())).await.is_err() {
///                     break;
///                 }
///             }
///         }
///     }
/// }
/// ```
#[must_use = "a live session is for a socket's task: move it into `on_upgrade`"]
pub struct LiveSession<T: SessionData> {
    session: Session<T>,
    request: Arc<RequestSession>,
    watch: Arc<Watch>,
    cookie: bool,
}

impl<T: SessionData> LiveSession<T> {
    /// Saves the fields changed since the last save: compare-and-swap, with `update_*`
    /// replayed on the record as other requests left it (the fields then read as saved),
    /// and the idle expiry renewed.
    ///
    /// # Errors
    /// [`Error::SessionEnded`] once the session has ended (nothing is saved: close the
    /// socket), [`Error::CookieSessionOverSocket`] for a cookie session (its cookie travels
    /// only in HTTP responses), and a store's failure.
    pub async fn save(&self) -> Result<(), Error> {
        self.request.save();
        self.commit().await
    }

    /// Counts traffic on the socket as the session's activity: its idle expiry slides as a
    /// request's read does, written at most once per refresh interval (no write per
    /// message). Saves changed fields too, as [`save`](Self::save) does.
    ///
    /// # Errors
    /// As [`save`](Self::save); a cookie session's activity is not recorded (the server
    /// cannot renew its cookie over the socket), and answers `Ok` while it lives.
    pub async fn activity(&self) -> Result<(), Error> {
        if self.cookie {
            return self.alive();
        }
        self.commit().await
    }

    /// Whether the session is still alive, as far as this process has heard.
    #[must_use]
    pub fn is_alive(&self) -> bool {
        self.watch.ended().is_none()
    }

    /// Resolves when the session ends: logged out, revoked, or expired, on this instance or
    /// (over the store's [`Broadcast`](crate::store::Broadcast)) another, within moments.
    /// At once if it has already.
    pub async fn ended(&self) -> EndReason {
        loop {
            let changed = self.watch.changed();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            if let Some(reason) = self.watch.ended() {
                return reason;
            }
            if self.follow_move() {
                // Listening at the new id now: what ended it before then is in the store.
                self.request.config.live.settle().await;
                self.check_meanwhile().await;
                continue;
            }
            let Some(deadline) = self.deadline() else {
                changed.await;
                continue;
            };
            let sleep = deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            if tokio::time::timeout(sleep, changed).await.is_err() {
                self.check_expiry().await;
            }
        }
    }

    fn alive(&self) -> Result<(), Error> {
        match self.watch.ended() {
            Some(_) => Err(Error::SessionEnded),
            None => Ok(()),
        }
    }

    async fn commit(&self) -> Result<(), Error> {
        self.alive()?;
        if self.cookie {
            return Err(Error::CookieSessionOverSocket);
        }
        self.follow_move();
        self.request.commit(SystemTime::now()).await?;
        if self.request.is_gone() {
            self.watch.end(EndReason::Deleted);
            return Err(Error::SessionEnded);
        }
        Ok(())
    }

    /// Takes a move to a new id the hub heard of over to the socket's request; whether
    /// there was one.
    fn follow_move(&self) -> bool {
        let mut place = self.watch.place();
        let moved = place.moved;
        if moved {
            place.moved = false;
            self.request.moved_to(*place);
        }
        moved
    }

    /// Ends the live session if the stores say it ended before the hub listened for it.
    async fn check_meanwhile(&self) {
        if let Some(reason) = self.request.ended_meanwhile().await {
            self.watch.end(reason);
        }
    }

    /// When the session expires unless renewed: its idle expiry (a server store's; a cookie
    /// session's socket cannot renew it, so only its absolute lifetime counts), or the end
    /// of its absolute lifetime, whichever comes first.
    fn deadline(&self) -> Option<SystemTime> {
        let lifetime = self.request.lifetime_end();
        let idle = if self.cookie {
            None
        } else {
            self.request.expires_at()
        };
        match (idle, lifetime) {
            (Some(idle), Some(lifetime)) => Some(idle.min(lifetime)),
            (idle, lifetime) => idle.or(lifetime),
        }
    }

    /// The deadline passed: the session expired, unless another request renewed it.
    async fn check_expiry(&self) {
        let now = SystemTime::now();
        if !self.cookie
            && self.request.lifetime_end().is_none_or(|end| end > now)
            && let Some(expires_at) = self.request.stored_expiry().await
            && expires_at > now
        {
            self.request.renewed(expires_at);
            return;
        }
        if self.watch.ended().is_none() {
            let key = self.watch.place().key;
            let owner = self.request.owner();
            let config = &self.request.config;
            crate::announce::expiry_seen(config, &key, owner.as_ref());
            self.watch.end(EndReason::Expired);
        }
    }
}

impl<T: SessionData> Deref for LiveSession<T> {
    type Target = T::Fields;

    fn deref(&self) -> &T::Fields {
        &self.session
    }
}

impl<T: SessionData> Drop for LiveSession<T> {
    fn drop(&mut self) {
        self.request.config.live.unregister(&self.watch);
    }
}

impl<T: SessionData> fmt::Debug for LiveSession<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveSession")
            .field("type", &std::any::type_name::<T>())
            .field("ended", &self.watch.ended())
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync, T: SessionData> FromRequestParts<S> for LiveSession<T> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let upgrade = crate::extract::ready(parts).await?;
        let handed = upgrade.hand_on().ok_or(SessionRejection::NoLiveSession)?;
        let config = Arc::clone(&upgrade.config);
        let store = config.backend.name();
        let watch = config
            .live
            .register(handed.place, handed.owner, store, || config.broadcast())
            .await;
        let request = Arc::new(handed.request);
        let live = Self {
            session: Session::of(Arc::clone(&request)),
            request,
            watch,
            cookie: handed.cookie,
        };
        // Listening now: what ended the session since this request read it is in the store.
        live.check_meanwhile().await;
        Ok(live)
    }
}
