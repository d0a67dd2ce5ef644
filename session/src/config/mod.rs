//! What a layer was built with: the backend and its keys, cookie attributes, transport,
//! expiry, save mode; and the table of per-session save turns (`turns.rs`).

pub(crate) mod turns;

use crate::backend::{BackendKind, KeyedBackend};
use crate::builtin::lifetime::remembered;
use crate::cookie::CookieConfig;
use crate::cookie::signed_id::IdSigner;
use crate::crypto::{Key, Label};
use crate::error::Statuses;
use crate::id::SessionId;
use crate::record::Record;
use crate::transport::Transport;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The longest a session is remembered for without a limit of the layer's: 400 days, the
/// longest browsers keep a cookie (RFC 6265bis caps `Max-Age` there).
const REMEMBER_LIMIT: Duration = Duration::from_secs(400 * 24 * 60 * 60);
/// How recently a user must have authenticated for [`crate::Fresh`] by default: 5 minutes.
const FRESHNESS: Duration = Duration::from_secs(5 * 60);
/// How long a periodically retired id still leads to its session by default: 10 s.
const ROTATION_GRACE: Duration = Duration::from_secs(10);
use turns::Turns;

/// When a request's session is written back to the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaveMode {
    /// Save when a field was set or updated (or on `save()`). The default.
    #[default]
    Changed,
    /// Save only when the handler called `save()` (Beaker's default); changes made without
    /// it are dropped at the end of the request.
    Explicit,
    /// Save every existing session the request extracted, changed or not (Beaker's `auto`).
    /// A new visitor's session is still only created once a field changes.
    Auto,
}

/// What a login does when its owner already has as many live sessions as the layer's
/// [session limit](crate::SessionLayer::with_session_limit) allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverLimit {
    /// The owner's oldest session (by when it began) ends, and the login goes on.
    EndOldest,
    /// The login is refused: the request is answered 409
    /// ([`Error::TooManySessions`](crate::Error::TooManySessions)), its session not
    /// written. A handler that calls [`persist`](crate::Session::persist) after
    /// `bind_owner` learns it there, and can answer in its own way.
    Refuse,
}

/// At most `max` live sessions per owner, and what a login beyond does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SessionLimit {
    pub(crate) max: usize,
    pub(crate) over: OverLimit,
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) kind: BackendKind,
    /// Current key first, then previous keys still accepted.
    pub(crate) keys: Vec<Key>,
    /// `kind` with `keys` derived.
    pub(crate) backend: KeyedBackend,
    /// Signs the CSRF cookie of visitors without a session ([`crate::csrf`]).
    pub(crate) csrf_cookie: IdSigner,
    pub(crate) cookie: CookieConfig,
    /// Where the session token travels: the cookie, or a header.
    pub(crate) transport: Transport,
    /// The name a header token is signed or sealed under: the cookie's name after a NUL,
    /// which no cookie name holds, so that a token opens only on the transport it was
    /// issued on (a `Session-Token` is no cookie, a cookie value no bearer token).
    pub(crate) header_token_name: Arc<str>,
    /// The longest `Set-Cookie` value a cookie store may send.
    pub(crate) cookie_size_limit: usize,
    pub(crate) statuses: Statuses,
    /// Saves of one session within this process take turns (see [`Config::turns`]).
    turns: Arc<[Turns]>,
    pub(crate) save_mode: SaveMode,
    /// Mark responses of requests that used their session private (see [`crate::cache`]).
    pub(crate) cache_headers: bool,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_lifetime: Option<Duration>,
    /// The longest `remember()` keeps a session (`None`: see [`Config::remember_limit`]).
    pub(crate) remember_limit: Option<Duration>,
    /// `None`: a quarter of the idle timeout, at most a minute.
    pub(crate) refresh_interval: Option<Duration>,
    /// How recently a session's user must have authenticated for [`crate::Fresh`].
    pub(crate) freshness: Duration,
    /// At most so many live sessions per owner (server stores).
    pub(crate) session_limit: Option<SessionLimit>,
    /// A session whose id is older moves to a new id on its next request.
    pub(crate) rotation_interval: Option<Duration>,
    /// How long a periodically retired id still leads to its session.
    pub(crate) rotation_grace: Duration,
    /// Where cookie sessions' revocation times are kept (see [`crate::accounts`]).
    pub(crate) revocations: Option<crate::observe::ObservedStore>,
    /// tower-sessions' sessions, taken over on their next request ([`crate::import`]).
    #[cfg(feature = "tower-sessions-import")]
    pub(crate) import: Option<Arc<crate::import::TowerSessionsImport>>,
    /// This process's live sessions ([`crate::live`]).
    pub(crate) live: Arc<crate::hub::Hub>,
    /// Where lifecycle events go ([`crate::events`]).
    pub(crate) events: Option<crate::events::Events>,
    /// How records are sealed at rest ([`crate::encryption`]).
    pub(crate) encryption: Option<Arc<crate::encryption::Encryption>>,
    /// A release build may start with a key from `Key::generate`.
    pub(crate) random_key_allowed: bool,
    /// Device-bound sessions ([`crate::dbsc`]).
    pub(crate) device_binding: Option<Arc<crate::device::DeviceSettings>>,
}

