//! Bearer-token sessions (issue 16): the session token in `Authorization: Bearer` or a named
//! header, a new one in the `Session-Token` response header, and never a cookie; through
//! the demo's `/api/` routes on every store, and a layer that takes both.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, Method, Request, StatusCode, header};
use axum::routing::get;
use futures_util::future::join_all;
use typed_sessions::{CookieBackend, MemoryStore, Session, SessionLayer, Transport};
use typed_sessions_tests::{BearerClient, Client, key, send, send_request};
use typed_sessions_tests::{View, app, every_layer};

/// `GET /api/session` with `token` as the bearer token.
async fn view_of(app: &Router, token: &str) -> View {
    let request = Request::get("/api/session")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send_request(app, request).await.view()
}

/// A bearer client's whole life on the demo: a visit, a login (a new token), a logout (an
/// empty one), never a cookie. `server`: the store keeps records, so an old token dies.
async fn bearer_flow(layer: SessionLayer, server: bool) {
    let app = app(layer);
    let mut client = BearerClient::new(app.clone());
    let reply = client.get("/api/session").await;
    assert_eq!(reply.view().visits, 0);
    assert!(client.token.is_none(), "a reader gets no token");

    let reply = client.post("/api/visit").await;
    assert_eq!(reply.view().visits, 1);
    let first = client
        .token
        .clone()
        .expect("a new session hands out its token");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(reply.headers[header::VARY], "Authorization");
    assert_eq!(client.post("/api/visit").await.view().visits, 2);
    let received = client.received.len();
    assert_eq!(client.get("/api/session").await.view().visits, 2);
    assert_eq!(client.received.len(), received, "a read sends no new token");

    let reply = client.post("/api/login/ada").await;
    assert_eq!(reply.view().user.as_deref(), Some("ada"));
    let second = client.token.clone().expect("rotated: a new token");
    assert_ne!(first, second);
    if server {
        assert_eq!(
            view_of(&app, &first).await.visits,
            0,
            "the old token is dead"
        );
    }
    assert_eq!(view_of(&app, &second).await.visits, 2);

    client.post("/api/logout").await;
    assert_eq!(
        client.received.last().map(String::as_str),
        Some(""),
        "forget it"
    );
    assert!(client.token.is_none());
    if server {
        assert_eq!(view_of(&app, &second).await.user, None, "logged out");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_client_logs_in_rotates_and_logs_out_without_a_cookie_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let layers = every_layer(&dir).await;
    join_all(
        layers
            .into_iter()
            .map(|(kind, layer)| bearer_flow(layer, kind.is_server())),
    )
    .await;
}

#[tokio::test]
async fn header_routes_ignore_cookies_and_cookie_routes_ignore_tokens() {
    let store = MemoryStore::new();
    let app = app(SessionLayer::new(store, &key()));
    let mut browser = Client::new(app.clone());
    assert_eq!(browser.post("/visit").await.view().visits, 1);
    let cookie = browser.cookie("id").unwrap().to_owned();
    let mut api = BearerClient::new(app.clone());
    let cookie = format!("id={cookie}");
    let reply = api
        .send(Method::GET, "/api/session", &[("cookie", &cookie)])
        .await;
    assert_eq!(reply.view().visits, 0, "/api reads no cookie");
    api.post("/api/visit").await;
    let token = api.token.clone().unwrap();
    let request = Request::get("/session")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send_request(&app, request).await.view().visits,
        0,
        "cookie routes read no header"
    );
}

#[tokio::test]
async fn forged_truncated_and_garbage_tokens_get_a_fresh_session() {
    let app = app(SessionLayer::new(MemoryStore::new(), &key()));
    let mut client = BearerClient::new(app.clone());
    client.post("/api/visit").await;
    let token = client.token.clone().unwrap();
    let forged = typed_sessions_tests::single_character_changes(&token);
    for bad in [
        &token[..token.len() - 1],
        "",
        "garbage",
        &"A".repeat(10_000),
        &forged[0],
    ] {
        let request = Request::get("/api/session")
            .header(header::AUTHORIZATION, format!("Bearer {bad}"))
            .body(Body::empty())
            .unwrap();
        let reply = send_request(&app, request).await;
        assert_eq!(reply.view().visits, 0, "{bad:.20}");
    }
    assert_eq!(view_of(&app, &token).await.visits, 1);
}

#[derive(typed_sessions::Session, Default)]
struct Count {
    n: u64,
}

/// A layer that reads a named header or the cookie; the header wins.
fn either() -> Router {
    async fn bump(count: Session<Count>) -> String {
        count.update_n(|n| *n += 1);
        count.n().to_string()
    }
    let transport = Transport::header(HeaderName::from_static("x-session"))
        .or_cookie()
        .with_response_header(HeaderName::from_static("x-new-session"));
    Router::new()
        .route("/", get(bump))
        .layer(SessionLayer::new(MemoryStore::new(), &key()).with_transport(transport))
}

