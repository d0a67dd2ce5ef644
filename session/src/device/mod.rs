//! What device-bound sessions ([`crate::dbsc`]) keep and check below the request: the
//! layer's settings ([`DeviceBinding`], and what follows from the rest of the layer's
//! configuration), the proof a browser signs (`proof.rs`), the DBSC headers (`headers.rs`),
//! the binding kept in the record (`state.rs`) and the bound cookie (`bound.rs`). The
//! endpoints and the layer that use them are in `dbsc/` ([`crate::dbsc`]); a bound
//! session's arrival is checked, and a binding offered, in `request/device.rs`.

mod bound;
pub(crate) mod headers;
pub(crate) mod proof;
pub(crate) mod state;

pub(crate) use bound::BoundCookies;
pub(crate) use headers::registration_header;

use crate::cookie::CookieConfig;
use crate::crypto::Key;
use crate::time::unix_ms;
use state::Device;
use std::borrow::Cow;
use std::time::Duration;
use std::time::SystemTime;

/// What a request of a device-bound session gets when it comes without a valid bound
/// cookie (a copied session cookie, or a browser that stopped refreshing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unproven {
    /// Refused: the session extractor answers 401 (`Error::DeviceNotProven`).
    #[default]
    Refuse,
    /// Served as a new visitor: the session is not loaded, and the request starts afresh.
    NewVisitor,
}

/// The layer's DBSC settings
/// ([`SessionLayer::with_device_binding`](crate::SessionLayer::with_device_binding)).
///
/// ```
/// use std::time::Duration;
/// use typed_sessions::dbsc::{DeviceBinding, Unproven};
///
/// let binding = DeviceBinding::new()
///     .with_bound_cookie_lifetime(Duration::from_secs(5 * 60))
///     .with_unproven(Unproven::NewVisitor);
/// # let _ = binding;
/// ```
#[derive(Clone, Debug)]
pub struct DeviceBinding {
    pub(crate) registration_path: Cow<'static, str>,
    pub(crate) refresh_path: Cow<'static, str>,
    pub(crate) cookie_name: Cow<'static, str>,
    pub(crate) lifetime: Duration,
    pub(crate) challenge_lifetime: Duration,
    pub(crate) registration_grace: Duration,
    pub(crate) unproven: Unproven,
}

impl Default for DeviceBinding {
    fn default() -> Self {
        Self::new()
    }
}

impl DeviceBinding {
    /// The defaults: endpoints at `/dbsc/start` and `/dbsc/refresh`, the bound cookie
    /// `__Host-bound` living 10 minutes, challenges living 5 minutes, a registration grace
    /// of 10 seconds, unproven requests refused.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            registration_path: Cow::Borrowed("/dbsc/start"),
            refresh_path: Cow::Borrowed("/dbsc/refresh"),
            cookie_name: Cow::Borrowed("__Host-bound"),
            lifetime: Duration::from_secs(10 * 60),
            challenge_lifetime: Duration::from_secs(5 * 60),
            registration_grace: Duration::from_secs(10),
            unproven: Unproven::Refuse,
        }
    }

    /// Where [`Registration`](crate::dbsc::Registration) and [`Refresh`](crate::dbsc::Refresh) are mounted: what the registration header
    /// and the session instructions tell the browser.
    #[must_use]
    pub fn with_paths(
        mut self,
        registration: impl Into<Cow<'static, str>>,
        refresh: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.registration_path = registration.into();
        self.refresh_path = refresh.into();
        self
    }

    /// The bound cookie's name (default `__Host-bound`, which browsers accept only with
    /// `Secure` and `Path=/`: over plain HTTP in development, name it without the prefix).
    #[must_use]
    pub fn with_bound_cookie(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// How long a bound cookie proves the device (default 10 minutes): how long a copy of
    /// it lasts on another machine, and how often the browser signs a new challenge.
    #[must_use]
    pub const fn with_bound_cookie_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// How long a challenge can be answered (default 5 minutes).
    #[must_use]
    pub const fn with_challenge_lifetime(mut self, lifetime: Duration) -> Self {
        self.challenge_lifetime = lifetime;
        self
    }

    /// For how long after the browser registers a request with no bound cookie at all is
    /// still served as before the binding (default 10 seconds; zero refuses it).
    ///
    /// A browser registers in the background while it goes on: Chromium follows the
    /// login's redirect while its registration is under way, and that request, sent before
    /// the first bound cookie arrived, would otherwise be refused (seen with Chromium 156).
    /// A copy of the session cookie taken before the binding works that much longer; a bound
    /// cookie that is sent and invalid is refused at once.
    #[must_use]
    pub const fn with_registration_grace(mut self, grace: Duration) -> Self {
        self.registration_grace = grace;
        self
    }

    /// What a request of a bound session without a valid bound cookie gets (default
    /// [`Unproven::Refuse`]).
    #[must_use]
    pub const fn with_unproven(mut self, unproven: Unproven) -> Self {
        self.unproven = unproven;
        self
    }
}

