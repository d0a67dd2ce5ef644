//! One request's session: loaded on first use, written back once at the end (or on
//! `persist()`), shared by every extractor in the request.
//!
//! - `state`: what the request did, and the decisions made from it (no I/O);
//! - `server`: a session in a server-side store: its load, and its commit (compare-and-swap,
//!   retries, rotation);
//! - `seal`: a session in a cookie: opening it, and sealing it (computation, no I/O).

mod arrival;
mod commit;
mod contention;
pub(crate) mod csrf;
mod device;
mod flash;
#[cfg(feature = "tower-sessions-import")]
mod import;
mod limit;
mod live;
mod load;
mod owner;
mod phase;
mod pipeline;
mod retired;
mod rotation;
mod seal;
mod server;
mod socket;
mod state;
#[cfg(feature = "test-util")]
mod testing;
#[cfg(feature = "test-util")]
pub(crate) use testing::Inspection;
#[cfg(test)]
mod tests;
mod token_out;
mod turn;
#[cfg(test)]
pub(crate) use tests::ALLOCATOR_CACHE_MAX;

use crate::backend::KeyedBackend;
use crate::config::Config;
use crate::error::Error;
use crate::record::Record;
use crate::transport::{Found, Via};
use crate::typed::SessionData;
use crate::typed::SharedFields;
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderName, HeaderValue};
#[cfg(feature = "test-util")]
pub(crate) use state::Phase;
pub(crate) use state::{Decision, Ending};
use state::{Kind, State};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::SystemTime;
use token_out::CookieOut;

pub(crate) struct RequestSession {
    pub(crate) config: Arc<Config>,
    loaded: tokio::sync::OnceCell<()>,
    /// An extractor asked for the session, whether or not its load succeeded: the response
    /// varies by the token either way (a 503 included).
    asked: AtomicBool,
    /// A CSRF token was handed out: the response holds a secret of the session's.
    token_shown: AtomicBool,
    /// The session was bound to an owner and is not stamped with the owner's revocation
    /// epoch yet: the commit reads it first. Beside the state, so that a commit asks it
    /// without the lock.
    stamp_pending: AtomicBool,
    /// The session arrived bound to an owner: it is checked against the owner's
    /// revocation epoch before use.
    arrived_owned: AtomicBool,
    /// The request's `Host`, when it came over plain HTTP for a host that is not
    /// localhost: a browser drops a `Secure` cookie sent in reply ([`crate::cookie`]).
    insecure_host: OnceLock<Box<str>>,
    /// The CSRF secret of a visitor without a session, once a token was asked for.
    /// Boxed: most requests never draw one, and every request carries the field.
    csrf_cookie: OnceLock<Box<csrf::CookieSecret>>,
    /// Serializes `persist()` calls and the final commit.
    commit: tokio::sync::Mutex<()>,
    /// The record that won the race a save just lost, when the store answered it with the
    /// loss: the rebase reads it from here, not the store. Kept out of the save's future,
    /// which stays within the allocator's fast path.
    won: Mutex<Option<Box<crate::store::StoredRecord>>>,
    /// A DBSC endpoint's request: its session is loaded without a bound cookie.
    device_exempt: AtomicBool,
    /// The `Secure-Session-Registration` header to send, once a binding was offered.
    device_offer: OnceLock<HeaderValue>,
    /// Built on first use: a request that never extracts its session pays nothing for it.
    state: OnceLock<Mutex<State>>,
}

impl RequestSession {
    pub(crate) fn new(config: Arc<Config>) -> Self {
        Self {
            config,
            loaded: tokio::sync::OnceCell::new(),
            asked: AtomicBool::new(false),
            token_shown: AtomicBool::new(false),
            stamp_pending: AtomicBool::new(false),
            arrived_owned: AtomicBool::new(false),
            insecure_host: OnceLock::new(),
            csrf_cookie: OnceLock::new(),
            commit: tokio::sync::Mutex::new(()),
            won: Mutex::new(None),
            device_exempt: AtomicBool::new(false),
            device_offer: OnceLock::new(),
            state: OnceLock::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.lock_with(|| Record::new(SystemTime::now()))
    }

    /// The state, with `record` as its base: built around it on first use, else given it.
    fn lock_around(&self, record: Record) -> MutexGuard<'_, State> {
        let mut record = Some(record);
        let mut state = self.lock_with(|| record.take().unwrap_or_default());
        if let Some(record) = record {
            state.base = record;
        }
        state
    }

