//! Client-side sessions through the demo: sealed and signed cookies, hostile edits, key
//! rotation, expiry inside the seal, and the size limit.

use axum::http::{Method, StatusCode};
use std::time::Duration;
use typed_sessions::{CookieBackend, Key, MemoryStore, SessionLayer};
use typed_sessions_tests::{
    Client, app, assert_each_gives_a_fresh_session, key, single_character_changes, view_with,
};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Sealed,
    Signed,
}

const KINDS: [Kind; 2] = [Kind::Sealed, Kind::Signed];

fn layer(kind: Kind, key: &Key) -> SessionLayer {
    match kind {
        Kind::Sealed => SessionLayer::new(CookieBackend::sealed(), key),
        Kind::Signed => SessionLayer::new(CookieBackend::signed(), key),
    }
}

fn client(kind: Kind) -> Client {
    Client::new(app(layer(kind, &key())))
}

#[tokio::test]
async fn sessions_round_trip_in_the_cookie() {
    for kind in KINDS {
        let mut client = client(kind);
        assert!(
            client.get("/session").await.set_cookies.is_empty(),
            "{kind:?}: reading creates nothing"
        );
        client.post("/visit").await;
        client.post("/login/ada").await;
        client.send(Method::POST, "/note", "hello").await;
        let view = client.get("/session").await.view();
        assert_eq!(
            (view.visits, view.user.as_deref(), view.note_len),
            (1, Some("ada"), 5),
            "{kind:?}"
        );
        let reply = client.post("/logout").await;
        assert_eq!(
            reply.set_cookie().and_then(|c| c.max_age()),
            Some(cookie::time::Duration::ZERO)
        );
        assert_eq!(client.get("/session").await.view().visits, 0, "{kind:?}");
    }
}

#[tokio::test]
async fn two_servers_with_the_same_secret_share_sessions_without_shared_storage() {
    for kind in KINDS {
        let mut first = client(kind);
        first.post("/visit").await;
        let mut second = Client::new(app(layer(kind, &key())));
        second.jar = first.jar.clone();
        assert_eq!(second.post("/visit").await.view().visits, 2, "{kind:?}");
        first.jar = second.jar.clone();
        assert_eq!(first.get("/session").await.view().visits, 2, "{kind:?}");
    }
}

#[tokio::test]
async fn every_character_change_truncation_and_extension_is_rejected() {
    for kind in KINDS {
        let mut client = client(kind);
        client.post("/visit").await;
        let genuine = client.cookie("id").expect("cookie").to_owned();
        let mut forged = single_character_changes(&genuine);
        forged.extend(
            (0..genuine.len())
                .step_by(7)
                .map(|len| genuine[..len].to_owned()),
        );
        forged.push(format!("{genuine}A"));
        forged.push(format!("{genuine}AAAA"));
        assert_each_gives_a_fresh_session(client.router(), &forged).await;
    }
}

#[tokio::test]
async fn a_cookie_moved_to_another_name_or_store_kind_is_rejected() {
    for kind in KINDS {
        let mut client = client(kind);
        client.post("/visit").await;
        let value = client.cookie("id").expect("cookie").to_owned();
        let renamed = app(layer(kind, &key()).with_cookie_name("sid"));
        let view = view_with(&renamed, &format!("sid={value}")).await;
        assert_eq!(view.visits, 0, "{kind:?}");
    }
    let mut sealed = client(Kind::Sealed);
    sealed.post("/visit").await;
    let mut signed = client(Kind::Signed);
    signed.jar = sealed.jar.clone();
    assert_eq!(
        signed.get("/session").await.view().visits,
        0,
        "sealing and signing keys differ"
    );
}

#[tokio::test]
async fn a_cookie_replayed_after_its_deadline_is_rejected() {
    for kind in KINDS {
        let layer = layer(kind, &key()).with_idle_timeout(Duration::from_millis(300));
        let mut client = Client::new(app(layer));
        client.post("/visit").await;
        // The client keeps the cookie past its life; the deadline inside the seal decides.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(client.get("/session").await.view().visits, 0, "{kind:?}");
    }
}

#[tokio::test]
async fn the_absolute_lifetime_inside_the_seal_ends_an_active_session() {
    for kind in KINDS {
        let layer = layer(kind, &key())
            .with_idle_timeout(Duration::from_secs(60))
            .with_max_lifetime(Some(Duration::from_millis(400)));
        let mut client = Client::new(app(layer));
        client.post("/visit").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(client.post("/visit").await.view().visits, 2, "{kind:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(client.get("/session").await.view().visits, 0, "{kind:?}");
    }
}

#[tokio::test]
async fn reads_refresh_the_deadline_at_the_rate_limit() {
    for kind in KINDS {
        let layer = layer(kind, &key())
            .with_idle_timeout(Duration::from_millis(500))
            .with_refresh_interval(Duration::from_millis(150));
        let mut client = Client::new(app(layer));
        client.post("/visit").await;
        assert!(
            client.get("/session").await.set_cookies.is_empty(),
            "{kind:?}: no refresh yet"
        );
        let mut refreshed = 0;
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let reply = client.get("/session").await;
            assert_eq!(reply.view().visits, 1, "{kind:?}: kept alive by reads");
            refreshed += reply.set_cookies.len();
        }
        assert!((1..=5).contains(&refreshed), "{kind:?}: {refreshed}");
    }
}

