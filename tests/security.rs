//! Hostile cookies, unknown ids and a failing store: a fresh session or a clear error, never
//! a 5xx from bad input, never a panic.

use axum::http::{Method, StatusCode};
use typed_sessions::{Key, MemoryStore, SessionLayer};
use typed_sessions_tests::{
    Client, Counts, ProbeStore, app, assert_each_gives_a_fresh_session, key, send,
    single_character_changes, view_with,
};

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
    bad.extend(single_character_changes(&genuine));
    assert_each_gives_a_fresh_session(client.router(), &bad).await;
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
async fn other_cookies_that_are_not_ascii_or_not_utf8_cost_only_themselves() {
    let (mut client, _) = probed();
    client.post("/visit").await;
    let id = client.cookie_header().expect("a session cookie");
    let headers: [&[u8]; 4] = [
        b"theme=caf\xc3\xa9; ",
        b"theme=caf\xe9; ",
        b"\xff\xfe=\x80; theme=dark; ",
        b"a=b; broken; =; theme=\"\xe9\"; ",
    ];
    for prefix in headers {
        let header = [prefix, id.as_bytes(), b"; last=\xe9"].concat();
        let request = axum::http::Request::get("/session")
            .header(
                axum::http::header::COOKIE,
                axum::http::HeaderValue::from_bytes(&header).expect("obs-text is allowed"),
            )
            .body(axum::body::Body::empty())
            .expect("request");
        let response = tower::ServiceExt::oneshot(client.router().clone(), request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body")
            .to_bytes();
        let view: typed_sessions_tests::View = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            view.visits,
            1,
            "the session was lost beside {:?}",
            String::from_utf8_lossy(prefix)
        );
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cookie_headers_never_5xx_and_never_write_outside_the_store() {
    use axum::http::HeaderValue;

    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("sessions");
    let store = typed_sessions::FileStore::open(&dir).unwrap();
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    client.post("/visit").await;
    let genuine = client.cookie("id").unwrap().to_owned();
    // A genuine cookie of another store kind, and of another key.
    let mut other = Client::new(app(SessionLayer::new(
        typed_sessions::CookieBackend::sealed(),
        &key(),
    )));
    other.post("/visit").await;
    let sealed = other.cookie("id").unwrap().to_owned();

    let mut headers: Vec<Vec<u8>> = vec![
        vec![b'x'; 8 * 1024],
        format!("id={}", "A".repeat(8 * 1024)).into_bytes(),
        b"id=\xff\xfe\x80\x81; other=\xc3\x28".to_vec(),
        "id=é€😀".as_bytes().to_vec(),
        (0..500)
            .map(|i| format!("c{i}=v{i}"))
            .collect::<Vec<_>>()
            .join("; ")
            .into_bytes(),
        format!("id=forged; id={genuine}; id=again").into_bytes(),
        b"id=../../../etc/passwd".to_vec(),
        b"id=..%2F..%2Fsessions%00".to_vec(),
        b"id=%00".to_vec(),
        format!("id={sealed}").into_bytes(),
        b"id=".to_vec(),
        b";;;=;=;id;==".to_vec(),
    ];
    headers.push(format!("id={}/../{}", &genuine[..10], &genuine[10..]).into_bytes());
    for header in &headers {
        for (method, path) in [
            (Method::GET, "/session"),
            (Method::POST, "/visit"),
            (Method::POST, "/login/x"),
        ] {
            let mut request = axum::http::Request::builder()
                .method(method.clone())
                .uri(path);
            // Bytes that are not valid header text are refused by the HTTP layer before any
            // handler: only send what a server can receive.
            if let Ok(value) = HeaderValue::from_bytes(header) {
                request = request.header(axum::http::header::COOKIE, value);
            }
            let request = request.body(axum::body::Body::empty()).unwrap();
            let response = tower::ServiceExt::oneshot(client.router().clone(), request)
                .await
                .unwrap();
            assert!(
                !response.status().is_server_error(),
                "{method} {path} with {:?}: {}",
                String::from_utf8_lossy(header),
                response.status()
            );
        }
    }
    // Nothing but session files, in the store's directory only.
    let outside: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("sessions")]);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "owners" {
            // The owner index: a directory per owner (a hash), a marker per session.
            for owner in std::fs::read_dir(dir.join("owners")).unwrap() {
                let owner = owner.unwrap();
                let hash = owner.file_name().into_string().unwrap();
                assert!(hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
                for marker in std::fs::read_dir(owner.path()).unwrap() {
                    let marker = marker.unwrap().file_name().into_string().unwrap();
                    assert!(
                        typed_sessions::store::StorageKey::from_base64(&marker).is_some(),
                        "{marker}"
                    );
                }
            }
            continue;
        }
        assert!(
            typed_sessions::store::StorageKey::from_base64(&name).is_some(),
            "unexpected file {name}"
        );
    }
    // The server keeps serving. (The genuine cookie itself is dead by now: one of the
    // requests above carried it to `/login/x`, which rotated its id.)
    let mut fresh = Client::new(client.router().clone());
    assert_eq!(fresh.post("/visit").await.view().visits, 1);
    assert_eq!(fresh.get("/session").await.view().visits, 1);
}

#[tokio::test]
async fn durations_up_to_duration_max_mean_never_and_never_panic() {
    use std::time::Duration;
    use typed_sessions::CookieBackend;
    let layers = [
        SessionLayer::new(MemoryStore::new(), &key()),
        SessionLayer::new(CookieBackend::sealed(), &key()),
    ];
    for layer in layers {
        let layer = layer
            .with_idle_timeout(Duration::MAX)
            .with_max_lifetime(Some(Duration::MAX))
            .with_refresh_interval(Duration::MAX)
            .with_cookie_max_age(Some(Duration::MAX));
        let mut client = Client::new(app(layer));
        let reply = client.post("/visit").await;
        let cookie = reply.set_cookie().expect("a cookie");
        let max_age = cookie.max_age().expect("Max-Age").whole_days();
        assert!((36_000..=36_600).contains(&max_age), "{max_age} days");
        client.post("/visit").await;
        assert_eq!(client.get("/session").await.view().visits, 2);
    }
}
