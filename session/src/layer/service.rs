//! [`SessionService`]: gives each request its session, lazily, and answers through a
//! [`ResponseFuture`].

use super::ResponseFuture;
use crate::config::Config;
use crate::request::RequestSession;
use http::{Request, Response};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// The service [`SessionLayer`](super::SessionLayer) wraps around each router or handler.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> SessionService<S> {
    pub(super) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }
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
