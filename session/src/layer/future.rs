//! [`ResponseFuture`]: the inner service's response, then, only if the request used its
//! session, the commit and its `Set-Cookie`.

use crate::cache;
use crate::request::RequestSession;
use http::Response;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

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
    pub(super) fn new(inner: F, session: Arc<RequestSession>) -> Self {
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
    committed: Result<(), crate::error::Error>,
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
        // A CSRF token in the body is a secret of the session's, as a new cookie is.
        let no_store = header.is_some() || session.showed_token();
        cache::mark_private(response.headers_mut(), vary, no_store);
    }
    if let Some((name, value)) = header {
        response.headers_mut().append(name, value);
    }
    if let Some(offer) = session.device_offer() {
        response
            .headers_mut()
            .append("secure-session-registration", offer.clone());
    }
    if session.showed_token()
        && let Some(cookie) = session.csrf_cookie_out()
    {
        response
            .headers_mut()
            .append(http::header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendKind;
    use crate::config::Config;
    use crate::crypto::Key;
    use crate::request::ALLOCATOR_CACHE_MAX;

    #[test]
    fn the_boxed_response_future_fits_the_allocators_per_thread_cache() {
        let kind = BackendKind::Server(Arc::new(crate::store::MemoryStore::new()));
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
