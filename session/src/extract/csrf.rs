//! CSRF protection bound to the session: [`CsrfToken`] gives a page its token, and
//! [`CsrfLayer`] refuses unsafe requests that do not send one back.

use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderMap, HeaderName, Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use pin_project_lite::pin_project;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

use super::SessionRejection;

/// A CSRF token of the request's session, for a form or a page: put it in a hidden field
/// named [`CsrfToken::FIELD`], or have scripts send it in the [`CsrfToken::HEADER`] header.
///
/// The session's CSRF secret is created the first time a token is extracted, and saved
/// with the session (a visitor without one gets a session for it); sessions that never
/// render a form never store one. Each extraction masks the secret afresh, so no two pages
/// show the same string (against BREACH). The secret is renewed by `cycle_id()` and
/// `bind_owner()`, and dies with `delete()` and `invalidate()`: tokens of the session
/// before that stop working.
///
/// ```
/// use session::CsrfToken;
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
    /// The form field [`CsrfLayer`] reads the token from: `csrf_token`.
    pub const FIELD: &'static str = "csrf_token";
    /// The request header [`CsrfLayer`] reads the token from: `x-csrf-token`.
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
        let request = super::ready(parts).await?;
        Ok(Self(request.csrf_token()))
    }
}

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
/// use session::{CsrfLayer, Key, MemoryStore, SessionLayer};
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
struct CsrfConfig {
    header: HeaderName,
    field: Cow<'static, str>,
    form_limit: usize,
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
        CsrfService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service [`CsrfLayer`] wraps around routes.
#[derive(Clone, Debug)]
pub struct CsrfService<S> {
    inner: S,
    config: Arc<CsrfConfig>,
}

/// Methods a browser sends across sites without asking: reads, which change nothing.
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

impl<S> Service<Request<Body>> for CsrfService<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CsrfFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if is_safe(request.method()) {
            return CsrfFuture::through(self.inner.call(request));
        }
        // The instance polled ready is the one that serves; its clone waits for the next.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        CsrfFuture::checked(check(inner, Arc::clone(&self.config), request))
    }
}

pin_project! {
    /// The response future of [`CsrfService`]: a safe request goes straight through, an
    /// unsafe one is checked first.
    pub struct CsrfFuture<F, E> {
        #[pin]
        kind: Kind<F, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, E> {
        // A safe method: not checked.
        Through { #[pin] inner: F },
        // Checked, then served or refused.
        Checked { future: Pin<Box<dyn Future<Output = Result<Response, E>> + Send>> },
    }
}

impl<F, E> CsrfFuture<F, E> {
    fn through(inner: F) -> Self {
        Self {
            kind: Kind::Through { inner },
        }
    }

    fn checked(future: impl Future<Output = Result<Response, E>> + Send + 'static) -> Self {
        Self {
            kind: Kind::Checked {
                future: Box::pin(future),
            },
        }
    }
}

impl<F, E> fmt::Debug for CsrfFuture<F, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfFuture").finish_non_exhaustive()
    }
}

impl<F, E> Future for CsrfFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Through { inner } => inner.poll(cx),
            KindProj::Checked { future } => future.as_mut().poll(cx),
        }
    }
}

/// Serves `request` with `inner` if its token checks out, else answers 403.
async fn check<S>(
    mut inner: S,
    config: Arc<CsrfConfig>,
    request: Request<Body>,
) -> Result<Response, S::Error>
where
    S: Service<Request<Body>, Response = Response>,
{
    let (parts, body) = request.into_parts();
    let session = match super::ready(&parts).await {
        Ok(session) => session,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    if session.came_by_header() {
        return inner.call(Request::from_parts(parts, body)).await;
    }
    let (token, body) = match header_token(&parts.headers, &config.header) {
        Some(token) => (Some(token), body),
        None if is_form(&parts.headers) => {
            let Ok(collected) = Limited::new(body, config.form_limit).collect().await else {
                session.refuse();
                return Ok(StatusCode::PAYLOAD_TOO_LARGE.into_response());
            };
            let bytes = collected.to_bytes();
            let token = form_urlencoded::parse(&bytes)
                .find(|(name, _)| *name == config.field)
                .map(|(_, value)| value.into_owned());
            (token, Body::from(bytes))
        }
        None => (None, body),
    };
    if !token.is_some_and(|token| session.csrf_verify(&token)) {
        session.refuse();
        tracing::warn!(method = %parts.method, path = parts.uri.path(), "CSRF token missing or invalid: request refused");
        return Ok((StatusCode::FORBIDDEN, "CSRF token missing or invalid").into_response());
    }
    inner.call(Request::from_parts(parts, body)).await
}

fn header_token(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(value.to_owned())
}

/// A body a plain HTML form posts.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_safe_and_writes_are_not() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(is_safe(&method), "{method}");
        }
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(!is_safe(&method), "{method}");
        }
        assert!(!is_safe(&Method::from_bytes(b"PROPFIND").unwrap()));
    }

    #[test]
    fn forms_are_known_by_their_content_type() {
        let mut headers = HeaderMap::new();
        assert!(!is_form(&headers));
        for (value, form) in [
            ("application/x-www-form-urlencoded", true),
            ("Application/X-WWW-Form-Urlencoded; charset=UTF-8", true),
            ("multipart/form-data; boundary=x", false),
            ("application/json", false),
        ] {
            headers.insert(CONTENT_TYPE, value.parse().unwrap());
            assert_eq!(is_form(&headers), form, "{value}");
        }
    }
}
