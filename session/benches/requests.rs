//! Whole requests through a real axum `Router` (in process, `tower::ServiceExt::oneshot`),
//! for four workloads, on bare axum (no session layer: the ceiling), this crate with its
//! memory, file and sealed-cookie stores, and tower-sessions with its `MemoryStore`, all in
//! one run so that the ratios hold on a noisy machine.
//!
//! `cargo bench -p session --bench requests`

#[path = "support/router.rs"]
mod support;

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use session::{CookieStore, FileStore, Key, MemoryStore, SessionLayer};
use std::time::Duration;
use support::{call, router};

/// One stack under test: a router serving `/untouched`, `/read` and `/write`.
struct Stack {
    name: &'static str,
    router: Router,
}

fn ours(name: &'static str, layer: SessionLayer) -> Stack {
    Stack {
        name,
        router: router(layer),
    }
}

fn tower_sessions() -> Stack {
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
    async fn read(session: Session) -> String {
        session
            .get::<u64>("count")
            .await
            .unwrap()
            .unwrap_or(0)
            .to_string()
    }
    async fn write(session: Session) -> String {
        let n = session.get::<u64>("count").await.unwrap().unwrap_or(0) + 1;
        session.insert("count", n).await.unwrap();
        n.to_string()
    }
    let router = Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route("/read", get(read))
        .route("/write", get(write))
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false));
    Stack {
        name: "tower-sessions MemoryStore",
        router,
    }
}

fn bare() -> Stack {
    let router = Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route("/read", get(|| async { "0" }))
        .route("/write", get(|| async { "1" }));
    Stack {
        name: "bare axum",
        router,
    }
}

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let key = Key::from_secret(&[7; 64]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stacks = [
        bare(),
        ours(
            "session MemoryStore",
            SessionLayer::new(MemoryStore::new(), &key),
        ),
        ours(
            "session FileStore",
            SessionLayer::new(FileStore::new(dir.path()).unwrap(), &key),
        ),
        ours(
            "session CookieStore",
            SessionLayer::new(CookieStore::new(), &key),
        ),
        tower_sessions(),
    ];
    for (workload, path, with_session) in [
        ("untouched route", "/untouched", true),
        ("read existing session", "/read", true),
        ("write existing session", "/write", true),
        ("write from a new visitor", "/write", false),
    ] {
        let mut group = c.benchmark_group(workload);
        group
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        for stack in &stacks {
            // An existing session: one write to create it, its cookie sent from then on. A
            // cookie store's cookie changes on every write: the read and untouched workloads
            // reuse the first one, the write workload keeps sending it (a stale but valid
            // cookie, as from a browser tab that lags behind).
            let cookie = if with_session {
                runtime.block_on(call(&stack.router, "/write", None))
            } else {
                None
            };
            group.bench_function(stack.name, |b| {
                b.to_async(&runtime)
                    .iter(|| call(&stack.router, path, cookie.as_deref()));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, requests);
criterion_main!(benches);
