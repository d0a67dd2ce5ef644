//! The router every request benchmark drives: `/untouched`, `/read` and `/write` of a
//! counter, behind a session layer. (`examples/src/bin/bench_server.rs` serves the same
//! routes over sockets; it cannot share this file, the examples crate depends on this one.)

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use axum::routing::get;
use session::{Session, SessionLayer};
use tower::ServiceExt;

#[derive(Session, Default)]
pub(crate) struct Counter {
    count: u64,
}

/// The three routes behind `layer`, turned into services once, as `axum::serve` does
/// (`Router::into_make_service` calls `with_state(())`); otherwise axum would rebuild every
/// handler's service stack on each request.
pub(crate) fn router(layer: SessionLayer) -> Router {
    Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route(
            "/read",
            get(|c: Session<Counter>| async move { c.count().to_string() }),
        )
        .route(
            "/write",
            get(|c: Session<Counter>| async move {
                c.update_count(|n| {
                    *n += 1;
                    *n
                })
                .to_string()
            }),
        )
        .layer(layer)
        .with_state(())
}

/// Sends `GET path` with `cookie`; the `name=value` of the response's `Set-Cookie`, if any.
pub(crate) async fn call(router: &Router, path: &str, cookie: Option<&str>) -> Option<String> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(response.status().is_success());
    let set_cookie = response.headers().get(header::SET_COOKIE)?;
    Some(
        set_cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
    )
}
