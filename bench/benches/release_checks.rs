//! Not a benchmark: what a release build does that a debug build (every test's) does not,
//! checked where CI builds with the bench profile (optimized, no debug assertions):
//! `cargo test -p typed-sessions-bench --benches` runs it.
//!
//! A layer whose key `Key::generate` made refuses to start (it panics as the router is
//! built), unless `with_random_key_allowed(true)` says so; a key from a secret starts.

use axum::Router;
use axum::routing::get;
use std::panic::{AssertUnwindSafe, catch_unwind};
use typed_sessions::{Key, MemoryStore, SessionLayer};

/// Whether a router behind `layer` starts (its services built, as `axum::serve` does).
fn starts(layer: SessionLayer) -> bool {
    let build = || {
        let router: Router = Router::new()
            .route("/", get(|| async { "ok" }))
            .layer(layer);
        router.into_make_service()
    };
    catch_unwind(AssertUnwindSafe(build)).is_ok()
}

fn main() {
    let release = !cfg!(debug_assertions);
    // The refusal's message, once, without a backtrace; the check is its outcome.
    std::panic::set_hook(Box::new(|info| eprintln!("refused, as it should: {info}")));
    let random = SessionLayer::new(MemoryStore::new(), &Key::generate());
    assert_eq!(
        starts(random.clone()),
        !release,
        "a random key starts only in debug builds"
    );
    assert!(
        starts(random.with_random_key_allowed(true)),
        "allowed, it starts"
    );
    let secret = Key::from_secret(&[3; 64]).expect("64 bytes");
    assert!(starts(SessionLayer::new(MemoryStore::new(), &secret)));
    println!("release checks passed (release build: {release})");
}
