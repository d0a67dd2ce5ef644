//! The layer's settings: the cookie's name and attributes, the transport, expiry, save
//! mode, keys, revocation store, size limit and statuses.

use super::SessionLayer;
use crate::config::{Config, OverLimit, SaveMode, SessionLimit};
use crate::cookie;
use crate::crypto::Key;
use crate::observe::ObservedStore;
use crate::time::LONGEST;
use ::cookie::SameSite;
use http::StatusCode;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

impl SessionLayer {
    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let config = Arc::make_mut(&mut self.config);
        change(config);
        config.derive_device_binding();
        self
    }

    /// The cookie's name (default `id`). A name starting with `__Host-` makes the cookie
    /// `Secure`, `Path=/` and without `Domain` whatever else is set, as browsers require
    /// of it (the strongest binding of a cookie to its host); `__Secure-` makes it `Secure`.
    ///
    /// # Panics
    /// If `name` is empty or not a valid cookie name (RFC 6265 token).
    pub fn with_cookie_name(self, name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        assert!(
            cookie::is_token(&name),
            "invalid session cookie name {name:?}"
        );
        self.with(|config| {
            config.header_token_name = crate::config::header_token_name(&name);
            config.cookie.name = name;
        })
    }

    /// Where the session token travels (default: the cookie): in `Authorization: Bearer`
    /// or a named header for API clients that keep no cookies, beside the cookie or instead
    /// of it. See [`Transport`](crate::Transport).
    pub fn with_transport(self, transport: crate::transport::Transport) -> Self {
        self.with(|config| config.transport = transport)
    }

    /// The cookie's `Path` (default `/`).
    ///
    /// # Panics
    /// If `path` holds `;` or control characters.
    pub fn with_cookie_path(self, path: impl Into<Cow<'static, str>>) -> Self {
        let path = path.into();
        assert!(
            cookie::is_attribute_value(&path),
            "invalid session cookie path {path:?}"
        );
        self.with(|config| config.cookie.path = path)
    }

    /// The cookie's `Domain` (default none: this host only).
    ///
    /// # Panics
    /// If `domain` holds `;` or control characters.
    pub fn with_cookie_domain(self, domain: impl Into<Cow<'static, str>>) -> Self {
        let domain = domain.into();
        assert!(
            cookie::is_attribute_value(&domain),
            "invalid session cookie domain {domain:?}"
        );
        self.with(|config| config.cookie.domain = Some(domain))
    }

    /// The cookie's `Secure` attribute (default on: browsers send it only over HTTPS, and
    /// over plain HTTP to `localhost`). Turn it off only for a deployment served over plain
    /// HTTP to other hosts. A name starting with `__Host-` or `__Secure-`, or a
    /// `Partitioned` cookie, is `Secure` whatever this says.
    pub fn with_secure(self, secure: bool) -> Self {
        self.with(|config| config.cookie.secure = secure)
    }

    /// The cookie's `Partitioned` attribute (default off): browsers keep the cookie apart
    /// for each top-level site, for an application embedded in other sites' pages
    /// (CHIPS). A partitioned cookie is always `Secure`.
    pub fn with_partitioned(self, partitioned: bool) -> Self {
        self.with(|config| config.cookie.partitioned = partitioned)
    }

    /// The cookie's `HttpOnly` attribute (default on).
    pub fn with_http_only(self, http_only: bool) -> Self {
        self.with(|config| config.cookie.http_only = http_only)
    }

    /// The cookie's `SameSite` attribute (default `Lax`).
    pub fn with_same_site(self, same_site: SameSite) -> Self {
        self.with(|config| config.cookie.same_site = same_site)
    }

    /// `None` (the default): a browser-session cookie, dropped when the browser closes.
    /// `Some(age)`: the cookie carries `Max-Age`, renewed whenever the session is saved or
    /// its expiry refreshed (Beaker's `cookie_expires`). The server enforces expiry either way.
    /// Durations past 100 years count as 100 years (browsers keep a cookie 400 days at
    /// most, whatever it asks).
    pub fn with_cookie_max_age(self, max_age: Option<Duration>) -> Self {
        self.with(|config| config.cookie.max_age = max_age.map(|age| age.min(LONGEST)))
    }

    /// How long a session lives without requests (default 30 minutes). Enforced by the
    /// store, with millisecond precision; any request that uses the session counts.
    /// Durations past 100 years (up to `Duration::MAX`, "never") count as 100 years.
    pub fn with_idle_timeout(self, idle: Duration) -> Self {
        self.with(|config| config.idle_timeout = idle.min(LONGEST))
    }

    /// How long a session lives at most, however active (default: no limit). Durations past
    /// 100 years count as 100 years.
    pub fn with_max_lifetime(self, lifetime: Option<Duration>) -> Self {
        self.with(|config| config.max_lifetime = lifetime.map(|lifetime| lifetime.min(LONGEST)))
    }

    /// The longest [`Session::remember`](crate::Session::remember) keeps a session, whatever
    /// a route asks for (default: the absolute lifetime if the layer has one, else 400 days,
    /// as long as browsers keep a cookie). A route that remembers for longer, or a session
    /// remembered before the limit was lowered, gets the limit: a stolen cookie cannot be
    /// kept alive past it by calling that route.
    ///
    /// ```
    /// use typed_sessions::{Key, MemoryStore, SessionLayer};
    /// use std::time::Duration;
    ///
    /// let day = Duration::from_secs(24 * 60 * 60);
    /// let layer = SessionLayer::new(MemoryStore::new(), &Key::generate())
    ///     .with_max_lifetime(Some(7 * day))
    ///     .with_remember_limit(30 * day); // remember-me may outlast the 7 days, up to 30
    /// # let _ = layer;
    /// ```
    pub fn with_remember_limit(self, limit: Duration) -> Self {
        self.with(|config| config.remember_limit = Some(limit.min(LONGEST)))
    }

    /// How recently a session's user must have authenticated ([`Session::bind_owner`] on
    /// login, or [`Session::reauthenticated`]) for a handler that extracts [`Fresh`] to run
    /// (default: 5 minutes): "sudo mode" for changing a password or an e-mail address.
    ///
    /// [`Session::bind_owner`]: crate::Session::bind_owner
    /// [`Session::reauthenticated`]: crate::Session::reauthenticated
    /// [`Fresh`]: crate::Fresh
    pub fn with_freshness(self, freshness: Duration) -> Self {
        self.with(|config| config.freshness = freshness.min(LONGEST))
    }

    /// At most `max` live sessions per owner: a login (a [`bind_owner`] that starts a new
    /// session of the owner) beyond them ends the owner's oldest session
    /// ([`OverLimit::EndOldest`]) or is refused ([`OverLimit::Refuse`]). Decided in the
    /// store in one atomic step with the write of the new session
    /// ([`Store::create_owned`](crate::Store::create_owned)), so that logins in parallel,
    /// on any number of instances, never leave more than `max`. A session moving to a new
    /// id keeps its place. Server stores only: cookie sessions are not counted (a warning
    /// says so).
    ///
    /// ```
    /// use typed_sessions::{Key, MemoryStore, OverLimit, SessionLayer};
    ///
    /// // Three devices per user; a fourth login logs the oldest one out.
    /// let layer = SessionLayer::new(MemoryStore::new(), &Key::generate())
    ///     .with_session_limit(3, OverLimit::EndOldest);
    /// # let _ = layer;
    /// ```
    ///
    /// # Panics
    /// If `max` is 0: no login could ever succeed.
    ///
    /// [`bind_owner`]: crate::Session::bind_owner
    pub fn with_session_limit(self, max: usize, over: OverLimit) -> Self {
        assert!(
            max > 0,
            "a session limit of 0 refuses every login: give at least 1"
        );
        if matches!(self.config.backend, crate::backend::KeyedBackend::Cookie(_)) {
            tracing::warn!("cookie sessions are not counted: the session limit has no effect");
        }
        self.with(|config| config.session_limit = Some(SessionLimit { max, over }))
    }

    /// Moves a session to a new id, its data kept, on its first request once its id is
    /// older than `interval` (default: never): a stolen id is good for at most that long
    /// plus the [grace window](Self::with_rotation_grace), while its user keeps using the
    /// session. Durations past 100 years count as 100 years.
    ///
    /// With a server store the old id stays valid for the grace window, for requests in
    /// flight when it moved; one that comes later is a replay (a copy of the id exists),
    /// and ends the session under every id it had: the thief's copy and the user's session
    /// both, the user logging in again (the refresh-token reuse rule). The `session_replays_total`
    /// metric counts them. A cookie store moves its sessions to new ids too, but cannot tell
    /// a replay: the old cookie opens until it expires.
    ///
    /// A login ([`bind_owner`](crate::Session::bind_owner), `cycle_id()`) issues a new id as
    /// before, with no grace: the old id of a login must stop at once.
    ///
    /// ```
    /// use typed_sessions::{Key, MemoryStore, SessionLayer};
    /// use std::time::Duration;
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), &Key::generate())
    ///     .with_rotation_interval(Duration::from_secs(15 * 60))
    ///     .with_rotation_grace(Duration::from_secs(10));
    /// # let _ = layer;
    /// ```
    pub fn with_rotation_interval(self, interval: Duration) -> Self {
        self.with(|config| config.rotation_interval = Some(interval.min(LONGEST)))
    }

    /// How long an id a periodic rotation retired still leads to its session (default
    /// 10 s): long enough for the requests in flight when it moved, short enough that a
    /// copy sent later is caught. See [`with_rotation_interval`](Self::with_rotation_interval).
    pub fn with_rotation_grace(self, grace: Duration) -> Self {
        self.with(|config| config.rotation_grace = grace.min(LONGEST))
    }

    /// A read-only request renews the idle expiry only once it would move by at least this
    /// much, so that reads do not write to the store every time (default: a quarter of the
    /// idle timeout, at most a minute).
    pub fn with_refresh_interval(self, interval: Duration) -> Self {
        self.with(|config| config.refresh_interval = Some(interval.min(LONGEST)))
    }

    /// Whether responses are kept out of shared caches (default on). A request that used
    /// its session gets `Vary: Cookie` on its response (beside any `Vary` the handler set),
    /// and a response that carries the session's `Set-Cookie` gets `Cache-Control:
    /// no-store`, replacing the handler's (a cached `Set-Cookie` would hand one visitor's
    /// session to everyone the cache serves). Routes that never use their session are left
    /// as they are. Turn it off only if you set these headers yourself.
    pub fn with_cache_headers(self, on: bool) -> Self {
        self.with(|config| config.cache_headers = on)
    }

    /// When sessions are written back (default [`SaveMode::Changed`]).
    pub fn with_save_mode(self, mode: SaveMode) -> Self {
        self.with(|config| config.save_mode = mode)
    }

    /// Lets a release build start with a key from [`Key::generate`](crate::Key::generate)
    /// (refused by default: its sessions die with the process, and no other instance can
    /// read them). For a demo or a single-process tool that means it.
    pub fn with_random_key_allowed(self, allowed: bool) -> Self {
        self.with(|config| config.random_key_allowed = allowed)
    }

    /// Binds sessions to their device with DBSC ([`crate::dbsc`]): a login offers the
    /// browser to register a key, and a registered session then needs its short-lived
    /// bound cookie on every request. Mount [`Registration`](crate::dbsc::Registration)
    /// and [`Refresh`](crate::dbsc::Refresh) at the binding's paths, inside this layer
    /// (and outside a [`CsrfLayer`](crate::CsrfLayer): the browser posts to them with no
    /// token).
    ///
    /// # Panics
    /// If the bound cookie's name is not a cookie name, a path does not start with `/` or
    /// is not printable ASCII, or a lifetime is under a second.
    pub fn with_device_binding(self, binding: crate::device::DeviceBinding) -> Self {
        self.with(|config| {
            let settings =
                crate::device::DeviceSettings::new(binding, &config.cookie, &config.keys);
            config.device_binding = Some(Arc::new(settings));
        })
    }

    /// Keys that signed or sealed earlier cookies, newest first: their cookies are still
    /// accepted, and re-issued under the current key the next time they are used. Remove a
    /// key from the list to invalidate every cookie it made.
    pub fn with_previous_keys(self, previous: &[Key]) -> Self {
        self.with(|config| {
            let mut keys = vec![config.keys[0].clone()];
            keys.extend(previous.iter().cloned());
            config.set_keys(keys);
        })
    }

    /// Where the revocation times of cookie sessions are kept, so that a cookie session
    /// bound to an owner can be revoked: [`Session::log_out_everywhere`](crate::Session::log_out_everywhere) and
    /// [`Accounts::revoke_all`](crate::Accounts::revoke_all) record a time per owner there,
    /// and a cookie session bound to that owner before it is refused. A shared store
    /// (Redis, PostgreSQL) for several instances.
    ///
    /// Each request that opens a cookie session *with an owner* reads it: one store read;
    /// sessions without an owner read nothing. When it cannot be read the request is
    /// answered with the store-error status (503): fail closed. Without one, cookie
    /// sessions can have owners but cannot be revoked. Server stores do not use it.
    ///
    /// ```
    /// use typed_sessions::{CookieBackend, Key, MemoryStore, SessionLayer};
    /// let layer = SessionLayer::new(CookieBackend::sealed(), &Key::generate())
    ///     .with_revocation_store(MemoryStore::new());
    /// # let _ = layer;
    /// ```
    pub fn with_revocation_store(self, store: impl crate::store::Store) -> Self {
        let store = ObservedStore::revocations(Arc::new(store));
        self.with(|config| config.revocations = Some(store))
    }

    /// Takes over the sessions of tower-sessions, each on its next request, so that
    /// switching to this crate logs nobody out ([`crate::import`]).
    ///
    /// The rollout: deploy with the import on, keep it for one idle timeout of
    /// tower-sessions (every session still alive has come back and been taken over by
    /// then), then deploy without it.
    #[cfg(feature = "tower-sessions-import")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tower-sessions-import")))]
    pub fn with_tower_sessions_import(self, import: crate::import::TowerSessionsImport) -> Self {
        self.with(|config| config.import = Some(Arc::new(import)))
    }

    /// Tells `sink` of every session created, bound, rotated, revoked, deleted or expired
    /// ([`crate::events`]), once the store has acknowledged the change.
    ///
    /// ```
    /// use typed_sessions::events::SessionEvent;
    /// use typed_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), &Key::generate())
    ///     .with_events(|event: SessionEvent| println!("{} {}", event.kind, event.fingerprint));
    /// # let _ = layer;
    /// ```
    pub fn with_events(self, sink: impl crate::events::EventSink) -> Self {
        let events = crate::events::Events::new(sink);
        self.with(|config| config.events = Some(events))
    }

    /// Seals every record a server store holds with XChaCha20-Poly1305, under a key from
    /// the ring and the session's id ([`crate::encryption`]): a dump of the store shows no
    /// session's data. Plain records still read, and are sealed at their next save.
    /// [`Encryption::off`](crate::encryption::Encryption::off) turns it off again.
    ///
    /// ```
    /// use typed_sessions::encryption::{Encryption, KeyRing};
    /// use typed_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// let key = Key::generate();
    /// let ring = KeyRing::new(1, &key);
    /// let layer = SessionLayer::new(MemoryStore::new(), &key).with_encryption(Encryption::on(ring));
    /// # let _ = layer;
    /// ```
    pub fn with_encryption(self, encryption: crate::encryption::Encryption) -> Self {
        self.with(|config| config.encryption = Some(Arc::new(encryption)))
    }

    /// Lists and revokes the sessions of any owner, outside a request (an admin route, a
    /// background job).
    pub fn accounts(&self) -> crate::accounts::Accounts {
        crate::accounts::Accounts::new(Arc::clone(&self.config))
    }

    /// The largest `Set-Cookie` value, in bytes, a cookie store may send (default 4096, what
    /// browsers keep per cookie). A save that needs more fails with
    /// [`Error::SessionTooLarge`](crate::Error::SessionTooLarge), sends no cookie, and
    /// answers [`with_too_large_status`](Self::with_too_large_status).
    pub fn with_cookie_size_limit(self, bytes: usize) -> Self {
        self.with(|config| config.cookie_size_limit = bytes)
    }

    /// The status of the response when a cookie-stored session is too large (default 413).
    pub fn with_too_large_status(self, status: StatusCode) -> Self {
        self.with(|config| config.statuses.too_large = status)
    }

    /// The status of the response when the store fails (default 503).
    pub fn with_store_error_status(self, status: StatusCode) -> Self {
        self.with(|config| config.statuses.store = status)
    }
}
