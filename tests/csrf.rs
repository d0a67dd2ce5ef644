//! CSRF protection bound to the session (issue 16): tokens from `CsrfToken`, checked by
//! `CsrfLayer` on unsafe methods, through the demo with `DEMO_CSRF=1` on every store.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::post;
use futures_util::future::join_all;
use std::time::Duration;
use typed_sessions::{CsrfLayer, MemoryStore, SessionLayer};
use typed_sessions_tests::{
    BearerClient, Client, Counts, ProbeStore, app_with_csrf, capture_logs, every_layer, key,
    send_request,
};

/// A key other than the tests' own.
fn other_key() -> typed_sessions::Key {
    typed_sessions::Key::from_secret(&[7; 64]).expect("64 bytes")
}

fn protected(layer: SessionLayer) -> Router {
    app_with_csrf(layer, true)
}

async fn token(client: &mut Client) -> String {
    let reply = client.get("/csrf").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    json["token"].as_str().unwrap().to_owned()
}

/// `POST path` with `token` in `X-CSRF-Token` (none: no header).
async fn post_with(
    client: &mut Client,
    path: &str,
    token: Option<&str>,
) -> typed_sessions_tests::Reply {
    let mut request = Request::post(path);
    if let Some(cookie) = client.cookie_header() {
        request = request.header(header::COOKIE, cookie);
    }
    if let Some(token) = token {
        request = request.header("x-csrf-token", token);
    }
    let reply = send_request(client.router(), request.body(Body::empty()).unwrap()).await;
    for cookie in &reply.set_cookies {
        client.jar.retain(|(name, _)| name != cookie.name());
        if !cookie.max_age().is_some_and(|age| age.is_zero()) {
            client
                .jar
                .push((cookie.name().to_owned(), cookie.value().to_owned()));
        }
    }
    reply
}

async fn visits(client: &mut Client) -> u64 {
    client.get("/session").await.view().visits
}

