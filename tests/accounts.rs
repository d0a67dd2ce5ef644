//! What a handler knows of its session beyond its fields (whether it is new, its
//! fingerprint) and "remember me", a lifetime of its own: issue 15's first part, on every
//! store.

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use futures_util::future::join_all;
use std::time::Duration;
use typed_sessions::layer::Backend;
use typed_sessions::{CookieBackend, Fingerprint, MemoryStore, Session, SessionLayer};
use typed_sessions_tests::{Client, ProbeStore, every_layer, key, send};

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

fn app(layer: SessionLayer) -> Router {
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
        .layer(layer)
}

/// The whole story on one backend.
async fn is_new_and_fingerprint(layer: SessionLayer) {
    let app = app(layer);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_knows_whether_its_session_is_new_and_its_fingerprint_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (_, layer) in every_layer(&dir).await {
        is_new_and_fingerprint(layer).await;
    }
}

#[derive(Session, Default)]
struct Auth {
    user: Option<String>,
}

/// Sessions that die after 1 s idle and 1 s in all, unless remembered.
fn short_lived(layer: SessionLayer) -> Router {
    async fn login(auth: Session<Auth>) {
        auth.set_user(Some("ada".into()));
        auth.cycle_id();
    }
    async fn remember(auth: Session<Auth>, Path(secs): Path<u64>) {
        auth.remember((secs > 0).then(|| Duration::from_secs(secs)));
    }
    async fn who(auth: Session<Auth>) -> String {
        let remembered = auth.remembered().map_or(0, |d| d.as_secs());
        format!("{} {remembered}", auth.user().as_deref().unwrap_or("-"))
    }
    async fn end(auth: Session<Auth>, Path(how): Path<String>) -> String {
        if how == "delete" {
            auth.delete();
        } else {
            auth.invalidate();
        }
        format!("{:?}", auth.remembered())
    }
    Router::new()
        .route("/login", post(login))
        .route("/remember/{secs}", post(remember))
        .route("/end/{how}", post(end))
        .route("/who", get(who))
        .layer(
            layer
                .with_idle_timeout(Duration::from_secs(1))
                .with_max_lifetime(Some(Duration::from_secs(1)))
                // Remember-me may outlast the lifetime only because the layer says so.
                .with_remember_limit(Duration::from_secs(24 * 3600)),
        )
}

/// Two users log in; one is remembered for an hour. After 1.3 s only that one is still in,
/// with a cookie that lasts an hour. Taking it back gives the layer's lifetime again (long
/// past by then) and a cookie without `Max-Age`.
async fn remember_me(layer: SessionLayer) {
    let app = short_lived(layer);
    let (mut remembered, mut forgotten) = (Client::new(app.clone()), Client::new(app));
    forgotten.post("/login").await;
    remembered.post("/login").await;
    let reply = remembered.post("/remember/3600").await;
    let cookie = reply.set_cookie().expect("the cookie, sent again");
    assert_eq!(
        cookie.max_age(),
        Some(cookie::time::Duration::hours(1)),
        "{cookie}"
    );
    assert_eq!(remembered.get("/who").await.body, "ada 3600");

    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        forgotten.get("/who").await.body,
        "- 0",
        "past the layer's lifetime"
    );
    assert_eq!(remembered.get("/who").await.body, "ada 3600", "remembered");

    let reply = remembered.post("/remember/0").await;
    let cookie = reply.set_cookie().expect("the cookie, sent again");
    assert_eq!(cookie.max_age(), None, "{cookie}");
    assert_eq!(
        remembered.get("/who").await.body,
        "- 0",
        "past the layer's lifetime"
    );
}

