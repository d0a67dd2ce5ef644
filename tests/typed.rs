//! The typed API: generated accessors, field-level records that survive schema changes, and
//! several structs sharing one session.

use axum::Router;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use typed_sessions::{MemoryStore, Session, SessionLayer};
use typed_sessions_tests::{Client, capture_logs, key};

/// The session as an application deployed it first.
mod v1 {
    use typed_sessions::Session;

    #[derive(Session, Default)]
    #[session(namespace = "profile")]
    pub(crate) struct Profile {
        pub(crate) name: String,
        pub(crate) age: u32,
        pub(crate) theme: String,
    }
}

/// The next deploy: `age` changed type, `theme` is gone, `lang` is new, `name` was renamed in
/// Rust but keeps its storage name.
mod v2 {
    use typed_sessions::Session;

    fn english() -> String {
        "en".to_owned()
    }

    #[derive(Session, Default)]
    #[session(namespace = "profile")]
    pub(crate) struct Profile {
        #[session(rename = "name")]
        pub(crate) display_name: String,
        pub(crate) age: String,
        #[session(default = english)]
        pub(crate) lang: String,
    }
}

fn versions() -> Router {
    async fn write_v1(profile: Session<v1::Profile>) {
        profile.set_name("Ada".into());
        profile.set_age(36);
        profile.set_theme("dark".into());
    }
    async fn read_v1(profile: Session<v1::Profile>) -> String {
        format!("{}|{}|{}", profile.name(), profile.age(), profile.theme())
    }
    async fn read_v2(profile: Session<v2::Profile>) -> String {
        format!(
            "{}|{:?}|{}",
            profile.display_name(),
            profile.age(),
            profile.lang()
        )
    }
    async fn write_v2(profile: Session<v2::Profile>) {
        profile.set_lang("fr".into());
    }
    Router::new()
        .route("/v1", post(write_v1).get(read_v1))
        .route("/v2", post(write_v2).get(read_v2))
        .layer(SessionLayer::new(MemoryStore::new(), &key()))
}

#[tokio::test]
async fn a_deploy_that_adds_removes_retypes_and_renames_fields_keeps_the_rest() {
    let mut client = Client::new(versions());
    client.post("/v1").await;
    assert_eq!(client.get("/v1").await.body, "Ada|36|dark");

    let (_guard, logs) = capture_logs();
    // Renamed in Rust: kept. Retyped: its default. Added: its own default.
    assert_eq!(client.get("/v2").await.body, "Ada|\"\"|en");
    let logs = logs.text();
    assert!(
        logs.contains("WARN") && logs.contains("profile.age"),
        "{logs}"
    );

    // A write by the new version keeps the removed field for a rollback.
    client.post("/v2").await;
    assert_eq!(client.get("/v2").await.body, "Ada|\"\"|fr");
    assert_eq!(client.get("/v1").await.body, "Ada|36|dark");
}

#[derive(Session, Default)]
struct Auth {
    id: u64,
    user: Option<String>,
}

#[derive(Session, Default)]
struct Cart {
    id: u64,
    items: Vec<Item>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Item {
    sku: String,
    quantity: u32,
}

#[tokio::test]
async fn structs_share_one_session_under_their_own_namespaces() {
    async fn write(auth: Session<Auth>, cart: Session<Cart>) {
        auth.set_id(1);
        auth.set_user(Some("ada".into()));
        cart.set_id(2);
        cart.update_items(|items| {
            items.push(Item {
                sku: "tea".into(),
                quantity: 3,
            })
        });
    }
    async fn read_auth(auth: Session<Auth>) -> String {
        format!("{} {:?}", auth.id(), auth.user())
    }
    async fn read_cart(cart: Session<Cart>) -> String {
        format!(
            "{} {:?}",
            cart.id(),
            cart.view_items(|items| items.to_vec())
        )
    }
    async fn only_cart(cart: Session<Cart>) {
        cart.set_id(3);
    }
    let router = Router::new()
        .route("/write", post(write))
        .route("/auth", get(read_auth))
        .route("/cart", get(read_cart).post(only_cart))
        .layer(SessionLayer::new(MemoryStore::new(), &key()));
    let mut client = Client::new(router);
    client.post("/write").await;
    assert_eq!(client.get("/auth").await.body, "1 Some(\"ada\")");
    assert_eq!(
        client.get("/cart").await.body,
        "2 [Item { sku: \"tea\", quantity: 3 }]"
    );
    client.post("/cart").await;
    assert_eq!(
        client.get("/auth").await.body,
        "1 Some(\"ada\")",
        "a write by one struct keeps the other"
    );
    assert_eq!(
        client.cookie_header().map(|c| c.matches("id=").count()),
        Some(1),
        "one cookie"
    );
}

#[tokio::test]
async fn two_extractors_of_one_struct_see_each_others_changes() {
    async fn handler(first: Session<Auth>, second: Session<Auth>) -> String {
        first.set_id(7);
        second.update_id(|id| *id += 1);
        format!("{} {}", first.id(), second.id())
    }
    let router = Router::new()
        .route("/", post(handler))
        .route(
            "/auth",
            get(|auth: Session<Auth>| async move { auth.id().to_string() }),
        )
        .layer(SessionLayer::new(MemoryStore::new(), &key()));
    let mut client = Client::new(router);
    assert_eq!(client.post("/").await.body, "8 8");
    assert_eq!(client.get("/auth").await.body, "8");
}

/// Accessors follow raw identifiers, generics, and work without importing any trait.
mod shapes {
    use typed_sessions::Session;

    #[derive(Session, Default)]
    pub(crate) struct Tagged<T> {
        pub(crate) r#type: String,
        pub(crate) values: Vec<T>,
        #[session(default)]
        pub(crate) count: u32,
    }
}

#[tokio::test]
async fn generic_structs_and_raw_identifiers_work() {
    async fn handler(tagged: Session<shapes::Tagged<u16>>) -> String {
        tagged.set_type("t".into());
        tagged.update_values(|values| values.push(9));
        format!("{}{:?}{}", tagged.r#type(), tagged.values(), tagged.count())
    }
    let router = Router::new()
        .route("/", post(handler))
        .layer(SessionLayer::new(MemoryStore::new(), &key()));
    let mut client = Client::new(router);
    assert_eq!(client.post("/").await.body, "t[9]0");
    assert_eq!(client.post("/").await.body, "t[9, 9]0");
}

#[tokio::test]
async fn a_handler_without_the_layer_gets_a_500_and_the_log_names_it() {
    let router = Router::new().route(
        "/",
        get(|auth: Session<Auth>| async move { auth.id().to_string() }),
    );
    let (_guard, logs) = capture_logs();
    let reply = typed_sessions_tests::send(&router, axum::http::Method::GET, "/", None, "").await;
    assert_eq!(reply.status, axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.body, "session error", "no internals for the client");
    assert!(logs.text().contains("SessionLayer"), "{}", logs.text());
}
