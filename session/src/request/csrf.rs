//! The session's CSRF secret, from a request: a token for a page, and the check of one.

use super::RequestSession;
use crate::csrf::{self, CsrfSecret};

impl RequestSession {
    /// A fresh masked token of the session's CSRF secret. The first one creates the secret,
    /// which is then saved with the session (a new visitor's session is created for it).
    pub(crate) fn csrf_token(&self) -> String {
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
        csrf::mask(&secret)
    }

    /// Whether `token` is one of this session's; never for a session without a secret.
    pub(crate) fn csrf_verify(&self, token: &str) -> bool {
        let mut state = self.lock();
        let fields = state.view::<CsrfSecret>().fields();
        fields
            .read(|csrf| csrf.secret)
            .is_some_and(|secret| csrf::verify(&secret, token))
    }

    /// The request is refused before its handler runs: its session is left as it was.
    pub(crate) fn refuse(&self) {
        self.lock().refused = true;
    }

    /// The request's token came in a header, not in an ambient cookie.
    pub(crate) fn came_by_header(&self) -> bool {
        self.lock().via == crate::transport::Via::Header
    }
}
