//! The client-side backend: the whole session travels in the cookie.

/// Sessions kept in the cookie itself, not in a [`Store`](crate::Store): sealed
/// ([`sealed`](Self::sealed), XChaCha20-Poly1305: the client can neither read nor change
/// them) or signed ([`signed`](Self::signed), HMAC-SHA256: readable, not changeable). No
/// server-side storage is needed, so any number of servers sharing the key serve the same
/// sessions.
///
/// A `CookieBackend` is a [`Backend`](crate::layer::Backend), as every `Store` is: both
/// go to [`SessionLayer::new`](crate::SessionLayer::new). It is not a `Store`: there is
/// nothing to load, list or sweep.
///
/// # Security
/// A cookie session cannot be revoked before its deadline: `delete()` and `invalidate()`
/// clear the browser's cookie, but a copy taken earlier stays valid until its idle or
/// absolute deadline (unless the session has an owner and the layer a
/// [revocation store](crate::SessionLayer::with_revocation_store)). Keep the idle timeout
/// short, or use a server-side store where logout must end a stolen session at once.
/// Browsers keep about 4 KB per cookie; saves over
/// [`SessionLayer::with_cookie_size_limit`](crate::SessionLayer::with_cookie_size_limit)
/// fail with [`Error::SessionTooLarge`](crate::Error::SessionTooLarge).
///
/// # Example
/// ```
/// use typed_sessions::{CookieBackend, Key, SessionLayer};
/// let key = Key::generate();
/// let sealed = SessionLayer::new(CookieBackend::sealed(), &key);
/// let signed = SessionLayer::new(CookieBackend::signed(), &key);
/// # let _ = (sealed, signed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieBackend {
    pub(crate) sealing: Sealing,
}

/// How a cookie session is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sealing {
    /// Encrypted and authenticated (XChaCha20-Poly1305).
    Sealed,
    /// Authenticated only (HMAC-SHA256).
    Signed,
}

impl CookieBackend {
    /// Sessions sealed in the cookie with XChaCha20-Poly1305: the client can neither read
    /// nor change them. The one to pick unless the client must read its session.
    #[must_use]
    pub const fn sealed() -> Self {
        Self {
            sealing: Sealing::Sealed,
        }
    }

    /// Sessions signed in the cookie with HMAC-SHA256: the client can read them (base64url
    /// and postcard) but not change them. Beaker's cookie sessions.
    #[must_use]
    pub const fn signed() -> Self {
        Self {
            sealing: Sealing::Signed,
        }
    }
}