    /// The state, built around `base` if this is its first use.
    fn lock_with(&self, base: impl FnOnce() -> Record) -> MutexGuard<'_, State> {
        self.state
            .get_or_init(|| {
                let via = self.config.transport.default_via();
                Mutex::new(State::fresh(base(), &self.config.backend, via))
            })
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A request that brought no session: if it came over plain HTTP for a host other than
    /// localhost, the `Secure` cookie its response may set would be dropped by the browser
    /// (said once, when the cookie goes out). Requests of live sessions pay nothing for it.
    fn note_insecure_host(&self, headers: &HeaderMap) {
        if self.config.cookie.is_secure()
            && let Some(host) = crate::cookie::insecure_host(headers)
        {
            let _ = self.insecure_host.set(host.into());
        }
    }

    /// Whether any extractor asked for the session.
    pub(crate) fn is_used(&self) -> bool {
        self.asked.load(Ordering::Relaxed)
    }

    /// Whether the response holds a CSRF token of the session: it must not be stored.
    pub(crate) fn showed_token(&self) -> bool {
        self.token_shown.load(Ordering::Relaxed)
    }

    /// Loads the session named by the request's cookie, once per request. No cookie, or a
    /// cookie that does not verify, costs no store I/O.
    pub(crate) async fn ready(&self, headers: &HeaderMap) -> Result<(), Error> {
        self.asked.store(true, Ordering::Relaxed);
        self.loaded
            .get_or_try_init(|| async {
                match &self.config.backend {
                    KeyedBackend::Server(backend) => self.load_stored(backend, headers).await?,
                    KeyedBackend::Cookie(codec) => self.open_cookie(codec, headers)?,
                }
                #[cfg(feature = "tower-sessions-import")]
                self.import_tower(headers).await?;
                if self.arrived_owned.load(Ordering::Relaxed) {
                    self.refuse_if_revoked().await?;
                }
                Ok(())
            })
            .await
            .map(|&()| ())
    }

    /// The request's shared state for `T`, created from the loaded record on first use.
    pub(crate) fn fields<T: SessionData>(&self) -> SharedFields<T> {
        self.lock().view::<T>().fields()
    }

    pub(crate) fn save(&self) {
        self.lock().save_requested = true;
    }

    pub(crate) fn delete(&self) {
        self.end(Ending::Deleted);
    }

    pub(crate) fn invalidate(&self) {
        self.end(Ending::Invalidated);
    }

    /// Ends the session. A cookie session has no record to delete: its live sessions are
    /// told now (a server store's, once its record is deleted at the commit).
    fn end(&self, ending: Ending) {
        let mut state = self.lock();
        let cookie_session = match &state.kind {
            Kind::Cookie(_) => state.stored_key(),
            Kind::Server(_) => None,
        };
        let owner = cookie_session.and_then(|_| crate::builtin::owner::owner_of(&state.base));
        state.end(ending, SystemTime::now());
        drop(state);
        if let Some(key) = cookie_session {
            let reason = crate::hub::EndReason::Deleted;
            crate::announce::ended(&self.config, &key, owner.as_ref(), reason);
        }
    }

    pub(crate) fn cycle_id(&self) {
        self.cycle(&mut self.lock());
    }

    /// `state`'s move to a new id at the commit; with a rotation interval, the new id's
    /// issue time with it, which the interval counts from.
    fn cycle(&self, state: &mut State) {
        state.cycle_id();
        if self.config.rotation_interval.is_some() && state.rotate {
            state.mark_issued(crate::time::unix_us(SystemTime::now()));
        }
    }

    pub(crate) fn is_new(&self) -> bool {
        self.lock().is_new()
    }

    pub(crate) fn fingerprint(&self) -> Option<crate::id::Fingerprint> {
        self.lock().fingerprint()
    }

    pub(crate) fn remember(&self, duration: Option<std::time::Duration>) {
        let mut state = self.lock();
        let lifetime = state.view::<crate::builtin::lifetime::Lifetime>().fields();
        lifetime.write(0, |lifetime| lifetime.remember(duration));
        state.save_requested = true;
        state.remember_changed = true;
    }

    pub(crate) fn remembered(&self) -> Option<std::time::Duration> {
        let mut state = self.lock();
        let lifetime = state.view::<crate::builtin::lifetime::Lifetime>().fields();
        let remembered = lifetime.read(crate::builtin::lifetime::Lifetime::remembered);
        remembered.map(|remembered| self.config.capped(remembered))
    }