/// The name header tokens are signed under, for the cookie called `cookie_name`.
pub(crate) fn header_token_name(cookie_name: &str) -> Arc<str> {
    Arc::from(format!("\0{cookie_name}"))
}

impl Config {
    /// The name the token of a request that came `via` is signed or sealed under.
    pub(crate) fn token_name(&self, via: crate::transport::Via) -> &str {
        match via {
            crate::transport::Via::Cookie => &self.cookie.name,
            crate::transport::Via::Header => &self.header_token_name,
        }
    }

    /// The name of the CSRF cookie of visitors without a session: the session cookie's
    /// with `-csrf` after it, so that a `__Host-` or `__Secure-` prefix carries over.
    pub(crate) fn csrf_cookie_name(&self) -> String {
        format!("{}-csrf", self.cookie.name)
    }

    pub(crate) fn new(kind: BackendKind, key: &Key) -> Self {
        let keys = vec![key.clone()];
        Self {
            backend: KeyedBackend::new(&kind, &keys),
            csrf_cookie: IdSigner::for_purpose(&keys, Label::CsrfCookieMac),
            kind,
            keys,
            cookie_size_limit: 4096,
            statuses: Statuses::default(),
            turns: (0..1024).map(|_| Turns::default()).collect(),
            cookie: CookieConfig::default(),
            transport: Transport::cookie(),
            header_token_name: header_token_name(&CookieConfig::default().name),
            save_mode: SaveMode::Changed,
            cache_headers: true,
            idle_timeout: Duration::from_secs(30 * 60),
            max_lifetime: None,
            remember_limit: None,
            freshness: FRESHNESS,
            session_limit: None,
            rotation_interval: None,
            rotation_grace: ROTATION_GRACE,
            refresh_interval: None,
            revocations: None,
            #[cfg(feature = "tower-sessions-import")]
            import: None,
            live: Arc::new(crate::hub::Hub::new()),
            events: None,
            encryption: None,
            device_binding: None,
            random_key_allowed: false,
        }
    }