/// A random challenge or DBSC session identifier: 128 bits, base64url.
pub(crate) fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0; 16];
    crate::crypto::random::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The layer's DBSC settings, with what follows from the rest of its configuration.
#[derive(Debug)]
pub(crate) struct DeviceSettings {
    pub(crate) binding: DeviceBinding,
    /// The bound cookie: the session cookie's `Domain`, `Secure` and `SameSite`, with
    /// `Path=/`, `HttpOnly`, the binding's lifetime, and never `Partitioned` (DBSC refuses
    /// it).
    pub(crate) cookie: CookieConfig,
    /// Its attributes, as the session instructions state them.
    pub(crate) attributes: String,
    pub(crate) cookies: BoundCookies,
}

impl DeviceSettings {
    /// `binding` beside the session cookie `session` and the layer's `keys`.
    ///
    /// # Panics
    /// On a setting no browser could follow (see [`SessionLayer::with_device_binding`]).
    ///
    /// [`SessionLayer::with_device_binding`]: crate::SessionLayer::with_device_binding
    pub(crate) fn new(binding: DeviceBinding, session: &CookieConfig, keys: &[Key]) -> Self {
        check(&binding);
        let cookie = CookieConfig {
            name: binding.cookie_name.clone(),
            path: Cow::Borrowed("/"),
            domain: session.domain.clone(),
            secure: session.secure,
            http_only: true,
            same_site: session.same_site,
            partitioned: false,
            max_age: Some(binding.lifetime),
        };
        let set_cookie = cookie.set_cookie(Some("v"));
        let attributes = set_cookie
            .to_str()
            .unwrap_or_default()
            .split("; ")
            .skip(1)
            .filter(|attribute| !attribute.starts_with("Max-Age"))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            cookies: BoundCookies::new(keys),
            binding,
            cookie,
            attributes,
        }
    }
}

/// Refuses, naming it, a setting no browser could follow.
fn check(binding: &DeviceBinding) {
    assert!(
        crate::cookie::is_token(&binding.cookie_name),
        "DBSC bound cookie name {:?} is not a valid cookie name",
        binding.cookie_name
    );
    for path in [&binding.registration_path, &binding.refresh_path] {
        assert!(
            path.starts_with('/') && registration_header(path, "c").is_some(),
            "DBSC endpoint path {path:?} must start with `/` and be printable ASCII"
        );
    }
    assert!(
        binding.lifetime >= Duration::from_secs(1)
            && binding.challenge_lifetime >= Duration::from_secs(1),
        "DBSC bound cookie and challenge lifetimes must be at least a second"
    );
}

/// Whether `device`'s bound cookie among `values` proves it at `now`.
pub(crate) fn proven<'a>(
    settings: &DeviceSettings,
    device: &Device,
    mut values: impl Iterator<Item = &'a str>,
    now: SystemTime,
) -> bool {
    let Some((id, _)) = device.bound() else {
        return false;
    };
    let now_ms = unix_ms(now);
    values.any(|value| {
        settings
            .cookies
            .expiry(&settings.cookie.name, id, value)
            .is_some_and(|expires_ms| expires_ms > now_ms)
    })
}