/// An old key and the new one that replaces it.
fn rotation_keys() -> (Key, Key) {
    (
        Key::from_secret(&[1; 64]).unwrap(),
        Key::from_secret(&[2; 64]).unwrap(),
    )
}

/// A layer of backend `n` under a key: the cookie stores (`KINDS`), then a server-side
/// store's signed id cookie (one memory store for every call, as instances share it).
fn backends() -> impl Fn(usize, &Key) -> SessionLayer {
    let memory = MemoryStore::new();
    move |backend, key| match KINDS.get(backend) {
        Some(&kind) => layer(kind, key),
        None => SessionLayer::new(memory.clone(), key),
    }
}

#[tokio::test]
async fn key_rotation_accepts_and_reissues_old_cookies_and_removing_a_key_kills_them() {
    let (old, new) = rotation_keys();
    // Both cookie stores, and a server-side store's signed id cookie.
    let make = backends();
    for index in 0..=KINDS.len() {
        let mut client = Client::new(app(make(index, &old)));
        client.post("/visit").await;
        let before = client.cookie("id").expect("cookie").to_owned();

        let rotated = app(make(index, &new).with_previous_keys(std::slice::from_ref(&old)));
        let mut rotating = Client::new(rotated);
        rotating.jar = client.jar.clone();
        let reply = rotating.get("/session").await;
        assert_eq!(
            reply.view().visits,
            1,
            "backend {index}: the old key is accepted"
        );
        let reissued = reply
            .set_cookie()
            .expect("re-issued under the new key")
            .value()
            .to_owned();
        assert_ne!(reissued, before);
        assert!(
            rotating.get("/session").await.set_cookies.is_empty(),
            "backend {index}: once"
        );

        let new_only = app(make(index, &new));
        let view = view_with(&new_only, &format!("id={reissued}")).await;
        assert_eq!(
            view.visits, 1,
            "backend {index}: the re-issued cookie needs only the new key"
        );
        let view = view_with(&new_only, &format!("id={before}")).await;
        assert_eq!(
            view.visits, 0,
            "backend {index}: removing the old key kills its cookies"
        );
    }
}

/// The key id a cookie value names: the four bytes after its version byte.
fn named_key_id(value: &str) -> u32 {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .expect("base64url");
    u32::from_be_bytes(raw[1..5].try_into().expect("a key id"))
}

#[tokio::test]
async fn a_cookie_names_its_key_and_an_instance_without_that_key_gives_a_fresh_session() {
    let (old, new) = rotation_keys();
    let make = backends();
    for index in 0..=KINDS.len() {
        // A rolling deploy: one instance already makes cookies under the new key, another
        // has not heard of it.
        let mut updated = Client::new(app(
            make(index, &new).with_previous_keys(std::slice::from_ref(&old))
        ));
        updated.post("/visit").await;
        let value = updated.cookie("id").expect("cookie").to_owned();
        assert_eq!(named_key_id(&value), new.id(), "backend {index}");

        let mut behind = Client::new(app(make(index, &old)));
        behind.jar = updated.jar.clone();
        let reply = behind.get("/session").await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "backend {index}: never an error"
        );
        assert_eq!(
            reply.view().visits,
            0,
            "backend {index}: as a forged cookie"
        );

        // The rollout that loses no one: the new key first as a previous key everywhere.
        let staged = app(make(index, &old).with_previous_keys(std::slice::from_ref(&new)));
        let view = view_with(&staged, &format!("id={value}")).await;
        assert_eq!(
            view.visits, 1,
            "backend {index}: staged instances accept it"
        );
    }
}

#[tokio::test]
async fn an_oversized_session_is_refused_and_the_earlier_one_stays_intact() {
    for kind in KINDS {
        let mut client = client(kind);
        client.post("/visit").await;
        client.send(Method::POST, "/note", &"n".repeat(100)).await;
        let earlier = client.jar.clone();
        let reply = client.send(Method::POST, "/note", &"x".repeat(5000)).await;
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{kind:?}");
        assert!(reply.set_cookies.is_empty(), "{kind:?}: no Set-Cookie");
        assert_eq!(client.jar, earlier);
        let view = client.get("/session").await.view();
        assert_eq!(
            (view.visits, view.note_len),
            (1, 100),
            "{kind:?}: the earlier session is intact"
        );
    }
}

#[tokio::test]
async fn the_size_limit_and_its_status_are_configurable() {
    let layer = layer(Kind::Sealed, &key())
        .with_cookie_size_limit(200)
        .with_too_large_status(StatusCode::INSUFFICIENT_STORAGE);
    let mut client = Client::new(app(layer));
    assert!(
        client
            .send(Method::POST, "/note", "short")
            .await
            .status
            .is_success()
    );
    let reply = client.send(Method::POST, "/note", &"x".repeat(150)).await;
    assert_eq!(reply.status, StatusCode::INSUFFICIENT_STORAGE);
}