async fn get_with(app: &Router, pairs: &[(&str, &str)]) -> typed_sessions_tests::Reply {
    let mut request = Request::get("/");
    for (name, value) in pairs {
        request = request.header(*name, *value);
    }
    send_request(app, request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn with_both_the_header_wins_and_each_is_answered_the_way_it_came() {
    let app = either();
    let by_cookie = get_with(&app, &[]).await;
    assert_eq!(by_cookie.body, "1");
    let cookie = by_cookie
        .set_cookie()
        .expect("a new session gets a cookie")
        .clone();
    assert!(!by_cookie.headers.contains_key("x-new-session"));

    // The cookie's value is no header token: sent in the header it opens nothing.
    let as_header = get_with(&app, &[("x-session", cookie.value())]).await;
    assert_eq!(
        as_header.body, "1",
        "a cookie's value is a token only as the cookie"
    );
    assert!(as_header.set_cookies.is_empty(), "answered the way it came");
    assert_eq!(as_header.headers[header::VARY], "x-session");

    // A header session of its own, then both at once: the header's session.
    let fresh = get_with(&app, &[("x-session", "not a token")]).await;
    assert_eq!(
        fresh.body, "1",
        "a forged header is not the cookie's session"
    );
    assert!(fresh.set_cookies.is_empty());
    let token = fresh.headers["x-new-session"].to_str().unwrap().to_owned();
    let both = [
        ("x-session", token.as_str()),
        ("cookie", &format!("id={}", cookie.value())),
    ];
    assert_eq!(
        get_with(&app, &both).await.body,
        "2",
        "the header's session"
    );
    let cookie_only = [("cookie", &format!("id={}", cookie.value()) as &str)];
    assert_eq!(
        get_with(&app, &cookie_only).await.body,
        "2",
        "the cookie's, untouched"
    );
}

#[tokio::test]
async fn a_bearer_token_too_large_for_the_limit_is_refused_like_a_cookie() {
    async fn big(count: Session<Count>) -> StatusCode {
        count.set_n(u64::MAX);
        StatusCode::OK
    }
    let layer = SessionLayer::new(CookieBackend::sealed(), &key())
        .with_transport(Transport::bearer())
        .with_cookie_size_limit(40);
    let app = Router::new().route("/", get(big)).layer(layer);
    let reply = get_with(&app, &[]).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!reply.headers.contains_key("session-token"));
}

/// An API client and a browser of one user share the store: the browser lists the API
/// session among its devices, and logging out everywhere ends it too.
#[tokio::test]
async fn api_sessions_are_devices_of_their_owner() {
    let app = app(SessionLayer::new(MemoryStore::new(), &key()));
    let mut api = BearerClient::new(app.clone());
    api.post("/api/login/bob").await;
    let token = api.token.clone().unwrap();
    let mut browser = Client::new(app.clone());
    browser.post("/login/bob").await;
    let listed: serde_json::Value =
        serde_json::from_str(&browser.get("/sessions").await.body).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    browser.post("/logout-everywhere").await;
    assert_eq!(
        view_of(&app, &token).await.user,
        None,
        "the API session ended too"
    );
}

/// A token opens a session only on the transport it was issued on: a `Session-Token` sent
/// as the cookie, and a cookie's value sent as a bearer token, are no session (a fresh
/// one, nothing of the other's). On every store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_opens_only_on_the_transport_it_was_issued_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, layer) in every_layer(&dir).await {
        let app = app(layer);
        let mut api = BearerClient::new(app.clone());
        api.post("/api/login/ada").await;
        let token = api.token.clone().expect("a token");
        let as_cookie = send(
            &app,
            Method::GET,
            "/session",
            Some(&format!("id={token}")),
            "",
        )
        .await;
        assert_eq!(
            as_cookie.view().user,
            None,
            "{kind:?}: a header token as a cookie"
        );
        assert_eq!(
            api.get("/api/session").await.view().user.as_deref(),
            Some("ada")
        );

        let mut browser = Client::new(app.clone());
        browser.post("/login/bob").await;
        let value = browser.cookie("id").expect("a cookie").to_owned();
        let bearer = format!("Bearer {value}");
        let request = axum::http::Request::get("/api/session")
            .header(header::AUTHORIZATION, bearer)
            .body(axum::body::Body::empty())
            .unwrap();
        let as_token = send_request(&app, request).await;
        assert_eq!(
            as_token.view().user,
            None,
            "{kind:?}: a cookie as a bearer token"
        );
        assert_eq!(
            browser.get("/session").await.view().user.as_deref(),
            Some("bob")
        );
    }
}
