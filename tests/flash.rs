//! Typed flash messages (issue 16): set for the next request, taken once, on every store;
//! nothing written for requests that neither set nor take one; one winner when two
//! requests take one message at the same time.

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use typed_sessions::{CookieBackend, Flash, MemoryStore, Session, SessionLayer, Store};
use typed_sessions_tests::{Client, Counts, ProbeStore, app, every_layer, every_server_store, key};

async fn flash(client: &mut Client) -> serde_json::Value {
    let reply = client.get("/flash").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str::<serde_json::Value>(&reply.body).unwrap()["flash"].clone()
}

/// Set, shown once, replaced, and set after a logout: through the demo.
async fn flash_flow(layer: SessionLayer) {
    let mut client = Client::new(app(layer));
    assert_eq!(flash(&mut client).await, serde_json::Value::Null);
    assert!(client.jar.is_empty(), "reading no flash makes no session");
    let reply = client.send(Method::POST, "/flash", "saved!").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(flash(&mut client).await, "saved!");
    assert_eq!(flash(&mut client).await, serde_json::Value::Null, "once");
    client.send(Method::POST, "/flash", "one").await;
    client.send(Method::POST, "/flash", "two").await;
    assert_eq!(flash(&mut client).await, "two", "a later message replaces");
    assert_eq!(
        client.post("/visit").await.view().visits,
        1,
        "fields are kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_is_shown_once_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let layers = every_layer(&dir).await;
    join_all(layers.into_iter().map(|(_, layer)| flash_flow(layer))).await;
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
enum Notice {
    LoggedOut,
    Saved { items: u32 },
}

#[derive(Session, Default)]
struct Cart {
    items: u32,
    message: Option<String>,
}

fn routes(layer: SessionLayer) -> Router {
    async fn add(cart: Session<Cart>, flash: Flash<Notice>) -> Result<(), typed_sessions::Error> {
        let items = cart.update_items(|items| {
            *items += 1;
            *items
        });
        flash.set(&Notice::Saved { items })
    }
    async fn logout(
        cart: Session<Cart>,
        flash: Flash<Notice>,
    ) -> Result<(), typed_sessions::Error> {
        cart.delete();
        flash.set(&Notice::LoggedOut)
    }
    async fn show(
        cart: Session<Cart>,
        flash: Flash<Notice>,
    ) -> Result<String, typed_sessions::Error> {
        Ok(format!("{} {:?}", cart.items(), flash.take().await?))
    }
    async fn as_text(flash: Flash<String>) -> Result<String, typed_sessions::Error> {
        Ok(format!("{:?}", flash.take().await?))
    }
    async fn slow_show(flash: Flash<Notice>) -> Result<String, typed_sessions::Error> {
        tokio::time::sleep(Duration::from_millis(30)).await;
        Ok(format!("{:?}", flash.take().await?))
    }
    async fn take_message(cart: Session<Cart>) -> String {
        format!("{:?}", cart.update_message(Option::take))
    }
    Router::new()
        .route("/add", post(add))
        .route("/logout", post(logout))
        .route("/", get(show))
        .route("/text", get(as_text))
        .route("/slow", get(slow_show))
        .route("/message", get(take_message))
        .layer(layer)
}

#[tokio::test]
async fn typed_messages_survive_a_logout_and_other_types_leave_them_alone() {
    let mut client = Client::new(routes(SessionLayer::new(MemoryStore::new(), &key())));
    client.post("/add").await;
    assert_eq!(
        client.get("/text").await.body,
        "None",
        "not a String: left in place"
    );
    assert_eq!(client.get("/").await.body, "1 Some(Saved { items: 1 })");
    client.post("/add").await;
    let logout = client.post("/logout").await;
    assert!(
        logout
            .set_cookie()
            .is_some_and(|cookie| !cookie.value().is_empty())
    );
    assert_eq!(
        client.get("/").await.body,
        "0 Some(LoggedOut)",
        "a fresh session carried it"
    );
    assert_eq!(client.get("/").await.body, "0 None");
}

#[tokio::test]
async fn reading_nothing_writes_nothing() {
    let store = ProbeStore::new(MemoryStore::new());
    let mut client = Client::new(routes(SessionLayer::new(store.clone(), &key())));
    let reply = client.get("/message").await;
    assert_eq!(reply.body, "None");
    assert!(
        reply.set_cookies.is_empty(),
        "update_message(Option::take) changed nothing"
    );
    assert_eq!(client.get("/").await.body, "0 None");
    assert_eq!(store.counts(), Counts::default(), "no session, no I/O");
    client.post("/add").await;
    client.get("/").await;
    let after_take = store.counts();
    client.get("/").await;
    client.get("/message").await;
    let counts = store.counts();
    assert_eq!(
        (counts.saves, counts.touches),
        (after_take.saves, 0),
        "{counts:?}"
    );
}

#[tokio::test]
async fn a_flash_too_large_for_its_cookie_is_refused() {
    async fn big(flash: Flash<String>) -> Result<(), typed_sessions::Error> {
        flash.set(&"x".repeat(5000))
    }
    let layer = SessionLayer::new(CookieBackend::sealed(), &key());
    let mut client = Client::new(Router::new().route("/", post(big)).layer(layer));
    let reply = client.post("/").await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.set_cookies.is_empty());
}

/// Two requests of one session take one message at the same time, `rounds` times, from
/// two instances and from one: each message is shown once.
async fn taken_once(store: impl Store + Clone) {
    let one = routes(SessionLayer::new(store.clone(), &key()));
    let two = routes(SessionLayer::new(store.clone(), &key()));
    let mut client = Client::new(one.clone());
    for round in 0..6 {
        client.post("/add").await;
        let cookie = client.cookie_header().unwrap();
        let other = if round % 2 == 0 { &two } else { &one };
        let (a, b) = tokio::join!(
            typed_sessions_tests::send(&one, Method::GET, "/slow", Some(&cookie), ""),
            typed_sessions_tests::send(other, Method::GET, "/slow", Some(&cookie), ""),
        );
        let shown = [&a.body, &b.body];
        let some = shown.iter().filter(|body| body.starts_with("Some")).count();
        assert_eq!(some, 1, "round {round}: {shown:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_requests_taking_one_message_show_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let stores = every_server_store(&dir).await;
    join_all(stores.into_iter().map(|(_, store)| taken_once(store))).await;
}