/// The cookie-sessions chapter's size estimate, checked against a real cookie.
#[tokio::test]
async fn the_readme_size_estimate_is_exact_for_a_known_session() {
    let mut client = client(Kind::Sealed);
    client.post("/visit").await;
    let reply = client.send(Method::POST, "/note", &"n".repeat(100)).await;
    let header = reply.set_cookie().expect("cookie").to_string();
    // Record: format (1) + created ms (6) + field count (1)
    //   + `demo.visits`: 1 + 11 + 1 + 1 (visits = 1)
    //   + `demo.note`:   1 + 9 + 1 + 101 (a 100-byte string: length byte + bytes)
    let record = 1 + 6 + 1 + (1 + 11 + 1 + 1) + (1 + 9 + 1 + 101);
    // version, key id, nonce, deadlines, id, record, tag
    let sealed = 1 + 4 + 24 + 16 + 16 + record + 16;
    let value = (sealed * 4usize).div_ceil(3); // base64url, no padding
    let attributes = "; HttpOnly; SameSite=Lax; Secure; Path=/".len();
    assert_eq!(header.len(), "id=".len() + value + attributes, "{header}");
}

/// The session id inside a signed cookie (readable by design): after the version byte, the
/// key id and the two deadlines.
fn signed_session_id(client: &Client) -> Vec<u8> {
    use base64::Engine;
    let value = client.cookie("id").expect("a session cookie");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .expect("base64url");
    raw[21..37].to_vec()
}

#[tokio::test]
async fn every_cookie_session_has_its_own_random_id() {
    // New visitors with the same data, most in the same millisecond: signed cookies have no
    // nonce, so only the session's id tells them apart.
    let app = app(layer(Kind::Signed, &key()));
    let mut values = std::collections::HashSet::new();
    for _ in 0..50 {
        let mut visitor = Client::new(app.clone());
        visitor.post("/visit").await;
        let value = visitor.cookie("id").expect("a session cookie").to_owned();
        assert!(values.insert(value), "two sessions share a cookie value");
    }

    // The id stays with the session across saves, and changes with `cycle_id()` (login)
    // and `invalidate()`.
    let mut client = Client::new(app);
    client.post("/visit").await;
    let first = signed_session_id(&client);
    client.post("/visit").await;
    assert_eq!(signed_session_id(&client), first, "kept across saves");
    client.post("/login/ada").await;
    let rotated = signed_session_id(&client);
    assert_ne!(rotated, first, "a new id on login");
    client.post("/invalidate").await;
    client.post("/visit").await;
    assert_ne!(
        signed_session_id(&client),
        rotated,
        "a new id after invalidate"
    );
}

/// A `Secure` cookie in reply to a plain-HTTP request for a host other than localhost is
/// dropped by the browser: the layer says so once, at WARN, with the fixes. Not for
/// localhost, nor behind a proxy that says the request was HTTPS, nor with `Secure` off.
#[tokio::test(flavor = "current_thread")]
async fn a_secure_cookie_sent_over_plain_http_to_another_host_is_warned_of_once() {
    use axum::body::Body;
    use axum::http::Request;
    use typed_sessions_tests::{capture_logs, send_request};
    let (_guard, logs) = capture_logs();
    let secure = app(SessionLayer::new(MemoryStore::new(), &key()));
    let insecure = app(SessionLayer::new(MemoryStore::new(), &key()).with_secure(false));
    let visit = |host: &str, proxy: Option<&str>| {
        let mut request = Request::post("/visit").header("host", host);
        if let Some(proto) = proxy {
            request = request.header("x-forwarded-proto", proto);
        }
        request.body(Body::empty()).unwrap()
    };
    let warned = |logs: &typed_sessions_tests::Logs| {
        logs.text()
            .matches("the browser drops it, so the session will not stick")
            .count()
    };
    for (app, host, proxy) in [
        (&secure, "localhost:3000", None),
        (&secure, "127.0.0.1:3000", None),
        (&secure, "[::1]:3000", None),
        (&secure, "shop.example", Some("https")),
        (&insecure, "192.168.1.20:3000", None),
    ] {
        let reply = send_request(app, visit(host, proxy)).await;
        assert!(!reply.set_cookies.is_empty(), "{host}: a new session");
        assert_eq!(warned(&logs), 0, "{host} {proxy:?}: {}", logs.text());
    }
    for _ in 0..3 {
        let reply = send_request(&secure, visit("192.168.1.20:3000", None)).await;
        assert!(reply.set_cookies[0].secure().unwrap_or(false));
    }
    let text = logs.text();
    assert_eq!(warned(&logs), 1, "once per process: {text}");
    assert!(
        text.contains("WARN")
            && text.contains("192.168.1.20:3000")
            && text.contains("with_secure(false)")
            && text.contains("X-Forwarded-Proto: https"),
        "{text}"
    );
}
