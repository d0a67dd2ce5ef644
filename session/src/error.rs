//! The crate's error type.

use crate::store::StoreError;
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
    /// Other requests kept changing the session while this one tried to save it.
    #[error("session was changed by other requests {attempts} times while saving it")]
    Contention {
        /// Attempts made.
        attempts: u32,
    },
}

impl Error {
    /// The response status: `store_status` (503 by default) for store trouble, 500 for a
    /// field that cannot be encoded (a bug in the application).
    pub(crate) fn status(&self, store_status: StatusCode) -> StatusCode {
        match self {
            Self::Store(_) | Self::Contention { .. } => store_status,
            Self::Encode { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Logs the error (once) and gives the status and body of the response that reports it.
    pub(crate) fn report(&self, store_status: StatusCode) -> (StatusCode, &'static str) {
        let status = self.status(store_status);
        tracing::error!(error = %ErrorChain(self), %status, "session failed");
        let message = match self {
            Self::Encode { .. } => "session error",
            _ => "session store unavailable, try again shortly",
        };
        (status, message)
    }
}

/// Lets a handler return `Result<_, session::Error>` (for `persist().await?`).
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.report(StatusCode::SERVICE_UNAVAILABLE).into_response()
    }
}

/// Displays an error with its sources: "session store failed: ...: connection refused".
pub(crate) struct ErrorChain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}
