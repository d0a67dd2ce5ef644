//! The session's CSRF secret, from a request: a token for a page, and the check of one.
//!
//! The CSRF feature lives where the layering puts each part: `csrf/` (the extractor and the
//! middleware), `builtin/csrf.rs` (the secret, kept in the record), `request/csrf.rs` (a
//! request's token and check, under its state's lock) and `crypto/mask.rs` (the masking).

use super::RequestSession;
use super::state::Phase;
use crate::builtin::csrf::CsrfSecret;
use crate::crypto::mask;

impl RequestSession {
    /// A fresh masked token of the session's CSRF secret. The first one creates the secret,
    /// which is then saved with the session (a new visitor's session is created for it).
    pub(crate) fn csrf_token(&self) -> String {
        self.token_shown
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let mut state = self.lock();
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

    /// Whether the session has a CSRF secret (a token was ever handed out).
    pub(crate) fn has_csrf_secret(&self) -> bool {
        let mut state = self.lock();
        let fields = state.view::<CsrfSecret>().fields();
        fields.read(|csrf| csrf.secret.is_some())
    }

    /// Whether `token` is one of this session's; never for a session without a secret.
    pub(crate) fn csrf_verify(&self, token: &str) -> bool {
        let mut state = self.lock();
        let fields = state.view::<CsrfSecret>().fields();
        fields
            .read(|csrf| csrf.secret)
            .is_some_and(|secret| mask::verify(&secret, token))
    }

    /// The request is refused before its handler runs: its session is left as it was.
    pub(crate) fn refuse(&self) {
        self.lock().phase = Phase::Refused;
    }

    /// The request's token came in a header, not in an ambient cookie.
    pub(crate) fn came_by_header(&self) -> bool {
        self.lock().via == crate::transport::Via::Header
    }
}
