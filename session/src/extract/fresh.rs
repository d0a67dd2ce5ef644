//! [`Fresh<T>`]: a session whose user authenticated recently ("sudo mode").
//!
//! The freshness feature lives where the layering puts each part: `extract/fresh.rs` (the
//! extractor), `builtin/owner.rs` (when the user last authenticated, kept in the record
//! beside the owner) and `request/owner.rs` (recording it on login and re-authentication).

use super::{Session, ready};
use crate::error::SessionRejection;
use crate::typed::SessionData;
use axum_core::extract::FromRequestParts;
use http::request::Parts;
use std::ops::Deref;

/// A [`Session<T>`] whose user authenticated within the layer's
/// [freshness](crate::SessionLayer::with_freshness) (default 5 minutes): on login
/// ([`Session::bind_owner`]) or by proving who they are again
/// ([`Session::reauthenticated`]). Otherwise the handler does not run: the request is
/// answered 403 ([`SessionRejection::NotFresh`]) and the session is left as it was.
///
/// For what a stolen session must not do on its own: change the password or the e-mail
/// address, add a second factor, delete the account.
///
/// ```
/// use axum::response::{IntoResponse, Redirect, Response};
/// use typed_sessions::error::SessionRejection;
/// use typed_sessions::{Fresh, Session};
///
/// #[derive(Session, Default)]
/// struct Auth {
///     name: Option<String>,
/// }
///
/// // 403 unless the user logged in or re-authenticated in the last 5 minutes.
/// async fn delete_account(auth: Fresh<Auth>) -> &'static str {
///     let _user = auth.owner();
///     "deleted"
/// }
///
/// // Or send them to re-authenticate.
/// async fn change_email(auth: Result<Fresh<Auth>, SessionRejection>) -> Response {
///     match auth {
///         Ok(_auth) => "changed".into_response(),
///         Err(SessionRejection::NotFresh) => Redirect::to("/sudo").into_response(),
///         Err(other) => other.into_response(),
///     }
/// }
/// ```
#[must_use = "changes are saved when the request ends; dropping the extractor changes nothing"]
pub struct Fresh<T: SessionData>(pub Session<T>);

impl<T: SessionData> Deref for Fresh<T> {
    type Target = Session<T>;

    fn deref(&self) -> &Session<T> {
        &self.0
    }
}

impl<T: SessionData> std::fmt::Debug for Fresh<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Fresh").field(&self.0).finish()
    }
}

impl<S: Send + Sync, T: SessionData> FromRequestParts<S> for Fresh<T> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let request = ready(parts).await?;
        let freshness = request.config.freshness;
        let session = Session::<T>::of(request);
        if session.authenticated_within(freshness) {
            Ok(Self(session))
        } else {
            Err(SessionRejection::NotFresh)
        }
    }
}