    /// Why the layer refuses to start, in a release build (`debug` false) whose key was
    /// generated at random and not allowed to be.
    pub(crate) fn random_key_refusal(&self, debug: bool) -> Option<&'static str> {
        (!debug && !self.random_key_allowed && self.keys[0].is_generated()).then_some(
            "SessionLayer: this release build's key was generated at random (Key::generate): its sessions would die with the process and no other instance could read them. Use Key::from_secret with a secret of 64 bytes or more, or SessionLayer::with_random_key_allowed(true) for a demo",
        )
    }

    /// The longest a session is remembered for: the layer's `with_remember_limit`, else
    /// its absolute lifetime, else 400 days (as long as browsers keep a cookie).
    pub(crate) fn remember_limit(&self) -> Duration {
        self.remember_limit
            .or(self.max_lifetime)
            .unwrap_or(REMEMBER_LIMIT)
    }

    /// How long the session in `record` is remembered for, within the layer's limit: a
    /// record remembered for longer (before the limit was lowered, or by a route that asked
    /// for more) is kept no longer than the limit.
    pub(crate) fn remembered(&self, record: &Record) -> Option<Duration> {
        remembered(record).map(|remembered| self.capped(remembered))
    }

    /// `remembered`, within the layer's remember limit.
    pub(crate) fn capped(&self, remembered: Duration) -> Duration {
        remembered.min(self.remember_limit())
    }

    /// When the session in `record`, saved or touched `now`, expires: after its idle
    /// timeout, but never past its absolute lifetime counted from its creation. A
    /// remembered session has its own (see [`crate::builtin::lifetime`]).
    pub(crate) fn expiry(&self, record: &Record, now: SystemTime) -> SystemTime {
        let remembered = self.remembered(record);
        let idle = now + remembered.unwrap_or(self.idle_timeout);
        match self.deadline(record, || remembered) {
            Some(deadline) => idle.min(deadline),
            None => idle,
        }
    }

    /// The end of the absolute lifetime of the session in `record`, if there is one: the
    /// layer's, or as long as it is remembered for if that is longer.
    pub(crate) fn lifetime_end(&self, record: &Record) -> Option<SystemTime> {
        self.deadline(record, || self.remembered(record))
    }

    fn deadline(
        &self,
        record: &Record,
        remembered: impl FnOnce() -> Option<Duration>,
    ) -> Option<SystemTime> {
        let lifetime = self.max_lifetime?;
        let lifetime = remembered().map_or(lifetime, |remembered| lifetime.max(remembered));
        Some(record.created() + lifetime)
    }

    pub(crate) fn past_lifetime(&self, record: &Record, now: SystemTime) -> bool {
        self.lifetime_end(record)
            .is_some_and(|deadline| deadline <= now)
    }

    /// The `Max-Age` of the cookie of the session in `record`: as long as it is
    /// remembered for, else the layer's.
    pub(crate) fn cookie_max_age(&self, record: &Record) -> Option<Duration> {
        self.remembered(record).or(self.cookie.max_age)
    }

    /// The turns a save of `id` takes. Without them, two requests of one session that write
    /// back to back in this process can keep winning each other's compare-and-swap window,
    /// so that one never gets through; with it, only other processes race, and they back
    /// off. 1024 stripes: with 64, unrelated sessions shared a lock under load and waited on
    /// each other's store round trips (BENCHMARKS.md).
    ///
    /// The turn holds the last save this process made of a session in its stripe, so that a
    /// save whose load is older starts from it instead of losing a race it cannot win; saves
    /// that wait for it are made together by the next request to take it.
    pub(crate) fn turns(&self, id: &SessionId) -> &Turns {
        // The last bytes: the first two are the owner's shard, shared by their sessions.
        let [.., a, b] = *id.as_bytes();
        &self.turns[usize::from(u16::from_le_bytes([a, b])) % self.turns.len()]
    }

    pub(crate) fn refresh_interval(&self) -> Duration {
        self.refresh_interval
            .unwrap_or_else(|| (self.idle_timeout / 4).min(Duration::from_secs(60)))
    }

    /// The channel between the instances sharing the store that keeps what ends sessions:
    /// the session store, or for cookie sessions the revocation store.
    pub(crate) fn broadcast(&self) -> Option<Arc<dyn crate::store::Broadcast>> {
        match &self.backend {
            KeyedBackend::Server(backend) => backend.store.broadcast(),
            KeyedBackend::Cookie(_) => self.revocations.as_ref()?.broadcast(),
        }
    }

    /// Sets the keys: `current` signs and seals, `previous` are still accepted.
    pub(crate) fn set_keys(&mut self, keys: Vec<Key>) {
        self.backend = KeyedBackend::new(&self.kind, &keys);
        self.csrf_cookie = IdSigner::for_purpose(&keys, Label::CsrfCookieMac);
        self.keys = keys;
    }

    /// Derives the device binding's settings again from the rest of the configuration
    /// (its cookie follows the session cookie's, its keys the layer's).
    pub(crate) fn derive_device_binding(&mut self) {
        if let Some(settings) = &self.device_binding {
            let binding = settings.binding.clone();
            let derived = crate::device::DeviceSettings::new(binding, &self.cookie, &self.keys);
            self.device_binding = Some(Arc::new(derived));
        }
    }
}
