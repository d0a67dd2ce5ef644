//! What a handler knows of its session beyond its fields: whether it is new, and its
//! fingerprint (issue 15's first part), on a server store and in a cookie.

use axum::Router;
use axum::routing::{get, post};
use session::{
    CookieStore, FileStore, Fingerprint, MemoryStore, Session, SessionBackend, SessionLayer,
};
use session_tests::{Client, key, send};

#[derive(Session, Default)]
struct Visit {
    count: u64,
}

/// `new fingerprint` of the session, as the handler sees it.
fn describe(visit: &Session<Visit>) -> String {
    let fingerprint = visit.fingerprint().map(|f| f.to_string());
    format!(
        "{} {}",
        visit.is_new(),
        fingerprint.as_deref().unwrap_or("-")
    )
}

fn app(backend: impl SessionBackend) -> Router {
    async fn look(visit: Session<Visit>) -> String {
        describe(&visit)
    }
    async fn count(visit: Session<Visit>) -> String {
        let before = describe(&visit);
        visit.update_count(|n| *n += 1);
        before
    }
    async fn cycle(visit: Session<Visit>) -> String {
        let before = describe(&visit);
        visit.cycle_id();
        format!("{before} | {}", describe(&visit))
    }
    async fn invalidate(visit: Session<Visit>) -> String {
        visit.invalidate();
        describe(&visit)
    }
    async fn persist(visit: Session<Visit>) -> String {
        let before = describe(&visit);
        visit.update_count(|n| *n += 1);
        visit.persist().await.expect("persist");
        format!("{before} | {}", describe(&visit))
    }
    Router::new()
        .route("/look", get(look))
        .route("/count", post(count))
        .route("/cycle", post(cycle))
        .route("/invalidate", post(invalidate))
        .route("/persist", post(persist))
        .layer(SessionLayer::new(backend, &key()))
}

/// The whole story on one backend.
async fn is_new_and_fingerprint(backend: impl SessionBackend) {
    let app = app(backend);
    let mut client = Client::new(app.clone());
    assert_eq!(client.get("/look").await.body, "true -");
    assert_eq!(client.post("/count").await.body, "true -", "not stored yet");

    let first = client.get("/look").await.body;
    let (new, fingerprint) = first.split_once(' ').unwrap();
    assert_eq!(new, "false");
    let fingerprint: Fingerprint = fingerprint.parse().expect("a fingerprint");
    assert_eq!(
        client.post("/count").await.body,
        first,
        "stable while the id stays"
    );

    // The fingerprint is no credential: sent as the cookie, it opens nothing.
    let name = client.jar[0].0.clone();
    let forged = format!("{name}={fingerprint}");
    let reply = send(&app, axum::http::Method::GET, "/look", Some(&forged), "").await;
    assert_eq!(reply.body, "true -");

    // Rotation: none until the new id is written, then another one.
    let cycled = client.post("/cycle").await.body;
    assert_eq!(cycled, format!("{first} | false -"));
    let after = client.get("/look").await.body;
    assert!(after.starts_with("false "), "{after}");
    assert_ne!(after, first);

    // An ended session: what goes on is new.
    assert_eq!(client.post("/invalidate").await.body, "true -");

    // A new session written with persist(): its fingerprint is known at once.
    let mut fresh = Client::new(app);
    let persisted = fresh.post("/persist").await.body;
    let (before, now) = persisted.split_once(" | ").unwrap();
    assert_eq!(before, "true -");
    assert!(
        now.starts_with("true ") && now.len() == "true ".len() + 16,
        "{now}"
    );
    assert_eq!(
        fresh.get("/look").await.body,
        now.replacen("true", "false", 1),
        "the fingerprint persist() gave is the one the next request sees"
    );
}

#[tokio::test]
async fn a_handler_knows_whether_its_session_is_new_and_its_fingerprint_on_a_server_store() {
    is_new_and_fingerprint(MemoryStore::new()).await;
    let dir = tempfile::tempdir().unwrap();
    is_new_and_fingerprint(FileStore::new(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn a_handler_knows_whether_its_session_is_new_and_its_fingerprint_in_a_cookie() {
    is_new_and_fingerprint(CookieStore::new()).await;
}
