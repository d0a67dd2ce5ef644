//! The one app every benchmark drives, in process (criterion, allocation counts) and over
//! sockets (`bench_server` under `load.sh`): a counter at `/untouched` (never extracts the
//! session), `/read` and `/write`, on this crate, on bare axum and on tower-sessions, and
//! `/count` (the count, to check a run's final state; not timed).
//!
//! Handlers answer a static body, so that a request's allocations and time are the session
//! layer's and the framework's, not the handler's formatting.

pub mod stacks;
#[cfg(feature = "compare")]
pub mod tower_sqlite;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use axum::routing::get;
use tower::ServiceExt;
use typed_sessions::{Session, SessionLayer};

/// The session every benchmark reads and writes.
#[derive(Session, Default, Debug)]
pub struct Counter {
    count: u64,
}

/// The three routes behind `layer`.
pub fn router(layer: SessionLayer) -> Router {
    routes::<false>(layer)
}

/// The three routes behind `layer`, on sessions bound to an owner: `/write` binds a new
/// visitor's session to one (a login), then counts. What an owned session's requests cost
/// beside an anonymous one's.
pub fn owned_router(layer: SessionLayer) -> Router {
    routes::<true>(layer)
}

/// The routes; with `OWNED`, `/write` binds a session that has no owner yet. A constant,
/// not a captured flag: a handler that captures nothing costs no allocation to call.
fn routes<const OWNED: bool>(layer: SessionLayer) -> Router {
    Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route(
            "/read",
            get(|c: Session<Counter>| async move {
                let _ = c.count();
                "ok"
            }),
        )
        .route(
            "/write",
            get(|c: Session<Counter>| async move {
                if OWNED && c.owner().is_none() {
                    c.bind_owner("bench-user").expect("an owner");
                }
                c.update_count(|n| *n += 1);
                "ok"
            }),
        )
        .route(
            "/count",
            get(|c: Session<Counter>| async move { c.count().to_string() }),
        )
        .layer(layer)
}

/// A session of about 256 bytes stored: what encryption at rest and device binding are
/// measured on.
#[derive(Session, Default, Debug)]
pub struct Padded {
    /// What `/write` counts.
    pub count: u64,
    /// 200 bytes, set at the first write.
    pub text: String,
}

/// The three routes behind `layer`, on a session whose record is about 256 bytes (its
/// text set at its first write).
pub fn padded_router(layer: SessionLayer) -> Router {
    Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route(
            "/read",
            get(|p: Session<Padded>| async move {
                let _ = p.count();
                "ok"
            }),
        )
        .route(
            "/write",
            get(|p: Session<Padded>| async move {
                if p.text().is_empty() {
                    p.set_text("x".repeat(200));
                }
                p.update_count(|n| *n += 1);
                "ok"
            }),
        )
        .layer(layer)
}

/// The three routes with no session layer: the ceiling.
pub fn bare() -> Router {
    Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route("/read", get(|| async { "ok" }))
        .route("/write", get(|| async { "ok" }))
}

/// Bare axum behind a layer that does nothing: what wrapping routes in any layer costs.
pub fn noop_layer() -> Router {
    bare().layer(tower::util::MapRequestLayer::new(
        std::convert::identity::<axum::extract::Request>,
    ))
}

/// The same three routes on tower-sessions (`$ts`: the crate, 0.14 or 0.15) over `$store`.
#[macro_export]
macro_rules! tower_sessions_router {
    ($ts:path, $store:expr) => {{
        use $ts::{Session, SessionManagerLayer};
        async fn read(session: Session) -> &'static str {
            let _ = session.get::<u64>("count").await;
            "ok"
        }
        async fn write(session: Session) -> &'static str {
            let n = session
                .get::<u64>("count")
                .await
                .ok()
                .flatten()
                .unwrap_or(0)
                + 1;
            let _ = session.insert("count", n).await;
            "ok"
        }
        async fn count(session: Session) -> String {
            let n = session
                .get::<u64>("count")
                .await
                .ok()
                .flatten()
                .unwrap_or(0);
            n.to_string()
        }
        ::axum::Router::new()
            .route("/untouched", ::axum::routing::get(|| async { "ok" }))
            .route("/read", ::axum::routing::get(read))
            .route("/write", ::axum::routing::get(write))
            .route("/count", ::axum::routing::get(count))
            .layer(SessionManagerLayer::new($store).with_secure(false))
    }};
}

/// Sends `GET path` with `cookie`; the `name=value` of the response's `Set-Cookie`, if any.
///
/// # Panics
/// If the response is not a success.
pub async fn call(router: &Router, path: &str, cookie: Option<&str>) -> Option<String> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).expect("a valid request"))
        .await
        .expect("routers are infallible");
    assert!(response.status().is_success());
    let set_cookie = response.headers().get(header::SET_COOKIE)?;
    let set_cookie = set_cookie.to_str().ok()?;
    set_cookie.split(';').next().map(str::to_owned)
}

/// `REDIS_URL`, default `redis://127.0.0.1:6379`.
#[must_use]
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `REDIS_CLUSTER_NODES` (comma-separated), default the three masters `scripts/redis-cluster`
/// starts on 7001-7003.
#[must_use]
pub fn redis_cluster_nodes() -> Vec<String> {
    std::env::var("REDIS_CLUSTER_NODES")
        .unwrap_or_else(|_| {
            "redis://127.0.0.1:7001,redis://127.0.0.1:7002,redis://127.0.0.1:7003".into()
        })
        .split(',')
        .map(str::to_owned)
        .collect()
}

/// `DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
#[must_use]
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The median of `times`.
///
/// # Panics
/// If `times` is empty.
#[must_use]
pub fn median(mut times: Vec<std::time::Duration>) -> std::time::Duration {
    times.sort();
    times[times.len() / 2]
}

/// How many rounds a bench of `rounds` alternating rounds runs, and by what its request
/// counts are divided: all of them under `cargo bench` (`--bench`); one short round under
/// `cargo test --benches`, which only checks that it runs.
#[must_use]
pub fn rounds(rounds: usize) -> (usize, u32) {
    if std::env::args().any(|arg| arg == "--bench") {
        (rounds, 1)
    } else {
        (1, 100)
    }
}
