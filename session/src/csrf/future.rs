//! [`CsrfFuture`]: the response future of a [`CsrfService`](super::CsrfService).

use axum_core::response::Response;
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

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
    pub(super) fn through(inner: F) -> Self {
        Self {
            kind: Kind::Through { inner },
        }
    }

    pub(super) fn checked(
        future: impl Future<Output = Result<Response, E>> + Send + 'static,
    ) -> Self {
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
