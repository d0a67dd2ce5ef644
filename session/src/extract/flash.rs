//! Typed flash messages: [`Flash<M>`].
//!
//! The flash feature lives where the layering puts each part: `extract/flash.rs` (the
//! `Flash<M>` extractor), `builtin/flash.rs` (the message, kept in the record) and
//! `request/flash.rs` (setting and taking it, under the request's state lock).

use super::ready;
use crate::builtin::flash::type_tag;
use crate::builtin::keys::FLASH;
use crate::error::Error;
use crate::error::SessionRejection;
use crate::request::RequestSession;
use axum_core::extract::FromRequestParts;
use http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// The session's flash message, of type `M`: set by one request ("saved!", before a
/// redirect), taken by the next that reads it, once.
///
/// - [`set`](Self::set) keeps the message for the next request; a later `set` replaces it.
///   Set after [`Session::delete`](crate::Session::delete) ("you are logged out"), it
///   starts a fresh session that carries it.
/// - [`take`](Self::take) gives the message and removes it. With a server store the removal
///   is written at once, so that of two requests taking one message at the same time, one
///   gets it. A request that finds none writes nothing, and a visitor without a session
///   gets no session from asking.
///
/// One message at a time, in any serde type: an enum covers several kinds. It is kept in
/// the session's record, so a cookie store counts it in the cookie's size.
///
/// ```
/// use axum::response::Redirect;
/// use typed_sessions::Flash;
///
/// async fn save(flash: Flash<String>) -> Result<Redirect, typed_sessions::Error> {
///     flash.set(&"Saved!".to_owned())?;
///     Ok(Redirect::to("/"))
/// }
///
/// async fn page(flash: Flash<String>) -> Result<String, typed_sessions::Error> {
///     Ok(flash.take().await?.unwrap_or_default())
/// }
/// ```
pub struct Flash<M> {
    request: Arc<RequestSession>,
    _message: PhantomData<fn() -> M>,
}

impl<M> Flash<M> {
    /// The flash messages of `request`'s session.
    pub(crate) fn of(request: Arc<RequestSession>) -> Self {
        Self {
            request,
            _message: PhantomData,
        }
    }
}

impl<M: Serialize + DeserializeOwned> Flash<M> {
    /// Keeps `message` for the next request that takes it.
    ///
    /// # Errors
    /// [`Error::Encode`] when `message` cannot be encoded.
    pub fn set(&self, message: &M) -> Result<(), Error> {
        let bytes = postcard::to_allocvec(message)
            .map_err(|source| Error::Encode { key: FLASH, source })?;
        self.request.set_flash(bytes, type_tag::<M>());
        Ok(())
    }

    /// Takes the message waiting for this session, if there is one of type `M`; it is
    /// then gone. A message of another type is left where it is.
    ///
    /// # Errors
    /// When the store fails to record the take: the message stays for a later request.
    pub async fn take(&self) -> Result<Option<M>, Error> {
        let Some(flashed) = self.request.peek_flash() else {
            return Ok(None);
        };
        let decoded = (flashed.type_tag == type_tag::<M>())
            .then(|| postcard::take_from_bytes::<M>(&flashed.message));
        let Some(Ok((message, []))) = decoded else {
            tracing::warn!(
                r#type = std::any::type_name::<M>(),
                "the flash message does not decode as this type; left in place"
            );
            return Ok(None);
        };
        let taken = self.request.take_flash(&flashed).await?;
        Ok(taken.then_some(message))
    }
}

impl<M> fmt::Debug for Flash<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flash")
            .field("type", &std::any::type_name::<M>())
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync, M: Send> FromRequestParts<S> for Flash<M> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(ready(parts).await?))
    }
}
