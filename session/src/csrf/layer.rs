//! [`CsrfLayer`]: the middleware's settings, and the layer that wraps routes in a
//! [`CsrfService`].

use super::{CsrfService, CsrfToken};
use http::HeaderName;
use std::borrow::Cow;
use std::sync::Arc;
use tower_layer::Layer;

/// Refuses unsafe requests (`POST`, `PUT`, `PATCH`, `DELETE` and any other method but
/// `GET`, `HEAD`, `OPTIONS` and `TRACE`) whose session came in a cookie unless they carry
/// a valid [`CsrfToken`] of that session: in the `x-csrf-token` header, or in the
/// `csrf_token` field of an `application/x-www-form-urlencoded` body. A refused request
/// is answered `403 Forbidden` before the handler runs, and its session is left as it was
/// (nothing saved, refreshed or sent).
///
/// Requests whose token came in a header ([`Transport`](crate::Transport)) are let
/// through: a browser never adds that header on its own, so there is no ambient credential
/// to forge with. A request without a session has no token to match, and is refused.
///
/// Add it inside the [`SessionLayer`](crate::SessionLayer) (added before it), on the
/// routes to protect:
///
/// ```
/// use axum::{Router, routing::post};
/// use typed_sessions::{CsrfLayer, Key, MemoryStore, SessionLayer};
///
/// let app: Router = Router::new()
///     .route("/cart", post(|| async { "added" }))
///     .layer(CsrfLayer::new())
///     .layer(SessionLayer::new(MemoryStore::new(), &Key::generate()));
/// ```
///
/// A multipart form cannot be read without consuming it: send its token in the header
/// (from a script), or keep such uploads on routes the layer does not cover.
#[derive(Clone, Debug)]
#[must_use = "a layer does nothing until it is added to a router with `.layer(..)`"]
pub struct CsrfLayer {
    config: Arc<CsrfConfig>,
}

#[derive(Clone, Debug)]
pub(super) struct CsrfConfig {
    pub(super) header: HeaderName,
    pub(super) field: Cow<'static, str>,
    pub(super) form_limit: usize,
}

impl Default for CsrfLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl CsrfLayer {
    /// The header `x-csrf-token`, the form field `csrf_token`, forms up to 2 MiB.
    pub fn new() -> Self {
        Self {
            config: Arc::new(CsrfConfig {
                header: HeaderName::from_static(CsrfToken::HEADER),
                field: Cow::Borrowed(CsrfToken::FIELD),
                form_limit: 2 * 1024 * 1024,
            }),
        }
    }

    /// The request header the token is read from.
    pub fn with_header(mut self, header: HeaderName) -> Self {
        Arc::make_mut(&mut self.config).header = header;
        self
    }

    /// The form field the token is read from.
    pub fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        Arc::make_mut(&mut self.config).field = field.into();
        self
    }

    /// The largest form body read for its token (default 2 MiB, axum's default body limit);
    /// a larger one is answered `413 Payload Too Large`.
    pub fn with_form_limit(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.config).form_limit = bytes;
        self
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService::new(inner, Arc::clone(&self.config))
    }
}
