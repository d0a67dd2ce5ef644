//! Heap allocations per request, counted: a budget for what the session layer may add to a
//! request on top of a layer that does nothing. A count, not a timing, so it is the same on
//! every machine; each allocation is also a trip through the allocator, which costs far more
//! on a large, fragmented heap than in a benchmark. The figures for every stack are printed
//! by `cargo bench -p typed-sessions-bench --bench allocations`, on the same router.
//!
//! Its own test binary: the counting allocator sees every thread of its process.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use tower::ServiceExt;
use typed_sessions::{CookieBackend, Key, MemoryStore, SessionLayer};
use typed_sessions_bench::router;
use typed_sessions_tests::send;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Sends `GET path` with `cookie` and checks only the status: nothing of the response is
/// read that would allocate on the test's behalf.
async fn call(router: &Router, path: &str, cookie: &str) {
    let request = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert!(response.status().is_success());
}

/// Allocations per request of `path`, averaged over many, after a warm-up.
fn allocations(
    runtime: &tokio::runtime::Runtime,
    router: &Router,
    path: &str,
    cookie: &str,
) -> f64 {
    const REQUESTS: u32 = 200;
    for _ in 0..20 {
        runtime.block_on(call(router, path, cookie));
    }
    let region = Region::new(GLOBAL);
    for _ in 0..REQUESTS {
        runtime.block_on(call(router, path, cookie));
    }
    let change = region.change();
    (change.allocations + change.reallocations) as f64 / f64::from(REQUESTS)
}

#[test]
fn the_session_layer_stays_within_its_allocation_budget() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let key = Key::from_secret(&[7; 64]).unwrap();
    // Routers turned into services once, as `axum::serve` does.
    let noop = typed_sessions_bench::noop_layer().with_state(());
    let baseline = allocations(&runtime, &noop, "/untouched", "id=x");

    // The most allocations the layer may add to each workload. Untouched: the per-request
    // state, the request extension that carries it, and the extension table growing to
    // hold it. A read adds the record's bytes (the memory store's copy, or the opened
    // cookie), the typed state and, for a server store, the store call's boxed future. A
    // write adds the encoded change and the new record; then for a server store the boxed
    // commit, its boxed write and the save's boxed future, and for a cookie store the
    // sealed value, its base64 and the `Set-Cookie` header.
    let stacks = [
        (
            "memory",
            SessionLayer::new(MemoryStore::new(), &key),
            [3.0, 6.0, 11.0],
        ),
        (
            "cookie",
            SessionLayer::new(CookieBackend::sealed(), &key),
            [3.0, 5.0, 11.0],
        ),
    ];
    for (name, layer, budgets) in stacks {
        let router = router(layer).with_state(());
        let reply = runtime.block_on(send(&router, Method::GET, "/write", None, ""));
        let cookie = reply.set_cookie().expect("a new session sets its cookie");
        let cookie = format!("{}={}", cookie.name(), cookie.value());
        for (path, budget) in ["/untouched", "/read", "/write"].into_iter().zip(budgets) {
            let added = allocations(&runtime, &router, path, &cookie) - baseline;
            println!("{name} {path}: {added:.1} allocations over a no-op layer");
            assert!(
                added <= budget,
                "{name} {path}: the layer added {added:.1} allocations per request, over its budget of {budget}"
            );
        }
    }
}
