//! Every error type of the crate, named one way: `<Thing>Error` for a component that
//! failed ([`Error`], [`StoreError`]), `Invalid<Thing>Error` for a value refused when it is
//! made, `Parse<Thing>Error` for text that does not parse, and [`SessionRejection`] for an
//! extractor that could not run. Each message says what to do.

mod rejection;

pub use crate::crypto::InvalidKeyError;
pub use crate::id::{InvalidOwnerError, ParseFingerprintError};
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use crate::store::InvalidTableNameError;
pub use crate::store::StoreError;
pub use rejection::SessionRejection;

use crate::chain::ErrorChain;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;

/// Why a session could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed (down, unreachable, out of space).
    #[error("session store failed")]
    Store(#[from] StoreError),
    /// A field's value could not be encoded with postcard.
    #[error("session field `{key}` cannot be encoded")]
    Encode {
        /// The field's storage key.
        key: &'static str,
        /// Postcard's error.
        #[source]
        source: postcard::Error,
    },
    /// A cookie-stored session grew past the cookie size limit. Nothing was sent: the
    /// client keeps its earlier session.
    #[error("session needs a {size}-byte cookie; the limit is {limit} bytes")]
    SessionTooLarge {
        /// Bytes the `Set-Cookie` value would have.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A login beyond the owner's [session limit](crate::SessionLayer::with_session_limit),
    /// with [`OverLimit::Refuse`](crate::OverLimit::Refuse): the session was not written.
    /// Answered with 409.
    #[error("this user already has {max} sessions, the most allowed: log out of one first")]
    TooManySessions {
        /// The limit.
        max: usize,
    },
    /// A [`LiveSession`](crate::live::LiveSession)'s session has ended (logged out, revoked
    /// or expired): nothing was saved. Close the socket. Answered with 401.
    #[error("the session has ended: close the socket, the user must sign in again")]
    SessionEnded,
    /// A [`LiveSession`](crate::live::LiveSession) of a cookie session was asked to save:
    /// a cookie travels only in HTTP responses, so save from an HTTP request, or keep
    /// sessions in a server store. A bug in the application, answered with 500.
    #[error(
        "a cookie session cannot be saved over a socket: save it in an HTTP request, or use a server store"
    )]
    CookieSessionOverSocket,
    /// A session bound to its device ([`crate::dbsc`]) came without a valid bound cookie:
    /// a copied session cookie, or a browser that did not refresh it. Answered with 401.
    #[error(
        "the session is bound to a device this request did not prove: refresh the bound cookie"
    )]
    DeviceNotProven,
    /// Other requests kept changing the session while this one tried to save it.
    #[error("session was changed by other requests {attempts} times while saving it")]
    Contention {
        /// Attempts made.
        attempts: u32,
    },
}

impl Error {
    /// The response status: `statuses.store` (503 by default) for store trouble,
    /// `statuses.too_large` (413 by default) for an oversized cookie, 500 for a field that
    /// cannot be encoded (a bug in the application), 501 for a listing or revocation the
    /// store cannot do, 409 for a login over the session limit.
    pub(crate) fn status(&self, statuses: Statuses) -> StatusCode {
        match self {
            Self::Store(StoreError::NoOwnerIndex) => StatusCode::NOT_IMPLEMENTED,
            Self::Store(_) | Self::Contention { .. } => statuses.store,
            Self::SessionTooLarge { .. } => statuses.too_large,
            Self::Encode { .. } | Self::CookieSessionOverSocket => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::TooManySessions { .. } => StatusCode::CONFLICT,
            Self::SessionEnded | Self::DeviceNotProven => StatusCode::UNAUTHORIZED,
        }
    }

    /// Logs the error, once, and answers it with `status`.
    pub(crate) fn respond<B: From<String>>(&self, status: StatusCode) -> http::Response<B> {
        if let Self::TooManySessions { .. } | Self::DeviceNotProven = self {
            // The user's doing (or a thief's), not a failure.
            tracing::info!(error = %ErrorChain(self), %status, "request refused");
        } else {
            tracing::error!(error = %ErrorChain(self), %status, "session failed");
        }
        let message = match self {
            Self::Store(StoreError::NoOwnerIndex) => "sessions are not listed by owner here",
            Self::Store(_) | Self::Contention { .. } => {
                "session store unavailable, try again shortly"
            }
            Self::SessionTooLarge { .. } => "session too large to store in a cookie",
            Self::Encode { .. } | Self::CookieSessionOverSocket => "session error",
            Self::SessionEnded => "session ended: sign in again",
            Self::DeviceNotProven => "this session needs its device's proof",
            Self::TooManySessions { .. } => "too many sessions: log out on another device first",
        };
        let mut response = http::Response::new(B::from(message.to_owned()));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}

/// Lets a handler return `Result<_, typed_sessions::Error>` (for `persist().await?`).
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status(Statuses::default());
        self.respond::<axum_core::body::Body>(status)
    }
}

/// The response statuses a layer uses for its errors.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Statuses {
    pub(crate) store: StatusCode,
    pub(crate) too_large: StatusCode,
}

impl Default for Statuses {
    fn default() -> Self {
        Self {
            store: StatusCode::SERVICE_UNAVAILABLE,
            too_large: StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}
