//! [`SessionRejection`]: why an extractor of this crate could not run.

use super::Error;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use std::fmt;

/// Why a [`Session`](struct@crate::Session), [`Fresh`](crate::Fresh),
/// [`Flash`](crate::Flash) or [`CsrfToken`](crate::CsrfToken) could not be extracted.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionRejection {
    /// The router has no [`SessionLayer`](crate::SessionLayer): a bug in the application,
    /// answered with 500.
    MissingLayer,
    /// A [`CsrfLayer`](crate::CsrfLayer) found no session: it runs outside the
    /// [`SessionLayer`](crate::SessionLayer) (or the router has none). A bug in the
    /// application, answered with 500; the message says which order works.
    CsrfOutsideSession,
    /// The store failed while loading the session; answered with the layer's store-error
    /// status (503 by default).
    Unavailable {
        /// The response status.
        status: StatusCode,
        /// What failed.
        error: Error,
    },
    /// [`Fresh`](crate::Fresh): the session's user has not authenticated within the layer's
    /// [freshness](crate::SessionLayer::with_freshness), or has no owner. Answered with 403;
    /// the session is left as it was. A handler that would rather send the user to log in
    /// again extracts `Result<Fresh<T>, SessionRejection>` and redirects on this.
    NotFresh,
    /// [`LiveSession`](crate::live::LiveSession): the upgrade request came without a live
    /// session (no cookie, or one that is forged, expired or ended). Answered with 401,
    /// before anything is upgraded.
    NoLiveSession,
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingLayer => f.write_str(
                "no session layer: add `.layer(SessionLayer::new(store, &key))` to this router, outside the routes that extract `Session`",
            ),
            Self::CsrfOutsideSession => f.write_str(
                "CsrfLayer found no session: it must run inside SessionLayer. Add CsrfLayer first and SessionLayer after it, `.layer(CsrfLayer::new()).layer(SessionLayer::new(store, &key))`: the last `.layer` call wraps the others, so it runs first",
            ),
            // The cause is the `source()`: printed here too, a chain would say it twice.
            Self::Unavailable { .. } => f.write_str("session unavailable"),
            Self::NotFresh => f.write_str("authenticate again to do this"),
            Self::NoLiveSession => f.write_str("no live session: sign in first"),
        }
    }
}

impl std::error::Error for SessionRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::MissingLayer
            | Self::CsrfOutsideSession
            | Self::NotFresh
            | Self::NoLiveSession => None,
            Self::Unavailable { error, .. } => Some(error),
        }
    }
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            // The hint is for the developer, in the log; the client learns nothing of the
            // application's insides.
            Self::MissingLayer | Self::CsrfOutsideSession => {
                tracing::error!("{self}");
                (StatusCode::INTERNAL_SERVER_ERROR, "session error").into_response()
            }
            Self::Unavailable { status, error } => error.respond(status),
            Self::NotFresh => (StatusCode::FORBIDDEN, "authenticate again").into_response(),
            Self::NoLiveSession => (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
        }
    }
}
