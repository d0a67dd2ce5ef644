//! The stacks and workloads the in-process benchmarks compare: bare axum (the ceiling), a
//! no-op layer, this crate on its memory (anonymous and owned sessions), file and
//! sealed-cookie stores, and tower-sessions' `MemoryStore`.

use crate::{bare, call, noop_layer, router};
use axum::Router;
use std::path::Path;
use typed_sessions::encryption::{Encryption, KeyRing};
use typed_sessions::{CookieBackend, FileStore, Key, MemoryStore, SessionLayer};

/// One stack under test: a router serving `/untouched`, `/read` and `/write`.
#[derive(Debug)]
pub struct Stack {
    /// Its name in the tables.
    pub name: &'static str,
    /// Its routes, turned into services once.
    pub router: Router,
}

/// Every stack, in the order the tables list them; the file store keeps its files in `dir`.
///
/// Each router is turned into services once, as `axum::serve` does
/// (`Router::into_make_service` calls `with_state(())`); otherwise axum would rebuild every
/// handler's service stack on each request.
///
/// # Panics
/// If `dir` cannot hold a file store.
pub fn all(dir: &Path) -> Vec<Stack> {
    let key = Key::from_secret(&[7; 64]).expect("64 bytes");
    let stacks = [
        ("bare axum", bare()),
        ("bare axum + a no-op layer", noop_layer()),
        (
            "session MemoryStore",
            router(SessionLayer::new(MemoryStore::new(), &key)),
        ),
        (
            "session MemoryStore, owned",
            crate::owned_router(SessionLayer::new(MemoryStore::new(), &key)),
        ),
        (
            "session MemoryStore, 256 B",
            crate::padded_router(SessionLayer::new(MemoryStore::new(), &key)),
        ),
        (
            "session MemoryStore, 256 B, encryption off",
            crate::padded_router(
                SessionLayer::new(MemoryStore::new(), &key)
                    .with_encryption(Encryption::off(KeyRing::new(1, &key))),
            ),
        ),
        (
            "session MemoryStore, 256 B, encrypted",
            crate::padded_router(
                SessionLayer::new(MemoryStore::new(), &key)
                    .with_encryption(Encryption::on(KeyRing::new(1, &key))),
            ),
        ),
        (
            "session FileStore",
            router(SessionLayer::new(
                FileStore::open(dir).expect("a writable dir"),
                &key,
            )),
        ),
        (
            "session CookieBackend",
            router(SessionLayer::new(CookieBackend::sealed(), &key)),
        ),
        (
            "tower-sessions MemoryStore",
            crate::tower_sessions_router!(
                ::tower_sessions,
                ::tower_sessions::MemoryStore::default()
            ),
        ),
    ];
    stacks
        .into_iter()
        .map(|(name, router)| Stack {
            name,
            router: router.with_state(()),
        })
        .collect()
}

/// One kind of request.
#[derive(Debug)]
pub struct Workload {
    /// Its name in the tables.
    pub name: &'static str,
    /// The route it requests.
    pub path: &'static str,
    /// The request carries the cookie of an existing session.
    with_session: bool,
}

/// The workloads, in the order the tables list them.
pub const WORKLOADS: [Workload; 4] = [
    Workload {
        name: "untouched route",
        path: "/untouched",
        with_session: true,
    },
    Workload {
        name: "read existing session",
        path: "/read",
        with_session: true,
    },
    Workload {
        name: "write existing session",
        path: "/write",
        with_session: true,
    },
    Workload {
        name: "write from a new visitor",
        path: "/write",
        with_session: false,
    },
];

impl Workload {
    /// The cookie every request of this workload sends. An existing session: one write to
    /// create it, its cookie sent from then on. A cookie store's cookie changes on every
    /// write: the read and untouched workloads reuse the first one, the write workload keeps
    /// sending it (a stale but valid cookie, as from a browser tab that lags behind). Bare
    /// axum sets no cookie; it gets one of the same size, so that every stack parses the
    /// same request.
    pub async fn cookie(&self, router: &Router) -> Option<String> {
        if !self.with_session {
            return None;
        }
        let cookie = call(router, "/write", None).await;
        Some(cookie.unwrap_or_else(|| format!("id={}", "x".repeat(64))))
    }
}
