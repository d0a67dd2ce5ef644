//! The extractors of a request's session: [`Session<T>`](Session) (`mod.rs`, its owner's
//! methods in `owner.rs`), typed flash messages, [`Flash<M>`](Flash) (`flash.rs`), and
//! [`Fresh<T>`](Fresh) (`fresh.rs`). [`CsrfToken`](crate::CsrfToken) is with
//! the rest of CSRF, in [`crate::csrf`].

mod flash;
mod fresh;
mod owner;

pub use flash::Flash;
pub use fresh::Fresh;

use crate::error::Error;
use crate::error::SessionRejection;
use crate::layer::RequestExtension;
use crate::request::RequestSession;
use crate::typed::SessionData;
use axum_core::extract::FromRequestParts;
use http::request::Parts;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A typed session: the struct `T` (which derives [`Session`](macro@crate::Session)) for the
/// visitor making this request.
///
/// Field accessors come from the derive and are reached through `Deref`: for a field `count`
/// there are `count()`, `set_count(v)`, `update_count(|c| ..)` and `view_count(|c| ..)`.
/// Several extractors of one request, of the same or of different structs, share one session.
///
/// Extracting is lazy and cheap: the first extraction in a request loads the record (one
/// store read, none when the request has no valid session cookie), later ones reuse it.
///
/// # Example
/// ```
/// use typed_sessions::Session;
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
    #[doc(alias = "flush")]
    pub fn delete(&self) {
        self.request.delete();
    }

    /// Ends the session and starts a fresh one (new id, default fields) that the rest of the
    /// request uses; it is saved like any new session, once a field changes.
    #[doc(alias = "clear")]
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
    /// use typed_sessions::Session;
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
    /// session at the end of the request; `delete()` and `invalidate()` forget it. Never
    /// longer than the layer's
    /// [`with_remember_limit`](crate::SessionLayer::with_remember_limit) (by default its
    /// absolute lifetime, else 400 days): a route that asks for more gets the limit.
    ///
    /// ```
    /// use typed_sessions::Session;
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
    pub fn fingerprint(&self) -> Option<crate::id::Fingerprint> {
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
        ready(parts).await.map(Self::of)
    }
}

/// The request's session, loaded (once per request).
pub(crate) async fn ready(parts: &Parts) -> Result<Arc<RequestSession>, SessionRejection> {
    let Some(RequestExtension(request)) = parts.extensions.get::<RequestExtension>().cloned()
    else {
        return Err(SessionRejection::MissingLayer);
    };
    if let Err(error) = request.ready(&parts.headers).await {
        let status = error.status(request.config.statuses);
        return Err(SessionRejection::Unavailable { status, error });
    }
    Ok(request)
}