#[tokio::test]
async fn deleting_or_invalidating_a_remembered_session_forgets_it() {
    for how in ["delete", "invalidate"] {
        for app in [
            short_lived(SessionLayer::new(MemoryStore::new(), &key())),
            short_lived(SessionLayer::new(CookieBackend::sealed(), &key())),
        ] {
            let mut client = Client::new(app);
            client.post("/login").await;
            client.post("/remember/3600").await;
            assert_eq!(client.get("/who").await.body, "ada 3600");
            assert_eq!(client.post(&format!("/end/{how}")).await.body, "None");
            assert_eq!(client.get("/who").await.body, "- 0", "{how}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_me_gives_one_session_a_longer_life_and_takes_it_back_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let layers = every_layer(&dir).await;
    join_all(layers.into_iter().map(|(_, layer)| remember_me(layer))).await;
}

/// Handlers that wait 50 ms between loading the session and saving it, so that two
/// requests load the same version.
fn slow(backend: impl Backend) -> Router {
    async fn remember(visit: Session<Visit>) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        visit.remember(Some(Duration::from_secs(3600)));
    }
    async fn count(visit: Session<Visit>) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        visit.update_count(|n| *n += 1);
    }
    async fn state(visit: Session<Visit>) -> String {
        let remembered = visit.remembered().map_or(0, |d| d.as_secs());
        format!("{} {remembered}", visit.count())
    }
    Router::new()
        .route("/remember", post(remember))
        .route("/count", post(count))
        .route("/state", get(state))
        .layer(SessionLayer::new(backend, &key()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remembering_and_a_concurrent_change_on_another_instance_are_both_kept() {
    // Two instances on one store: the save that loses the compare-and-swap reloads and
    // applies only its own change, whichever it is.
    let store = ProbeStore::new(MemoryStore::new());
    // Saves wait before they reach the store, so both requests of a round have loaded.
    store.delay_saves(Duration::from_millis(100));
    let (one, two) = (slow(store.clone()), slow(store.clone()));
    let mut client = Client::new(one.clone());
    client.post("/count").await;
    let cookie = client.cookie_header().expect("a cookie");
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            send(
                &one,
                axum::http::Method::POST,
                "/remember",
                Some(&cookie),
                ""
            ),
            send(&two, axum::http::Method::POST, "/count", Some(&cookie), ""),
        );
        assert!(a.status.is_success() && b.status.is_success());
    }
    assert_eq!(client.get("/state").await.body, "4 3600");
    // The property above holds however the requests interleave; this says the rounds did
    // race (a loaded machine can still serialize one).
    assert!(store.counts().conflicts >= 1, "{:?}", store.counts());
}

/// A route that remembers for longer than the layer allows gets the layer's limit: by
/// default its absolute lifetime, else 400 days; `with_remember_limit` sets another. The
/// cookie's `Max-Age`, what `remembered()` says and when the session dies all follow the
/// limit. On every store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_me_is_capped_by_the_layer_on_every_store() {
    async fn remember(auth: Session<Auth>, Path(secs): Path<u64>) -> String {
        auth.set_user(Some("ada".into()));
        auth.remember(Some(Duration::from_secs(secs)));
        format!("{:?}", auth.remembered().map(|d| d.as_secs()))
    }
    async fn who(auth: Session<Auth>) -> String {
        auth.user().unwrap_or_default()
    }
    let routes = || {
        Router::new()
            .route("/remember/{secs}", post(remember))
            .route("/who", get(who))
    };
    let day = 24 * 3600;
    let dir = tempfile::tempdir().unwrap();
    for (kind, layer) in every_layer(&dir).await {
        let cases = [
            // (layer, asked, capped): the absolute lifetime caps by default.
            (
                layer
                    .clone()
                    .with_max_lifetime(Some(Duration::from_secs(2))),
                3600,
                2,
            ),
            (layer.clone(), 1000 * day, 400 * day),
            (
                layer
                    .clone()
                    .with_remember_limit(Duration::from_secs(7 * day)),
                30 * day,
                7 * day,
            ),
        ];
        for (layer, asked, capped) in cases {
            let mut client = Client::new(routes().layer(layer));
            let reply = client.post(&format!("/remember/{asked}")).await;
            assert_eq!(reply.body, format!("Some({capped})"), "{kind:?}");
            let cookie = reply.set_cookie().expect("a cookie");
            let max_age = cookie.max_age().map(|age| age.whole_seconds());
            assert_eq!(max_age, Some(i64::try_from(capped).unwrap()), "{kind:?}");
        }
        // The capped session dies with its lifetime, not an hour later.
        let capped = layer.with_max_lifetime(Some(Duration::from_secs(1)));
        let mut client = Client::new(routes().layer(capped));
        client.post("/remember/3600").await;
        assert_eq!(client.get("/who").await.body, "ada", "{kind:?}");
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(
            client.get("/who").await.body,
            "",
            "{kind:?}: outlived its lifetime"
        );
    }
}
