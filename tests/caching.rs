//! Responses that shared caches must not store or share: the session's `Set-Cookie` with
//! `Cache-Control: no-store`, and `Vary: Cookie` on every response of a request that used
//! its session; routes that never use it untouched.

use axum::Router;
use axum::http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use axum::http::{HeaderMap, Request};
use axum::routing::get;
use tower::ServiceExt;
use typed_sessions::layer::Backend;
use typed_sessions::{CookieBackend, MemoryStore, Session, SessionLayer};
use typed_sessions_tests::key;

#[derive(typed_sessions::Session, Default)]
struct Visits {
    count: u64,
}

fn public() -> [(axum::http::HeaderName, &'static str); 2] {
    [
        (CACHE_CONTROL, "public, s-maxage=600"),
        (VARY, "Accept-Encoding"),
    ]
}

/// `/count` reads, `/visit` writes (each claiming to be publicly cacheable, as a handler
/// that does not think of the session might), `/static` never uses the session.
fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route(
            "/count",
            get(|visits: Session<Visits>| async move { (public(), visits.count().to_string()) }),
        )
        .route(
            "/visit",
            get(|visits: Session<Visits>| async move {
                visits.update_count(|n| *n += 1);
                (public(), "ok")
            }),
        )
        .route("/static", get(|| async { (public(), "asset") }))
        .layer(layer)
}

async fn headers(app: &Router, path: &str, cookie: Option<&str>) -> HeaderMap {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let request = request.body(axum::body::Body::empty()).expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert!(response.status().is_success(), "{}", response.status());
    response.headers().clone()
}

fn all<'a>(headers: &'a HeaderMap, name: &axum::http::HeaderName) -> Vec<&'a str> {
    let values = headers.get_all(name).iter();
    values.map(|value| value.to_str().expect("ascii")).collect()
}

fn session_cookie(headers: &HeaderMap) -> String {
    let set_cookie = headers.get(SET_COOKIE).expect("a session cookie");
    let set_cookie = set_cookie.to_str().expect("ascii");
    set_cookie.split(';').next().expect("pair").to_owned()
}

async fn responses_are_kept_out_of_shared_caches(store: impl Backend) {
    let app = app(SessionLayer::new(store, &key()));
    let created = headers(&app, "/visit", None).await;
    assert_eq!(
        all(&created, &CACHE_CONTROL),
        ["no-store"],
        "public replaced"
    );
    assert_eq!(all(&created, &VARY), ["Accept-Encoding", "Cookie"]);
    let cookie = session_cookie(&created);

    let read = headers(&app, "/count", Some(&cookie)).await;
    assert!(read.get(SET_COOKIE).is_none());
    assert_eq!(all(&read, &VARY), ["Accept-Encoding", "Cookie"]);
    assert_eq!(
        all(&read, &CACHE_CONTROL),
        ["public, s-maxage=600"],
        "no cookie, so the handler's caching stands (varied by Cookie)"
    );

    let untouched = headers(&app, "/static", Some(&cookie)).await;
    assert_eq!(all(&untouched, &VARY), ["Accept-Encoding"]);
    assert_eq!(all(&untouched, &CACHE_CONTROL), ["public, s-maxage=600"]);
}

#[tokio::test]
async fn server_side_sessions_are_kept_out_of_shared_caches() {
    responses_are_kept_out_of_shared_caches(MemoryStore::new()).await;
}

#[tokio::test]
async fn cookie_sessions_are_kept_out_of_shared_caches() {
    responses_are_kept_out_of_shared_caches(CookieBackend::sealed()).await;
}

#[tokio::test]
async fn cache_headers_can_be_left_to_the_application() {
    let layer = SessionLayer::new(MemoryStore::new(), &key()).with_cache_headers(false);
    let created = headers(&app(layer), "/visit", None).await;
    assert!(created.get(SET_COOKIE).is_some());
    assert_eq!(all(&created, &CACHE_CONTROL), ["public, s-maxage=600"]);
    assert_eq!(all(&created, &VARY), ["Accept-Encoding"]);
}

/// A response that hands out a CSRF token holds a secret of the session's: never stored by
/// a shared cache, whether or not it also sets the cookie. On every store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_with_a_csrf_token_are_not_stored_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, layer) in typed_sessions_tests::every_layer(&dir).await {
        let mut client = typed_sessions_tests::Client::new(typed_sessions_tests::app(layer));
        let first = client.get("/csrf").await;
        assert!(
            !first.set_cookies.is_empty(),
            "{kind:?}: the secret is saved"
        );
        let again = client.get("/csrf").await;
        assert!(again.set_cookies.is_empty(), "{kind:?}: no new cookie");
        for reply in [&first, &again] {
            assert_eq!(
                all(&reply.headers, &CACHE_CONTROL),
                ["no-store"],
                "{kind:?}"
            );
            assert_eq!(all(&reply.headers, &VARY), ["Cookie"], "{kind:?}");
        }
        let read = client.get("/session").await;
        assert!(
            read.headers.get(CACHE_CONTROL).is_none(),
            "{kind:?}: a plain read"
        );
    }
}

/// A store that fails the load answers 503, and the answer varies by the cookie like any
/// other of a request that asked for its session.
#[tokio::test]
async fn a_failed_load_still_varies_by_the_cookie() {
    let store = typed_sessions_tests::ProbeStore::new(MemoryStore::new());
    let mut client = typed_sessions_tests::Client::new(typed_sessions_tests::app(
        SessionLayer::new(store.clone(), &key()),
    ));
    client.post("/visit").await;
    store.set_down(true);
    let reply = client.get("/session").await;
    assert_eq!(reply.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(all(&reply.headers, &VARY), ["Cookie"]);
    let health = client.get("/health").await;
    assert!(
        health.headers.get(VARY).is_none(),
        "a route that never asked"
    );
}
