//! Layer settings: cookie attributes, expiry, save mode.

use crate::SessionId;
use crate::id_cookie::IdSigner;
use crate::store::Store;
use cookie::{Cookie, SameSite};
use http::{HeaderValue, StatusCode};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

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

#[derive(Clone, Debug)]
pub(crate) struct CookieConfig {
    pub(crate) name: Cow<'static, str>,
    pub(crate) path: Cow<'static, str>,
    pub(crate) domain: Option<Cow<'static, str>>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    /// `None`: a browser-session cookie.
    pub(crate) max_age: Option<Duration>,
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) signer: IdSigner,
    pub(crate) cookie: CookieConfig,
    pub(crate) save_mode: SaveMode,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_lifetime: Option<Duration>,
    /// `None`: a quarter of the idle timeout, at most a minute.
    pub(crate) refresh_interval: Option<Duration>,
    pub(crate) store_error_status: StatusCode,
}

/// What the response does to the session cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CookieChange {
    Set(SessionId),
    Expire,
}

impl Config {
    pub(crate) fn new(store: Arc<dyn Store>, signer: IdSigner) -> Self {
        Self {
            store,
            signer,
            cookie: CookieConfig {
                name: Cow::Borrowed("id"),
                path: Cow::Borrowed("/"),
                domain: None,
                secure: false,
                http_only: true,
                same_site: SameSite::Lax,
                max_age: None,
            },
            save_mode: SaveMode::Changed,
            idle_timeout: Duration::from_secs(30 * 60),
            max_lifetime: None,
            refresh_interval: None,
            store_error_status: StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// When a record saved or touched `now` expires: after the idle timeout, but never past
    /// the absolute lifetime counted from `created`.
    pub(crate) fn expiry(&self, created: SystemTime, now: SystemTime) -> SystemTime {
        let idle = now + self.idle_timeout;
        match self.max_lifetime {
            Some(lifetime) => idle.min(created + lifetime),
            None => idle,
        }
    }

    pub(crate) fn past_lifetime(&self, created: SystemTime, now: SystemTime) -> bool {
        self.max_lifetime
            .is_some_and(|lifetime| created + lifetime <= now)
    }

    pub(crate) fn refresh_interval(&self) -> Duration {
        self.refresh_interval
            .unwrap_or_else(|| (self.idle_timeout / 4).min(Duration::from_secs(60)))
    }

    pub(crate) fn set_cookie(&self, change: CookieChange) -> HeaderValue {
        let c = &self.cookie;
        let value = match change {
            CookieChange::Set(id) => self.signer.sign(&c.name, &id),
            CookieChange::Expire => String::new(),
        };
        let mut cookie = Cookie::build((c.name.as_ref(), value))
            .path(c.path.as_ref())
            .secure(c.secure)
            .http_only(c.http_only)
            .same_site(c.same_site);
        if let Some(domain) = &c.domain {
            cookie = cookie.domain(domain.as_ref());
        }
        let max_age = match change {
            CookieChange::Set(_) => c.max_age,
            CookieChange::Expire => Some(Duration::ZERO),
        };
        if let Some(max_age) = max_age {
            let seconds = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            cookie = cookie.max_age(cookie::time::Duration::seconds(seconds));
        }
        // Name, path and domain were checked when the layer was built; the value is base64url.
        HeaderValue::from_str(&cookie.build().to_string())
            .expect("session cookies are valid header values")
    }
}
