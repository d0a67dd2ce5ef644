//! Hostile cookies, unknown ids and a failing store: a fresh session or a clear error, never
//! a 5xx from bad input, never a panic.

use axum::http::{Method, StatusCode};
use session::{Key, MemoryStore, SessionLayer};
use session_examples::app;
use session_tests::{Client, Counts, ProbeStore, key, send, view_with};

fn probed() -> (Client, ProbeStore) {
    let store = ProbeStore::new(MemoryStore::new());
    (
        Client::new(app(SessionLayer::new(store.clone(), &key()))),
        store,
    )
}

async fn signed_cookie(client: &mut Client) -> String {
    client.post("/visit").await;
    client.cookie("id").expect("a session cookie").to_owned()
}

#[tokio::test]
async fn forged_and_malformed_cookies_give_a_fresh_session_without_store_io() {
    let (mut client, store) = probed();
    let genuine = signed_cookie(&mut client).await;
    let before = store.counts();
    let mut bad: Vec<String> = vec![
        String::new(),
        "garbage".into(),
        genuine[..genuine.len() - 1].into(),
        format!("{genuine}A"),
        genuine[..22].into(),
        "A".repeat(8 * 1024),
        "%00../../etc/passwd".into(),
        "é".repeat(40),
    ];
    // Every single-character change of a genuine cookie.
    for index in 0..genuine.len() {
        let mut bytes = genuine.clone().into_bytes();
        bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
        bad.push(String::from_utf8(bytes).expect("ascii"));
    }
    for value in &bad {
        let reply = send(
            client.router(),
            Method::GET,
            "/session",
            Some(&format!("id={value}")),
            "",
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "cookie {value:?}");
        assert_eq!(reply.view().visits, 0, "cookie {value:?}");
        assert!(reply.set_cookies.is_empty());
    }
    assert_eq!(store.counts(), before, "no forged cookie reached the store");
}

#[tokio::test]
async fn a_cookie_signed_with_another_key_or_name_is_rejected() {
    let (mut client, store) = probed();
    let genuine = signed_cookie(&mut client).await;
    let other_key = app(SessionLayer::new(
        store.clone(),
        &Key::from_secret(&[1; 64]).unwrap(),
    ));
    let view = view_with(&other_key, &format!("id={genuine}")).await;
    assert_eq!(view.visits, 0);

    let renamed = app(SessionLayer::new(store.clone(), &key()).with_cookie_name("sid"));
    let view = view_with(&renamed, &format!("sid={genuine}")).await;
    assert_eq!(
        view.visits, 0,
        "a value moved to another cookie name is rejected"
    );
}

#[tokio::test]
async fn a_signed_id_the_store_does_not_know_is_never_adopted() {
    let (mut client, _store) = probed();
    let genuine = signed_cookie(&mut client).await;
    // A second server with the same key but an empty store: the id is validly signed but
    // unknown there (expired, deleted, or planted by an attacker who got a signed id).
    let fresh = Client::new(app(SessionLayer::new(MemoryStore::new(), &key())));
    let mut visitor = fresh.clone();
    visitor.jar = vec![("id".into(), genuine.clone())];
    let reply = visitor.post("/visit").await;
    assert_eq!(reply.view().visits, 1);
    let issued = reply
        .set_cookie()
        .expect("a new id is issued")
        .value()
        .to_owned();
    assert_ne!(issued, genuine);
}

#[tokio::test]
async fn duplicate_and_numerous_cookies_are_handled() {
    let (mut client, _store) = probed();
    let genuine = signed_cookie(&mut client).await;
    let mut header: Vec<String> = (0..300).map(|i| format!("c{i}=v{i}")).collect();
    header.push("id=forged".into());
    header.push(format!("id={genuine}"));
    let reply = send(
        client.router(),
        Method::GET,
        "/session",
        Some(&header.join("; ")),
        "",
    )
    .await;
    assert_eq!(
        reply.view().visits,
        1,
        "the valid one of two same-named cookies wins"
    );
}

#[tokio::test]
async fn a_store_that_is_down_gives_503_and_keeps_the_session_intact() {
    let (mut client, store) = probed();
    signed_cookie(&mut client).await;
    store.set_down(true);
    let reply = client.post("/visit").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        reply.body.contains("session store unavailable"),
        "{}",
        reply.body
    );
    assert!(reply.set_cookies.is_empty());
    // Routes that do not use the session are unaffected.
    assert_eq!(client.get("/health").await.status, StatusCode::OK);
    store.set_down(false);
    assert_eq!(
        client.get("/session").await.view().visits,
        1,
        "nothing half-written"
    );
    assert_eq!(client.post("/visit").await.view().visits, 2);
}

#[tokio::test]
async fn a_store_that_fails_on_save_gives_503_not_the_handlers_200() {
    let (mut client, store) = probed();
    store.set_down(true);
    let reply = client.post("/visit").await; // no cookie: no load, the save fails
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.set_cookies.is_empty());
    assert_eq!(
        store.counts(),
        Counts {
            saves: 1,
            ..Counts::default()
        }
    );
}

#[tokio::test]
async fn the_store_error_status_is_configurable() {
    let store = ProbeStore::new(MemoryStore::new());
    let layer =
        SessionLayer::new(store.clone(), &key()).with_store_error_status(StatusCode::BAD_GATEWAY);
    let mut client = Client::new(app(layer));
    store.set_down(true);
    assert_eq!(client.post("/visit").await.status, StatusCode::BAD_GATEWAY);
}
