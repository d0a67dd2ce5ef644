//! A session's CSRF secret, kept in its record as a built-in session struct: created the
//! first time a token is asked for, renewed with the session's id and gone with the
//! session. Tokens are masked from it by [`crate::crypto::mask`]; the middleware is
//! [`crate::csrf`].
//!
//! The CSRF feature lives where the layering puts each part: `csrf/` (the extractor and the
//! middleware), `builtin/csrf.rs` (the secret, kept in the record), `request/csrf.rs` (a
//! request's token and check, under its state's lock) and `crypto/mask.rs` (the masking).

use super::builtin_session_data;
use super::keys::CSRF;

use crate::crypto::mask::SECRET_LEN;

/// The session's CSRF secret, once a token was asked for.
#[derive(Default)]
pub(crate) struct CsrfSecret {
    pub(crate) secret: Option<[u8; SECRET_LEN]>,
}

impl CsrfSecret {
    /// A fresh random secret.
    pub(crate) fn generate() -> [u8; SECRET_LEN] {
        let mut secret = [0; SECRET_LEN];
        crate::crypto::random::fill(&mut secret);
        secret
    }
}

builtin_session_data!(CsrfSecret { 0: secret at CSRF });
