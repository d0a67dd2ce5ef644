//! The tower layer that gives each request its session and writes it back.

use crate::Key;
use crate::backend::{BackendKind, SessionBackend};
use crate::cache;
use crate::config::{Config, SaveMode};
use crate::cookie;
use crate::request::RequestSession;
use crate::time::LONGEST;
use ::cookie::SameSite;
use http::header::SET_COOKIE;
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};
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
    config: Arc<Config>,
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

    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// The cookie's name (default `id`). A name starting with `__Host-` makes the cookie
    /// `Secure`, `Path=/` and without `Domain` whatever else is set, as browsers require
    /// of it (the strongest binding of a cookie to its host); `__Secure-` makes it `Secure`.
    ///
    /// # Panics
    /// If `name` is empty or not a valid cookie name (RFC 6265 token).
    pub fn with_cookie_name(self, name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        assert!(
            cookie::is_token(&name),
            "invalid session cookie name {name:?}"
        );
        self.with(|config| config.cookie.name = name)
    }

    /// The cookie's `Path` (default `/`).
    ///
    /// # Panics
    /// If `path` holds `;` or control characters.
    pub fn with_cookie_path(self, path: impl Into<Cow<'static, str>>) -> Self {
        let path = path.into();
        assert!(
            cookie::is_attribute_value(&path),
            "invalid session cookie path {path:?}"
        );
        self.with(|config| config.cookie.path = path)
    }

    /// The cookie's `Domain` (default none: this host only).
    ///
    /// # Panics
    /// If `domain` holds `;` or control characters.
    pub fn with_cookie_domain(self, domain: impl Into<Cow<'static, str>>) -> Self {
        let domain = domain.into();
        assert!(
            cookie::is_attribute_value(&domain),
            "invalid session cookie domain {domain:?}"
        );
        self.with(|config| config.cookie.domain = Some(domain))
    }

    /// The cookie's `Secure` attribute (default on: browsers send it only over HTTPS, and
    /// over plain HTTP to `localhost`). Turn it off only for a deployment served over plain
    /// HTTP to other hosts. A name starting with `__Host-` or `__Secure-`, or a
    /// `Partitioned` cookie, is `Secure` whatever this says.
    pub fn with_secure(self, secure: bool) -> Self {
        self.with(|config| config.cookie.secure = secure)
    }

    /// The cookie's `Partitioned` attribute (default off): browsers keep the cookie apart
    /// for each top-level site, for an application embedded in other sites' pages
    /// (CHIPS). A partitioned cookie is always `Secure`.
    pub fn with_partitioned(self, partitioned: bool) -> Self {
        self.with(|config| config.cookie.partitioned = partitioned)
    }

    /// The cookie's `HttpOnly` attribute (default on).
    pub fn with_http_only(self, http_only: bool) -> Self {
        self.with(|config| config.cookie.http_only = http_only)
    }

    /// The cookie's `SameSite` attribute (default `Lax`).
    pub fn with_same_site(self, same_site: SameSite) -> Self {
        self.with(|config| config.cookie.same_site = same_site)
    }

    /// `None` (the default): a browser-session cookie, dropped when the browser closes.
    /// `Some(age)`: the cookie carries `Max-Age`, renewed whenever the session is saved or
    /// its expiry refreshed (Beaker's `cookie_expires`). The server enforces expiry either way.
    /// Durations past 100 years count as 100 years (browsers keep a cookie 400 days at
    /// most, whatever it asks).
    pub fn with_cookie_max_age(self, max_age: Option<Duration>) -> Self {
        self.with(|config| config.cookie.max_age = max_age.map(|age| age.min(LONGEST)))
    }

    /// How long a session lives without requests (default 30 minutes). Enforced by the
    /// store, with millisecond precision; any request that uses the session counts.
    /// Durations past 100 years (up to `Duration::MAX`, "never") count as 100 years.
    pub fn with_idle_timeout(self, idle: Duration) -> Self {
        self.with(|config| config.idle_timeout = idle.min(LONGEST))
    }

    /// How long a session lives at most, however active (default: no limit). Durations past
    /// 100 years count as 100 years.
    pub fn with_max_lifetime(self, lifetime: Option<Duration>) -> Self {
        self.with(|config| config.max_lifetime = lifetime.map(|lifetime| lifetime.min(LONGEST)))
    }

    /// A read-only request renews the idle expiry only once it would move by at least this
    /// much, so that reads do not write to the store every time (default: a quarter of the
    /// idle timeout, at most a minute).
    pub fn with_refresh_interval(self, interval: Duration) -> Self {
        self.with(|config| config.refresh_interval = Some(interval.min(LONGEST)))
    }

    /// Whether responses are kept out of shared caches (default on). A request that used
    /// its session gets `Vary: Cookie` on its response (beside any `Vary` the handler set),
    /// and a response that carries the session's `Set-Cookie` gets `Cache-Control:
    /// no-store`, replacing the handler's (a cached `Set-Cookie` would hand one visitor's
    /// session to everyone the cache serves). Routes that never use their session are left
    /// as they are. Turn it off only if you set these headers yourself.
    pub fn with_cache_headers(self, on: bool) -> Self {
        self.with(|config| config.cache_headers = on)
    }

    /// When sessions are written back (default [`SaveMode::Changed`]).
    pub fn with_save_mode(self, mode: SaveMode) -> Self {
        self.with(|config| config.save_mode = mode)
    }

    /// Keys that signed or sealed earlier cookies, newest first: their cookies are still
    /// accepted, and re-issued under the current key the next time they are used. Remove a
    /// key from the list to invalidate every cookie it made.
    pub fn with_previous_keys(self, previous: &[Key]) -> Self {
        self.with(|config| {
            let mut keys = vec![config.keys[0].clone()];
            keys.extend(previous.iter().cloned());
            config.set_keys(keys);
        })
    }

    /// Where the revocation times of cookie sessions are kept, so that a cookie session
    /// bound to an owner can be revoked: [`Session::log_out_everywhere`](crate::Session::log_out_everywhere) and
    /// [`Accounts::revoke_all`](crate::Accounts::revoke_all) record a time per owner there,
    /// and a cookie session bound to that owner before it is refused. A shared store
    /// (Redis, PostgreSQL) for several instances.
    ///
    /// Each request that opens a cookie session *with an owner* reads it: one store read;
    /// sessions without an owner read nothing. When it cannot be read the request is
    /// answered with the store-error status (503): fail closed. Without one, cookie
    /// sessions can have owners but cannot be revoked. Server stores do not use it.
    ///
    /// ```
    /// use session::{CookieStore, Key, MemoryStore, SessionLayer};
    /// let layer = SessionLayer::new(CookieStore::new(), &Key::generate())
    ///     .with_revocation_store(MemoryStore::new());
    /// # let _ = layer;
    /// ```
    pub fn with_revocation_store(self, store: impl crate::Store) -> Self {
        let store: Arc<dyn crate::Store> = Arc::new(store);
        self.with(|config| config.revocations = Some(store))
    }

    /// Lists and revokes the sessions of any owner, outside a request (an admin route, a
    /// background job).
    pub fn accounts(&self) -> crate::Accounts {
        crate::Accounts::new(Arc::clone(&self.config))
    }

    /// The largest `Set-Cookie` value, in bytes, a cookie store may send (default 4096, what
    /// browsers keep per cookie). A save that needs more fails with
    /// [`Error::SessionTooLarge`](crate::Error::SessionTooLarge), sends no cookie, and
    /// answers [`with_too_large_status`](Self::with_too_large_status).
    pub fn with_cookie_size_limit(self, bytes: usize) -> Self {
        self.with(|config| config.cookie_size_limit = bytes)
    }

    /// The status of the response when a cookie-stored session is too large (default 413).
    pub fn with_too_large_status(self, status: StatusCode) -> Self {
        self.with(|config| config.statuses.too_large = status)
    }

    /// The status of the response when the store fails (default 503).
    pub fn with_store_error_status(self, status: StatusCode) -> Self {
        self.with(|config| config.statuses.store = status)
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
    let header = match committed {
        Ok(()) => session.set_cookie(),
        Err(error) => {
            response = error.respond(error.status(session.config.statuses));
            None
        }
    };
    if session.config.cache_headers {
        cache::mark_private(response.headers_mut(), header.is_some());
    }
    if let Some(header) = header {
        response.headers_mut().append(SET_COOKIE, header);
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
