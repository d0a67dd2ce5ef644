//! [`CsrfToken`]: the token of the request's session, for a page.

use crate::error::SessionRejection;
use axum_core::extract::FromRequestParts;
use http::request::Parts;
use std::fmt;

/// A CSRF token of the request's session, for a form or a page: put it in a hidden field
/// named [`CsrfToken::FIELD`], or have scripts send it in the [`CsrfToken::HEADER`] header.
///
/// The session's CSRF secret is created the first time a token is extracted, and saved
/// with the session; sessions that never render a form never store one. A visitor without
/// a session gets no session for it: their secret travels in a signed cookie of its own
/// (the session cookie's name with `-csrf` after it, with the same attributes), so that
/// anonymous visitors to a page with a form store nothing. Once the visitor has a session,
/// only the session's secret counts. Each extraction masks the secret afresh, so no two pages
/// show the same string (against BREACH). The secret is renewed by `cycle_id()` and
/// `bind_owner()`, and dies with `delete()` and `invalidate()`: tokens of the session
/// before that stop working.
///
/// ```
/// use typed_sessions::CsrfToken;
///
/// async fn form(token: CsrfToken) -> String {
///     format!(
///         r#"<form method="post" action="/cart"><input type="hidden" name="{}" value="{}">"#,
///         CsrfToken::FIELD,
///         token.as_str(),
///     )
/// }
/// ```
#[derive(Clone)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// A token made by [`crate::test::TestSession`].
    #[cfg(feature = "test-util")]
    pub(crate) fn new(token: String) -> Self {
        Self(token)
    }

    /// The form field [`CsrfLayer`](super::CsrfLayer) reads the token from: `csrf_token`.
    pub const FIELD: &'static str = "csrf_token";
    /// The request header [`CsrfLayer`](super::CsrfLayer) reads the token from: `x-csrf-token`.
    pub const HEADER: &'static str = "x-csrf-token";

    /// The token.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(REDACTED)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let request = crate::extract::ready(parts).await?;
        Ok(Self(request.csrf_token(&parts.headers)))
    }
}
