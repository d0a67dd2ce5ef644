//! The `Session<T>` extractor and its rejection.

use crate::Error;
use crate::SessionData;
use crate::layer::RequestExtension;
use crate::request::RequestSession;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A typed session: the struct `T` (which derives [`Session`](macro@crate::Session)) for the
/// visitor making this request.
///
/// Field accessors come from the derive and are reached through `Deref`: for a field `count`
/// there are `count()`, `set_count(v)`, `update_count(|c| ..)` and `with_count(|c| ..)`.
/// Several extractors of one request, of the same or of different structs, share one session.
///
/// Extracting is lazy and cheap: the first extraction in a request loads the record (one
/// store read, none when the request has no valid session cookie), later ones reuse it.
///
/// # Example
/// ```
/// use session::Session;
///
/// #[derive(Session, Default)]
/// struct Visit {
///     count: u64,
///     user: Option<String>,
/// }
///
/// async fn index(visit: Session<Visit>) -> String {
///     let n = visit.count() + 1;
///     visit.set_count(n);
///     format!("visits: {n}")
/// }
///
/// async fn login(visit: Session<Visit>) {
///     visit.set_user(Some("ada".into()));
///     visit.cycle_id(); // a new id on login defeats session fixation
/// }
/// ```
#[must_use = "changes are saved when the request ends; dropping the extractor changes nothing"]
pub struct Session<T: SessionData> {
    fields: T::Fields,
    request: Arc<RequestSession>,
}

impl<T: SessionData> Session<T> {
    /// The extractor for `request`'s session.
    pub(crate) fn of(request: Arc<RequestSession>) -> Self {
        Self {
            fields: T::wrap(request.fields::<T>()),
            request,
        }
    }

    /// Flags the session to be saved at the end of the request, even if no field changed
    /// (with [`SaveMode::Explicit`](crate::SaveMode::Explicit), the only way to save).
    pub fn save(&self) {
        self.request.save();
    }

    /// Writes the session to the store now rather than at the end of the request.
    ///
    /// # Errors
    /// When the store fails; the response for it is `503` if returned from a handler.
    pub async fn persist(&self) -> Result<(), Error> {
        self.request.commit(std::time::SystemTime::now()).await
    }

    /// Ends the session: its record is deleted and its cookie expired when the request ends.
    /// Fields read as defaults afterwards and nothing more is saved in this request.
    pub fn delete(&self) {
        self.request.delete();
    }

    /// Ends the session and starts a fresh one (new id, default fields) that the rest of the
    /// request uses; it is saved like any new session, once a field changes.
    pub fn invalidate(&self) {
        self.request.invalidate();
    }

    /// Moves the session to a new id, keeping its data; the old id stops working. Call it
    /// when privileges change (login), against session fixation.
    pub fn cycle_id(&self) {
        self.request.cycle_id();
    }

    /// Whether the session started in this request: the request came without a live
    /// session (no cookie, or one that is forged, expired or ended), or the handler ended
    /// the one it came with (`delete()`, `invalidate()`).
    ///
    /// ```
    /// use session::Session;
    ///
    /// #[derive(Session, Default)]
    /// struct Visit {
    ///     count: u64,
    /// }
    ///
    /// async fn index(visit: Session<Visit>) -> &'static str {
    ///     if visit.is_new() { "welcome" } else { "welcome back" }
    /// }
    /// ```
    #[must_use]
    pub fn is_new(&self) -> bool {
        self.request.is_new()
    }

    /// "Remember me": keeps this session, and only this one, for `duration` from each
    /// request (its idle timeout), at least that long in all (its absolute lifetime, if the
    /// layer sets one), with a cookie that outlives the browser session (`Max-Age`).
    /// `None` takes it back: the layer's timeouts again, and its cookie. Saved with the
    /// session at the end of the request; `delete()` and `invalidate()` forget it.
    ///
    /// ```
    /// use session::Session;
    /// use std::time::Duration;
    ///
    /// #[derive(Session, Default)]
    /// struct Auth {
    ///     user: Option<String>,
    /// }
    ///
    /// async fn login(auth: Session<Auth>, remember_me: bool) {
    ///     auth.set_user(Some("ada".into()));
    ///     auth.cycle_id();
    ///     if remember_me {
    ///         auth.remember(Some(Duration::from_secs(30 * 24 * 60 * 60)));
    ///     }
    /// }
    /// ```
    pub fn remember(&self, duration: Option<std::time::Duration>) {
        self.request.remember(duration);
    }

    /// How long this session is remembered for ([`remember`](Self::remember)), if it is.
    #[must_use]
    pub fn remembered(&self) -> Option<std::time::Duration> {
        self.request.remembered()
    }

    /// The session's [`Fingerprint`](crate::Fingerprint): what names it to its user (say,
    /// in a list of their devices) without being a credential. `None` while the session has
    /// not been written yet, and from `cycle_id()` until the request writes the new id.
    #[must_use]
    pub fn fingerprint(&self) -> Option<crate::Fingerprint> {
        self.request.fingerprint()
    }
}

impl<T: SessionData> Deref for Session<T> {
    type Target = T::Fields;

    fn deref(&self) -> &T::Fields {
        &self.fields
    }
}

impl<T: SessionData> fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync, T: SessionData> FromRequestParts<S> for Session<T> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(RequestExtension(request)) = parts.extensions.get::<RequestExtension>().cloned()
        else {
            return Err(SessionRejection::MissingLayer);
        };
        if let Err(error) = request.ready(&parts.headers).await {
            let status = error.status(request.config.statuses);
            return Err(SessionRejection::Unavailable { status, error });
        }
        Ok(Self::of(request))
    }
}

/// Why a [`Session`] could not be extracted.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionRejection {
    /// The router has no [`SessionLayer`](crate::SessionLayer): a bug in the application,
    /// answered with 500.
    MissingLayer,
    /// The store failed while loading the session; answered with the layer's store-error
    /// status (503 by default).
    Unavailable {
        /// The response status.
        status: StatusCode,
        /// What failed.
        error: Error,
    },
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingLayer => f.write_str(
                "no session layer: add `.layer(SessionLayer::new(store, &key))` to this router, outside the routes that extract `Session`",
            ),
            // The cause is the `source()`: printed here too, a chain would say it twice.
            Self::Unavailable { .. } => f.write_str("session unavailable"),
        }
    }
}

impl std::error::Error for SessionRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::MissingLayer => None,
            Self::Unavailable { error, .. } => Some(error),
        }
    }
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            // The hint is for the developer, in the log; the client learns nothing of the
            // application's insides.
            Self::MissingLayer => {
                tracing::error!("{self}");
                (StatusCode::INTERNAL_SERVER_ERROR, "session error").into_response()
            }
            Self::Unavailable { status, error } => error.respond(status),
        }
    }
}
