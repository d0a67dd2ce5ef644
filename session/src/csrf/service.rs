//! [`CsrfService`]: a safe request goes through, an unsafe one is checked first.

use super::CsrfFuture;
use super::layer::CsrfConfig;
use crate::error::SessionRejection;
use crate::request::RequestSession;
use crate::request::csrf::token_matches;
use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// The service [`CsrfLayer`](super::CsrfLayer) wraps around routes.
#[derive(Clone, Debug)]
pub struct CsrfService<S> {
    inner: S,
    config: Arc<CsrfConfig>,
}

impl<S> CsrfService<S> {
    pub(super) fn new(inner: S, config: Arc<CsrfConfig>) -> Self {
        Self { inner, config }
    }
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
    let session = match crate::extract::ready(&parts).await {
        Ok(session) => session,
        Err(SessionRejection::MissingLayer) => {
            return Ok(SessionRejection::CsrfOutsideSession.into_response());
        }
        Err(rejection) => return Ok(rejection.into_response()),
    };
    if session.came_by_header() {
        return inner.call(Request::from_parts(parts, body)).await;
    }
    // No secret, so no token can match: refused before any of the body is read.
    let Some(secret) = session.csrf_secret(&parts.headers) else {
        return Ok(refuse(&session, &parts));
    };
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
    if !token.is_some_and(|token| token_matches(&secret, &token)) {
        return Ok(refuse(&session, &parts));
    }
    inner.call(Request::from_parts(parts, body)).await
}

/// Refuses the request: 403, and its session is left as it was.
fn refuse(session: &RequestSession, parts: &http::request::Parts) -> Response {
    session.refuse();
    // DEBUG: any site can make a browser send these, so WARN would let it flood the log.
    tracing::debug!(method = %parts.method, path = parts.uri.path(), "CSRF token missing or invalid: request refused");
    (StatusCode::FORBIDDEN, "CSRF token missing or invalid").into_response()
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
