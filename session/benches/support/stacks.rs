//! The stacks and workloads the request benchmarks compare: bare axum (the ceiling), this
//! crate on its memory, file and sealed-cookie stores, and tower-sessions' `MemoryStore`.

use super::support::{call, router};
use axum::Router;
use axum::routing::get;
use session::{CookieStore, FileStore, Key, MemoryStore, SessionLayer};
use std::path::Path;

/// One stack under test: a router serving `/untouched`, `/read` and `/write`.
pub(crate) struct Stack {
    pub(crate) name: &'static str,
    pub(crate) router: Router,
}

/// Every stack, in the order the tables list them; the file store keeps its files in `dir`.
/// Each router is turned into services once, as `axum::serve` does.
pub(crate) fn all(dir: &Path) -> Vec<Stack> {
    let key = Key::from_secret(&[7; 64]).unwrap();
    let stacks = vec![
        bare(),
        noop_layer(),
        ours(
            "session MemoryStore",
            SessionLayer::new(MemoryStore::new(), &key),
        ),
        ours(
            "session FileStore",
            SessionLayer::new(FileStore::new(dir).unwrap(), &key),
        ),
        ours(
            "session CookieStore",
            SessionLayer::new(CookieStore::new(), &key),
        ),
        tower_sessions(),
    ];
    stacks
        .into_iter()
        .map(|Stack { name, router }| Stack {
            name,
            router: router.with_state(()),
        })
        .collect()
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

/// Bare axum behind a layer that does nothing: what wrapping a router in any layer costs.
fn noop_layer() -> Stack {
    let Stack { router, .. } = bare();
    Stack {
        name: "bare axum + a no-op layer",
        router: router.layer(tower::util::MapRequestLayer::new(
            std::convert::identity::<axum::extract::Request>,
        )),
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

/// One kind of request.
pub(crate) struct Workload {
    pub(crate) name: &'static str,
    pub(crate) path: &'static str,
    /// The request carries the cookie of an existing session.
    with_session: bool,
}

pub(crate) const WORKLOADS: [Workload; 4] = [
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
    pub(crate) async fn cookie(&self, router: &Router) -> Option<String> {
        if !self.with_session {
            return None;
        }
        let cookie = call(router, "/write", None).await;
        Some(cookie.unwrap_or_else(|| format!("id={}", "x".repeat(64))))
    }
}