/// The whole story on one store: refused without a token, with a wrong one, with another
/// session's, and with one from before a login or a logout; let through with its own.
async fn csrf_flow(layer: SessionLayer) {
    let app = protected(layer);
    let mut client = Client::new(app.clone());
    let reply = post_with(&mut client, "/visit", None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply.set_cookies.is_empty(),
        "a refused visitor gets no session"
    );

    let first = token(&mut client).await;
    assert!(
        client.cookie("id").is_none() && client.cookie("id-csrf").is_some(),
        "asking for a token makes no session: the secret is in a cookie of its own"
    );
    let again = token(&mut client).await;
    assert_ne!(first, again, "masked afresh each time");
    assert_eq!(
        post_with(&mut client, "/visit", Some(&first))
            .await
            .view()
            .visits,
        1
    );
    assert_eq!(
        post_with(&mut client, "/visit", Some(&again))
            .await
            .view()
            .visits,
        2
    );

    let refused = post_with(&mut client, "/visit", None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.set_cookies.is_empty());
    let garbage = post_with(&mut client, "/visit", Some("garbage")).await;
    assert_eq!(garbage.status, StatusCode::FORBIDDEN);
    let mut other = Client::new(app.clone());
    let theirs = token(&mut other).await;
    let foreign = post_with(&mut client, "/visit", Some(&theirs)).await;
    assert_eq!(
        foreign.status,
        StatusCode::FORBIDDEN,
        "another session's token"
    );
    assert_eq!(visits(&mut client).await, 2, "nothing changed");

    let login = post_with(&mut client, "/login/ada", Some(&first)).await;
    assert_eq!(login.status, StatusCode::OK);
    let stale = post_with(&mut client, "/visit", Some(&first)).await;
    assert_eq!(
        stale.status,
        StatusCode::FORBIDDEN,
        "the login renewed the secret"
    );
    let fresh = token(&mut client).await;
    assert_eq!(
        post_with(&mut client, "/visit", Some(&fresh))
            .await
            .view()
            .visits,
        3
    );
    post_with(&mut client, "/logout", Some(&fresh)).await.view();
    let dead = post_with(&mut client, "/visit", Some(&fresh)).await;
    assert_eq!(dead.status, StatusCode::FORBIDDEN, "gone with the session");
    assert_eq!(visits(&mut client).await, 0);

    let mut api = BearerClient::new(app);
    assert_eq!(
        api.post("/api/visit").await.view().visits,
        1,
        "header tokens are exempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_requests_need_their_sessions_token_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let layers = every_layer(&dir).await;
    join_all(layers.into_iter().map(|(_, layer)| csrf_flow(layer))).await;
}

#[tokio::test]
async fn a_refused_request_writes_nothing_and_sessions_without_forms_store_no_secret() {
    let store = ProbeStore::new(MemoryStore::new());
    // Every read would refresh the expiry: a refused request does not.
    let layer = SessionLayer::new(store.clone(), &key()).with_refresh_interval(Duration::ZERO);
    let mut client = Client::new(protected(layer));
    let mut plain = Client::new(typed_sessions_tests::app(SessionLayer::new(
        store.clone(),
        &key(),
    )));
    plain.post("/visit").await;
    plain.get("/session").await;
    assert_eq!(
        store.counts().saves,
        1,
        "no form, no secret, no second write"
    );

    let token = token(&mut client).await;
    let again = self::token(&mut client).await;
    assert_ne!(again, token, "masked afresh for each response");
    let before = store.counts();
    assert_eq!(
        before.saves, 1,
        "a visitor without a session who asks for tokens stores nothing"
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    let refused = post_with(&mut client, "/visit", Some("forged")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let after = store.counts();
    assert_eq!(
        (after.saves, after.touches, after.deletes),
        (1, before.touches, 0),
        "{after:?}"
    );
    assert_eq!(after.loads, before.loads, "no session to load");
    assert_eq!(
        post_with(&mut client, "/visit", Some(&token))
            .await
            .view()
            .visits,
        1
    );
    assert_ne!(store.counts(), Counts::default());
}

#[tokio::test]
async fn form_posts_carry_the_token_in_a_field_and_big_forms_are_refused() {
    let layer = SessionLayer::new(MemoryStore::new(), &key());
    let echo = Router::new()
        .route("/echo", post(|body: String| async move { body }))
        .layer(CsrfLayer::new().with_form_limit(1024))
        .layer(layer.clone());
    let mut client = Client::new(protected(layer));
    let token = token(&mut client).await;
    let cookie = client.cookie_header().unwrap();
    let form = |body: String| {
        Request::post("/echo")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let body = format!("note=a%20b&csrf_token={token}");
    let reply = send_request(&echo, form(body.clone())).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, body.as_str()),
        "the handler reads the same body"
    );
    let reply = send_request(&echo, form("note=x&csrf_token=forged".into())).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = send_request(
        &echo,
        form(format!("csrf_token={token}&pad={}", "x".repeat(2000))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let json = Request::post("/echo")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(r#"{{"csrf_token":"{token}"}}"#)))
        .unwrap();
    assert_eq!(
        send_request(&echo, json).await.status,
        StatusCode::FORBIDDEN,
        "only forms are read"
    );
}

#[tokio::test]
async fn safe_methods_pass_and_the_layer_needs_a_session_layer_outside_it() {
    let mut client = Client::new(protected(SessionLayer::new(MemoryStore::new(), &key())));
    for method in [Method::GET, Method::HEAD] {
        assert_eq!(
            client.send(method, "/session", "").await.status,
            StatusCode::OK
        );
    }
    let bare = Router::new()
        .route("/", post(|| async { "ran" }))
        .layer(CsrfLayer::new());
    let reply = send_request(&bare, Request::post("/").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_ne!(reply.body, "ran");
}

/// `CsrfLayer` added after `SessionLayer` runs outside it and finds no session: its own
/// error, logged once, names the order that works; the handler never runs.
#[tokio::test(flavor = "current_thread")]
async fn a_csrf_layer_outside_the_session_layer_says_which_order_works() {
    let (_guard, logs) = capture_logs();
    let inverted = Router::new()
        .route("/", post(|| async { "ran" }))
        .layer(SessionLayer::new(MemoryStore::new(), &key()))
        .layer(CsrfLayer::new());
    let reply = send_request(&inverted, Request::post("/").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_ne!(reply.body, "ran");
    let text = logs.text();
    assert!(
        text.contains("CsrfLayer found no session: it must run inside SessionLayer")
            && text.contains(".layer(CsrfLayer::new()).layer(SessionLayer::new("),
        "{text}"
    );
    assert_eq!(
        text.matches("CsrfLayer found no session").count(),
        1,
        "{text}"
    );
    assert!(
        !text.contains("no session layer: add"),
        "not the generic error: {text}"
    );
    let rejection = typed_sessions::error::SessionRejection::CsrfOutsideSession;
    assert!(rejection.to_string().contains("Add CsrfLayer first"));
}

/// Anonymous visitors to a page with a form store nothing: ten of them, each with a token,
/// leave the store empty; each token then works once the visitor posts it, and the session
/// that post creates keeps the visitor's secret.
#[tokio::test]
async fn anonymous_visitors_asking_for_tokens_store_nothing() {
    let store = ProbeStore::new(MemoryStore::new());
    let app = protected(SessionLayer::new(store.clone(), &key()));
    let mut visitors = Vec::new();
    for _ in 0..10 {
        let mut client = Client::new(app.clone());
        let token = token(&mut client).await;
        assert!(client.cookie("id").is_none());
        visitors.push((client, token));
    }
    assert_eq!(store.counts(), Counts::default(), "no store call at all");
    for (client, token) in &mut visitors {
        let reply = post_with(client, "/visit", Some(token)).await;
        assert_eq!(reply.view().visits, 1);
        assert!(client.cookie("id").is_some(), "the post made the session");
        // The page's token still works once the visitor has a session...
        let again = post_with(client, "/visit", Some(token)).await;
        assert_eq!(again.view().visits, 2);
    }
    assert_eq!(
        store.counts().saves,
        20,
        "a session each, created and saved once more"
    );
    // ...and a forged CSRF cookie (another key's) opens nothing.
    let mut forger = Client::new(app.clone());
    let mut theirs = Client::new(protected(SessionLayer::new(
        MemoryStore::new(),
        &other_key(),
    )));
    let token = self::token(&mut theirs).await;
    forger.jar = theirs.jar.clone();
    let refused = post_with(&mut forger, "/visit", Some(&token)).await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "a cookie signed with another key"
    );
    let (name, value) = theirs.jar[0].clone();
    forger.jar = vec![("id".to_owned(), value)];
    let refused = post_with(&mut forger, "/visit", Some(&token)).await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "{name} is not an id cookie"
    );
}

/// On a layer that takes a bearer token or a cookie, a request authenticated by its header
/// needs no CSRF token (a browser never adds the header by itself); the same session sent
/// by its cookie does.
#[tokio::test]
async fn requests_carrying_their_token_in_a_header_are_exempt() {
    #[derive(typed_sessions::Session, Default)]
    struct Count {
        n: u64,
    }
    async fn bump(count: typed_sessions::Session<Count>) -> String {
        count.update_n(|n| *n += 1);
        count.n().to_string()
    }
    let store = MemoryStore::new();
    let layer = SessionLayer::new(store, &key())
        .with_transport(typed_sessions::Transport::bearer().or_cookie());
    let app = Router::new()
        .route("/", post(bump))
        .layer(CsrfLayer::new())
        .layer(layer.clone());
    let unguarded = Router::new().route("/", post(bump)).layer(layer);
    let mut api = BearerClient::new(unguarded);
    let reply = api
        .send(Method::POST, "/", &[("authorization", "Bearer none-yet")])
        .await;
    assert_eq!(reply.body, "1");
    let token = api
        .token
        .clone()
        .expect("a header request is answered in the header");

    let mut api = BearerClient::new(app.clone());
    api.token = Some(token.clone());
    let reply = api.send(Method::POST, "/", &[]).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "2"),
        "exempt"
    );
    let mut browser = Client::new(app);
    browser.jar.push(("id".into(), token));
    let by_cookie = browser.post("/").await;
    assert_eq!(
        by_cookie.status,
        StatusCode::FORBIDDEN,
        "the same session by cookie"
    );
}

/// A session with no CSRF secret has no token to match: its unsafe request is refused with
/// 403 before any of its body is read, however large (a form past the limit, which would
/// otherwise be answered 413 once read). On every store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_a_secret_is_refused_before_its_form_is_read_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let huge = format!("csrf_token=x&note={}", "a".repeat(3 * 1024 * 1024));
    for (kind, layer) in every_layer(&dir).await {
        let request = Request::post("/note")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(huge.clone()))
            .unwrap();
        let reply = send_request(&protected(layer), request).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{kind:?}: {}",
            reply.body
        );
    }
}
