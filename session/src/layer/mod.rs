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
    ///
    /// In a release build, a `key` from [`Key::generate`] makes the layer refuse to start
    /// (it panics when added to a router), unless
    /// [`with_random_key_allowed`](Self::with_random_key_allowed) says so: sessions under a
    /// random key die with the process and cannot be shared between instances.
    pub fn new(backend: impl Backend, key: &Key) -> Self {
        Self {
            config: Arc::new(Config::new(BackendKind::of(backend), key)),
        }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    /// # Panics
    /// In a release build whose key was generated at random, unless allowed
    /// ([`SessionLayer::new`]): refusing to start.
    fn layer(&self, inner: S) -> Self::Service {
        if let Some(refusal) = self.config.random_key_refusal(cfg!(debug_assertions)) {
            panic!("{refusal}");
        }
        SessionService::new(inner, Arc::clone(&self.config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn a_release_build_refuses_a_random_key_unless_allowed() {
        let random = SessionLayer::new(MemoryStore::new(), &Key::generate());
        let refusal = random.config.random_key_refusal(false);
        assert!(refusal.is_some_and(|why| why.contains("Key::from_secret")));
        assert_eq!(
            random.config.random_key_refusal(true),
            None,
            "debug builds start"
        );
        let allowed = random.with_random_key_allowed(true);
        assert_eq!(allowed.config.random_key_refusal(false), None);
        let secret = Key::from_secret(&[9; 64]).unwrap();
        let configured = SessionLayer::new(MemoryStore::new(), &secret);
        assert_eq!(configured.config.random_key_refusal(false), None);
        // A generated key among the previous ones is not the one that signs.
        let rotated = configured.with_previous_keys(&[Key::generate()]);
        assert_eq!(rotated.config.random_key_refusal(false), None);
    }
}
