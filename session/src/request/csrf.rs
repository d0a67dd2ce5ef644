//! The session's CSRF secret, from a request: a token for a page, and the check of one.
//!
//! A visitor without a session gets a secret of its own in a signed cookie (the OWASP
//! "signed double-submit cookie"), so that a page that only renders a form stores nothing:
//! no record per anonymous GET. Once the visitor has a session, its secret (saved with it)
//! is the one that counts; a session created in the request that handed out a cookie's
//! token takes that cookie's secret, so the page's token keeps working.
//!
//! The CSRF feature lives where the layering puts each part: `csrf/` (the extractor and the
//! middleware), `builtin/csrf.rs` (the secret, kept in the record), `request/csrf.rs` (a
//! request's token and check, under its state's lock) and `crypto/mask.rs` (the masking).

use super::RequestSession;
use super::state::{Phase, State};
use crate::builtin::csrf::CsrfSecret;
use crate::crypto::Label;
use crate::crypto::hash::tagged_sha256;
use crate::crypto::mask::{self, SECRET_LEN};
use crate::id::SessionId;
use crate::transport::Via;
use http::{HeaderMap, HeaderValue};
use std::sync::atomic::Ordering;

/// The CSRF secret of a visitor without a session, and the cookie that keeps it.
pub(super) struct CookieSecret {
    secret: [u8; SECRET_LEN],
    /// The value of a cookie this request drew: the response sets it.
    issued: Option<String>,
}

impl RequestSession {
    /// A fresh masked token of the session's CSRF secret. A visitor without a session gets
    /// the secret of their CSRF cookie (a new one if the request brought none); a session
    /// gets its own, created the first time and saved with it.
    pub(crate) fn csrf_token(&self, headers: &HeaderMap) -> String {
        self.token_shown.store(true, Ordering::Relaxed);
        let mut state = self.lock();
        if keeps_secret_in_cookie(&state) {
            drop(state);
            return mask::mask(&self.cookie_secret(headers).secret);
        }
        let fields = state.view::<CsrfSecret>().fields();
        let secret = match fields.read(|csrf| csrf.secret) {
            Some(secret) => secret,
            None => {
                let secret = CsrfSecret::generate();
                fields.write(0, |csrf| csrf.secret = Some(secret));
                // Saved whatever the save mode: a token is no use without its secret.
                state.save_requested = true;
                secret
            }
        };
        mask::mask(&secret)
    }

    /// The secret the request's token must match: the session's, or for a visitor without
    /// a session, their CSRF cookie's. `None`: no token can match.
    pub(crate) fn csrf_secret(&self, headers: &HeaderMap) -> Option<[u8; SECRET_LEN]> {
        let mut state = self.lock();
        if keeps_secret_in_cookie(&state) {
            drop(state);
            return self.known_cookie_secret(headers).map(|known| known.secret);
        }
        let fields = state.view::<CsrfSecret>().fields();
        fields.read(|csrf| csrf.secret)
    }

    /// The `Set-Cookie` of a CSRF cookie this request drew, unless the session it created
    /// took the secret over.
    pub(crate) fn csrf_cookie_out(&self) -> Option<HeaderValue> {
        let drawn = self.csrf_cookie.get()?;
        let value = drawn.issued.as_deref()?;
        let fields = self.lock().view::<CsrfSecret>().fields();
        if fields.read(|csrf| csrf.secret == Some(drawn.secret)) {
            return None;
        }
        let cookie = crate::cookie::CookieConfig {
            name: self.config.csrf_cookie_name().into(),
            max_age: None,
            ..self.config.cookie.clone()
        };
        Some(cookie.set_cookie_lasting(Some(value), None))
    }

    /// A session the request creates takes the secret of the request's CSRF cookie (the one
    /// its token was checked against, or handed out from), so that the tokens of the
    /// visitor's pages keep working, now bound to the session.
    pub(super) fn adopt_cookie_secret(&self, state: &mut State) {
        let Some(drawn) = self.csrf_cookie.get() else {
            return;
        };
        if state.will_create(self.config.save_mode) {
            let fields = state.view::<CsrfSecret>().fields();
            if fields.read(|csrf| csrf.secret.is_none()) {
                fields.write(0, |csrf| csrf.secret = Some(drawn.secret));
            }
        }
    }

    /// This request's cookie secret: from its CSRF cookie, or drawn afresh.
    fn cookie_secret(&self, headers: &HeaderMap) -> &CookieSecret {
        if let Some(known) = self.known_cookie_secret(headers) {
            return known;
        }
        self.csrf_cookie.get_or_init(|| {
            let nonce = SessionId::random();
            let name = self.config.csrf_cookie_name();
            Box::new(CookieSecret {
                secret: secret_of(&nonce),
                issued: Some(self.config.csrf_cookie.sign(&name, &nonce)),
            })
        })
    }

    /// The cookie secret this request already has: drawn earlier in it, or from its CSRF
    /// cookie if one verifies, kept so that a session its handler creates takes it over.
    fn known_cookie_secret(&self, headers: &HeaderMap) -> Option<&CookieSecret> {
        if let Some(known) = self.csrf_cookie.get() {
            return Some(known);
        }
        let name = self.config.csrf_cookie_name();
        let nonce = self.config.csrf_cookie.find(&name, headers)?;
        Some(self.csrf_cookie.get_or_init(|| {
            Box::new(CookieSecret {
                secret: secret_of(&nonce.id),
                issued: None,
            })
        }))
    }

    /// The request is refused before its handler runs: its session is left as it was.
    pub(crate) fn refuse(&self) {
        self.lock().phase = Phase::Refused;
    }

    /// The request's token came in a header, not in an ambient cookie.
    pub(crate) fn came_by_header(&self) -> bool {
        self.lock().via == Via::Header
    }
}

/// Whether `token` was masked from `secret`.
pub(crate) fn token_matches(secret: &[u8; SECRET_LEN], token: &str) -> bool {
    mask::verify(secret, token)
}

/// A visitor without a session keeps the secret in a cookie; so does a request whose
/// handler ended its session. Tokens that travel in a header need no CSRF check at all.
fn keeps_secret_in_cookie(state: &State) -> bool {
    state.via == Via::Cookie && !state.exists()
}

/// The CSRF secret a cookie's random value stands for.
fn secret_of(nonce: &SessionId) -> [u8; SECRET_LEN] {
    tagged_sha256(Label::CsrfCookieSecret, nonce.as_bytes())
}
