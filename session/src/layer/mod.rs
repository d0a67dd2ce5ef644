//! The tower layer that gives each request its session and writes it back, as a
//! tower-http middleware reads: [`SessionLayer`] and its `Layer` impl here, its settings in
//! `settings.rs`, the [`SessionService`] it wraps routes in (`service.rs`), and the
//! [`ResponseFuture`] that commits the session (`future.rs`). [`Backend`] is what
//! [`SessionLayer::new`] takes.

mod future;
mod service;
mod settings;

pub use crate::backend::Backend;
pub use future::ResponseFuture;
pub(crate) use service::RequestExtension;
pub use service::SessionService;

use crate::backend::BackendKind;
use crate::config::Config;
use crate::crypto::Key;
use std::sync::Arc;
use tower_layer::Layer;

/// Adds sessions to every request of the wrapped service.
///
/// The layer costs almost nothing on a request that never extracts a [`Session`]: no cookie
/// is parsed, no store is asked, no header is set. On a request that does, the session is
/// loaded once, on first extraction, and written back after the handler returns.
///
/// # Example
/// ```
/// use axum::{Router, routing::get};
/// use typed_sessions::{Key, MemoryStore, SaveMode, Session, SessionLayer};
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
    /// holds only a signed id), a [`CookieBackend::sealed()`](crate::CookieBackend) or a
    /// [`CookieBackend::signed()`](crate::CookieBackend). Every key used is derived from `key`.
    pub fn new(backend: impl Backend, key: &Key) -> Self {
        Self {
            config: Arc::new(Config::new(BackendKind::of(backend), key)),
        }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService::new(inner, Arc::clone(&self.config))
    }
}
