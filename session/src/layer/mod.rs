//! The tower layer that gives each request its session and writes it back; its settings
//! are in `settings`.

mod settings;

use crate::Key;
use crate::backend::{BackendKind, SessionBackend};
use crate::cache;
use crate::config::Config;
use crate::request::RequestSession;
use http::{Request, Response};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;
use tower_layer::Layer;
use tower_service::Service;

/// Adds sessions to every request of the wrapped service.
///
/// The layer costs almost nothing on a request that never extracts a [`Session`]: no cookie
/// is parsed, no store is asked, no header is set. On a request that does, the session is
/// loaded once, on first extraction, and written back after the handler returns.
///
/// # Example
/// ```
/// use axum::{Router, routing::get};
/// use session::{Key, MemoryStore, SaveMode, Session, SessionLayer};
/// use std::time::Duration;
///
/// #[derive(Session, Default)]
/// struct Visit {
///     count: u64,
/// }
///
/// async fn index(visit: Session<Visit>) -> String {
///     visit.update_count(|n| *n += 1);
///     format!("visits: {}", visit.count())
/// }
///
/// let layer = SessionLayer::new(MemoryStore::new(), &Key::generate())
///     .with_cookie_name("sid")
///     .with_secure(true)
///     .with_idle_timeout(Duration::from_secs(3600))
///     .with_save_mode(SaveMode::Changed);
/// let app: Router = Router::new().route("/", get(index)).layer(layer);
/// ```
///
/// [`Session`]: struct@crate::Session
#[derive(Clone, Debug)]
#[must_use = "a layer does nothing until it is added to a router with `.layer(..)`"]
pub struct SessionLayer {
    pub(super) config: Arc<Config>,
}

impl SessionLayer {
    /// Sessions kept in `backend`: a server-side [`Store`](crate::Store) (the cookie then
    /// holds only a signed id), a [`CookieStore`](crate::CookieStore) or a
    /// [`SignedCookieStore`](crate::SignedCookieStore). Every key used is derived from `key`.
    pub fn new(backend: impl SessionBackend, key: &Key) -> Self {
        Self {
            config: Arc::new(Config::new(BackendKind::of(backend), key)),
        }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service [`SessionLayer`] wraps around each router or handler.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    config: Arc<Config>,
}

/// The request extension through which extractors reach the request's session (one per
/// request, inserted by [`SessionService`]).
#[derive(Clone)]
pub(crate) struct RequestExtension(pub(crate) Arc<RequestSession>);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let session = Arc::new(RequestSession::new(Arc::clone(&self.config)));
        request
            .extensions_mut()
            .insert(RequestExtension(Arc::clone(&session)));
        // Called here, not from the future: the instance polled ready is the one called,
        // without the clone tower's usual dance needs.
        ResponseFuture::new(self.inner.call(request), session)
    }
}

pin_project! {
    /// The response future of [`SessionService`]: the inner service's response, then, only
    /// if the request used its session, the commit and its `Set-Cookie`.
    pub struct ResponseFuture<F, B> {
        #[pin]
        inner: F,
        session: Arc<RequestSession>,
        commit: Option<Pin<Box<dyn Future<Output = Response<B>> + Send>>>,
    }
}

impl<F, B> ResponseFuture<F, B> {
    fn new(inner: F, session: Arc<RequestSession>) -> Self {
        Self {
            inner,
            session,
            commit: None,
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<String> + Send + 'static,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(commit) = this.commit {
            return commit.as_mut().poll(cx).map(Ok);
        }
        let response = std::task::ready!(this.inner.poll(cx))?;
        // The common case, a route that never used its session: no allocation, no I/O.
        if !this.session.is_used() {
            return Poll::Ready(Ok(response));
        }
        // Next, a commit that needs no store I/O (a read, or any cookie-store session) is
        // done here, without boxing a future for it.
        let now = SystemTime::now();
        if let Some(committed) = this.session.commit_now(now) {
            return Poll::Ready(Ok(respond(this.session, committed, response)));
        }
        let commit = this
            .commit
            .insert(Box::pin(finish(Arc::clone(this.session), response, now)));
        commit.as_mut().poll(cx).map(Ok)
    }
}

/// Writes the session back, then [`respond`]s.
async fn finish<B: From<String>>(
    session: Arc<RequestSession>,
    response: Response<B>,
    now: SystemTime,
) -> Response<B> {
    let committed = session.commit(now).await;
    respond(&session, committed, response)
}

/// Sets the session's cookie on `response`, or answers the commit's failure instead.
fn respond<B: From<String>>(
    session: &RequestSession,
    committed: Result<(), crate::Error>,
    mut response: Response<B>,
) -> Response<B> {
    let (via, header) = match committed {
        Ok(()) => session.token_out(),
        Err(error) => {
            response = error.respond(error.status(session.config.statuses));
            (session.via(), None)
        }
    };
    if session.config.cache_headers {
        let vary = session.config.transport.vary(via);
        cache::mark_private(response.headers_mut(), vary, header.is_some());
    }
    if let Some((name, value)) = header {
        response.headers_mut().append(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendKind;
    use crate::request::ALLOCATOR_CACHE_MAX;

    #[test]
    fn the_boxed_response_future_fits_the_allocators_per_thread_cache() {
        let kind = BackendKind::Server(Arc::new(crate::MemoryStore::new()));
        let config = Config::new(kind, &Key::from_secret(&[1; 64]).unwrap());
        let session = Arc::new(RequestSession::new(Arc::new(config)));
        let response = Response::new(axum_core::body::Body::empty());
        let finish = finish(session, response, SystemTime::now());
        let size = std::mem::size_of_val(&finish);
        assert!(
            size <= ALLOCATOR_CACHE_MAX,
            "the layer's box is {size} bytes"
        );
    }
}
