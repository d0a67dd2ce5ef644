//! The two client-side backends: the whole session travels in the cookie.

/// Sessions sealed in the cookie with XChaCha20-Poly1305: the client can neither read nor
/// change them, and no server-side storage is needed, so any number of servers sharing the
/// key serve the same sessions.
///
/// # Security
/// A sealed cookie cannot be revoked before its deadline: `delete()` and `invalidate()`
/// clear the browser's cookie, but a copy taken earlier stays valid until its idle or
/// absolute deadline. Keep the idle timeout short, or use a server-side store where logout
/// must end a stolen session at once. Browsers keep about 4 KB per cookie; saves over
/// [`SessionLayer::with_cookie_size_limit`](crate::SessionLayer::with_cookie_size_limit)
/// fail with [`Error::SessionTooLarge`](crate::Error::SessionTooLarge).
///
/// # Example
/// ```
/// use session::{CookieStore, Key, SessionLayer};
/// let layer = SessionLayer::new(CookieStore::new(), &Key::generate());
/// # let _ = layer;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CookieStore {
    _private: (),
}

impl CookieStore {
    /// Sealed cookie sessions.
    #[must_use]
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

/// Sessions signed in the cookie with HMAC-SHA256: the client can read them (base64url and
/// postcard) but not change them. Beaker's cookie sessions. Prefer [`CookieStore`] unless
/// the client needs to read its session; the same revocation caveat applies.
///
/// # Example
/// ```
/// use session::{Key, SessionLayer, SignedCookieStore};
/// let layer = SessionLayer::new(SignedCookieStore::new(), &Key::generate());
/// # let _ = layer;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SignedCookieStore {
    _private: (),
}

impl SignedCookieStore {
    /// Signed cookie sessions.
    #[must_use]
    pub const fn new() -> Self {
        Self { _private: () }
    }
}