    /// Commits without waiting, when that needs no store I/O: always for cookie stores
    /// (sealing is computation), and for server stores when nothing is to be written, as
    /// on a request that only reads. `None`: the commit needs [`commit`](Self::commit).
    pub(crate) fn commit_now(&self, now: SystemTime) -> Option<Result<(), Error>> {
        // A `persist()` still running in a task the handler spawned: wait for it.
        let _serial = self.commit.try_lock().ok()?;
        if self.stamp_pending.load(Ordering::Relaxed) {
            return None;
        }
        let mut state = self.lock();
        self.adopt_cookie_secret(&mut state);
        match &state.kind {
            Kind::Cookie(_) => Some(state.prepare(&self.config, now).map(|_| ())),
            Kind::Server(server) => (server.doomed.is_empty()
                && state.decide(&self.config, now) == Decision::Nothing)
                .then_some(Ok(())),
        }
    }

    /// Writes what the request did, as of `now`.
    pub(crate) async fn commit(&self, now: SystemTime) -> Result<(), Error> {
        let _serial = self.commit.lock().await;
        if self.stamp_pending.load(Ordering::Relaxed) {
            // Boxed: once per login, and inline it would make every commit's future larger.
            Box::pin(self.stamp_bound()).await?;
        }
        let Some(mut plan) = self.prepare_commit(now)? else {
            return Ok(());
        };
        // Boxed, the plan with it: inline, the I/O's state would make the layer's boxed
        // response future too big for the allocator's per-thread cache (over 1 KiB: a
        // slower path in glibc). The plan is lent to `carry_out`, not moved: an async fn
        // keeps a by-value argument twice (rust-lang/rust#62958).
        let done = Box::pin(async move { self.carry_out(&mut plan, now).await }).await;
        if let Err(Error::TooManySessions { .. }) = done {
            // A refused login: the request's session is left as it came, in the store and
            // in the client's cookie.
            self.lock().phase = state::Phase::Refused;
        }
        done
    }

    /// What the commit must write, as of `now`: first a session the request creates takes
    /// the secret of the visitor's CSRF cookie over.
    fn prepare_commit(&self, now: SystemTime) -> Result<Option<commit::Plan>, Error> {
        let mut state = self.lock();
        self.adopt_cookie_secret(&mut state);
        state.prepare(&self.config, now)
    }

    /// How the request's token came, and so how the response answers.
    pub(crate) fn via(&self) -> Via {
        self.lock().via
    }

    /// How the request's token came, and the header that hands the client its token, if
    /// the response needs one: the `Set-Cookie`, or the token in the transport's response
    /// header (empty: the session ended). Called once, as the response leaves.
    pub(crate) fn token_out(&self) -> (Via, Option<(HeaderName, HeaderValue)>) {
        let mut state = self.lock();
        let via = state.via;
        (via, self.token_header(&mut state, via))
    }

    fn token_header(&self, state: &mut State, via: Via) -> Option<(HeaderName, HeaderValue)> {
        let cookie = &self.config.cookie;
        let out = state.cookie_out(&self.config);
        if via == Via::Header {
            let value = match out {
                CookieOut::Keep => return None,
                CookieOut::Sealed(token) => token,
                CookieOut::Expire => HeaderValue::from_static(""),
                CookieOut::Id { id, ids, .. } => {
                    HeaderValue::try_from(ids.sign(self.config.token_name(Via::Header), &id))
                        .expect("a signed id is base64url")
                }
            };
            return Some((self.config.transport.response_header().clone(), value));
        }
        let value = match out {
            CookieOut::Keep => return None,
            CookieOut::Expire => return Some((SET_COOKIE, cookie.set_cookie(None))),
            CookieOut::Sealed(header) => header,
            CookieOut::Id { id, ids, max_age } => {
                cookie.set_cookie_lasting(Some(&ids.sign(&cookie.name, &id)), max_age)
            }
        };
        if let Some(host) = self.insecure_host.get() {
            crate::cookie::warn_dropped(host, &cookie.name);
        }
        Some((SET_COOKIE, value))
    }
}

/// Whether the request sent a token where `found` says to look (a cookie named `name`, or
/// the header), whatever it holds: one that then fails to verify or open was rejected.
/// A tower-sessions cookie that an import takes is no token of this layer's.
fn presented(session: &RequestSession, found: Found<'_>, name: &str, headers: &HeaderMap) -> bool {
    #[cfg(feature = "tower-sessions-import")]
    if session.brings_tower_cookie(headers) {
        return false;
    }
    #[cfg(not(feature = "tower-sessions-import"))]
    let _ = session;
    match found {
        Found::Header(token) => token.is_some(),
        Found::Cookie => crate::cookie::cookie_values(name, headers).next().is_some(),
    }
}
