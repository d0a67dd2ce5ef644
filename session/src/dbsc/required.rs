//! [`RequireDeviceBindingLayer`]: routes only a device-bound session may use.

use crate::error::SessionRejection;
use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// Refuses, with 403, every request of the routes it wraps whose session is not bound to
/// its device ([`crate::dbsc`]): for an admin area, where a browser without DBSC must not
/// go. Inside the session layer, on a route set:
///
/// ```
/// use axum::Router;
/// use axum::routing::get;
/// use typed_sessions::dbsc::{DeviceBinding, RequireDeviceBindingLayer};
/// use typed_sessions::{Key, MemoryStore, SessionLayer};
///
/// let admin: Router = Router::new()
///     .route("/admin", get(|| async { "secrets" }))
///     .route_layer(RequireDeviceBindingLayer);
/// let app: Router = Router::new().merge(admin).layer(
///     SessionLayer::new(MemoryStore::new(), &Key::generate())
///         .with_device_binding(DeviceBinding::new()),
/// );
/// # let _ = app;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RequireDeviceBindingLayer;

impl<S> Layer<S> for RequireDeviceBindingLayer {
    type Service = RequireDeviceBinding<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireDeviceBinding { inner }
    }
}

/// The service of [`RequireDeviceBindingLayer`].
#[derive(Clone, Debug)]
pub struct RequireDeviceBinding<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for RequireDeviceBinding<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The instance polled ready is the one that serves; its clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            match crate::extract::ready(&parts).await {
                Ok(session) if session.is_device_bound() => {}
                Ok(_) => {
                    let mut refused =
                        Response::new(Body::from("this page needs a device-bound session"));
                    *refused.status_mut() = StatusCode::FORBIDDEN;
                    return Ok(refused);
                }
                Err(SessionRejection::MissingLayer) => {
                    return Ok(SessionRejection::MissingLayer.into_response());
                }
                Err(rejection) => return Ok(rejection.into_response()),
            }
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}
