//! Each single-file example, as a user would run it: its router served on a loopback port,
//! driven by an HTTP client that keeps cookies like a browser.

#[allow(dead_code, unreachable_pub)] // `main` is the example's own; `pub` is for this test
#[path = "../cookie_sessions.rs"]
mod cookie_sessions;
#[allow(dead_code, unreachable_pub)] // `main` is the example's own; `pub` is for this test
#[path = "../counter.rs"]
mod counter;
#[allow(dead_code, unreachable_pub)] // `main` is the example's own; `pub` is for this test
#[path = "../live.rs"]
mod live;
#[allow(dead_code, unreachable_pub)] // `main` is the example's own; `pub` is for this test
#[path = "../login.rs"]
mod login;
#[allow(dead_code, unreachable_pub)] // `main` is the example's own; `pub` is for this test
#[path = "../postgres.rs"]
mod postgres;
#[allow(dead_code, unreachable_pub)] // `main` is the example's own; `pub` is for this test
#[path = "../redis_shared.rs"]
mod redis_shared;

use axum::Router;
use reqwest::StatusCode;
use tokio::net::TcpListener;
use typed_sessions::Key;

/// Serves `app` on a free loopback port until the test ends; its base URL.
async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A browser: one cookie jar.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn text(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
) -> (StatusCode, String) {
    let reply = client.request(method, url).send().await.unwrap();
    (reply.status(), reply.text().await.unwrap())
}

async fn get(client: &reqwest::Client, url: &str) -> String {
    let (status, body) = text(client, reqwest::Method::GET, url).await;
    assert_eq!(status, StatusCode::OK, "{url}: {body}");
    body
}

fn key(byte: u8) -> Key {
    Key::from_secret(&[byte; 64]).unwrap()
}

#[tokio::test]
async fn counter_counts_each_visitor_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve(counter::app(
        typed_sessions::FileStore::open(dir.path()).unwrap(),
        &key(1),
    ))
    .await;
    let ada = browser();
    assert_eq!(get(&ada, &base).await, "You have been here 1 times.");
    assert_eq!(get(&ada, &base).await, "You have been here 2 times.");
    assert_eq!(get(&browser(), &base).await, "You have been here 1 times.");
}

/// `POST /login/{user}` on the login example; the `sid` cookie it set.
async fn log_in(client: &reqwest::Client, base: &str, user: &str) -> String {
    let reply = client
        .post(format!("{base}/login/{user}"))
        .send()
        .await
        .unwrap();
    let sid = reply.cookies().find(|c| c.name() == "sid").unwrap();
    sid.value().to_owned()
}

/// `GET url` from a fresh client sending only the `sid` cookie `value`.
async fn with_sid(url: &str, value: &str) -> reqwest::Response {
    let request = reqwest::Client::new().get(url);
    request
        .header("cookie", format!("sid={value}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_moves_the_session_to_a_new_id_and_logout_ends_it() {
    use reqwest::Method;
    let base = serve(login::app(&key(2))).await;
    let client = browser();
    let me = format!("{base}/me");
    assert_eq!(
        text(&client, Method::GET, &me).await.0,
        StatusCode::UNAUTHORIZED
    );
    let first = log_in(&client, &base, "ada").await;
    assert_eq!(get(&client, &me).await, "ada");

    // Logging in again moves the session to a new id; the old id opens nothing.
    let second = log_in(&client, &base, "bob").await;
    assert_ne!(first, second);
    assert_eq!(get(&client, &me).await, "bob");
    let stale = with_sid(&me, &first).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(
        text(&client, Method::POST, &format!("{base}/logout"))
            .await
            .1,
        "bye"
    );
    assert_eq!(
        text(&client, Method::GET, &me).await.0,
        StatusCode::UNAUTHORIZED
    );
    let replayed = with_sid(&me, &second).await;
    assert_eq!(
        replayed.status(),
        StatusCode::UNAUTHORIZED,
        "deleted, not just forgotten"
    );
}

#[tokio::test]
async fn cookie_sessions_survive_a_key_rotation_and_die_when_the_old_key_is_dropped() {
    let before = serve(cookie_sessions::app(&key(3), &[])).await;
    let client = browser();
    get(&client, &format!("{before}/dark")).await;
    assert_eq!(get(&client, &before).await, "theme \"dark\", 1 views");

    // Rotated: the new key seals, the old one still opens.
    let rotated = serve(cookie_sessions::app(&key(4), &[key(3)])).await;
    assert_eq!(get(&client, &rotated).await, "theme \"dark\", 2 views");

    // The old key dropped: a cookie only it sealed opens nothing.
    let dropped = serve(cookie_sessions::app(&key(4), &[])).await;
    let old_only = browser();
    get(&old_only, &format!("{before}/dark")).await;
    assert_eq!(get(&old_only, &dropped).await, "theme \"\", 1 views");
    // The rotated cookie, sealed again under the new key, still opens.
    assert_eq!(get(&client, &dropped).await, "theme \"dark\", 3 views");
}

#[tokio::test]
async fn two_instances_share_sessions_through_redis() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("examples-{}:", std::process::id());
    let mut bases = Vec::new();
    for _ in 0..2 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let store = typed_sessions::RedisStore::connect(&url)
            .await
            .unwrap()
            .with_prefix(prefix.clone());
        let app = redis_shared::app(store, &key(5), port);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        bases.push((format!("http://127.0.0.1:{port}"), port));
    }
    let client = browser();
    let (a, port_a) = &bases[0];
    let (b, port_b) = &bases[1];
    assert_eq!(
        get(&client, a).await,
        format!("visit 1 on :{port_a}, the one before on None")
    );
    assert_eq!(
        get(&client, b).await,
        format!("visit 2 on :{port_b}, the one before on Some({port_a})")
    );
    assert_eq!(
        get(&client, a).await,
        format!("visit 3 on :{port_a}, the one before on Some({port_b})")
    );
}

#[tokio::test]
async fn postgres_keeps_the_cart() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let base = serve(postgres::app(postgres::store(&url).await.unwrap(), &key(6))).await;
    let client = browser();
    assert_eq!(get(&client, &base).await, "1 items in your cart");
    assert_eq!(get(&client, &base).await, "2 items in your cart");
    assert_eq!(get(&browser(), &base).await, "1 items in your cart");
}

#[tokio::test]
async fn live_counts_messages_and_closes_when_the_session_ends() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let base = serve(live::app(&key(5))).await;
    let url = format!("{}/live", base.replace("http://", "ws://"));
    let refused = tokio_tungstenite::connect_async(url.as_str()).await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 401),
        "no session, no socket"
    );
    let client = reqwest::Client::new();
    let sid = log_in(&client, &base, "ada").await;
    let mut request = url.into_client_request().unwrap();
    let cookie = format!("sid={sid}").parse().unwrap();
    request.headers_mut().insert("cookie", cookie);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket.send(Message::Text("hello".into())).await.unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert_eq!(reply, Message::Text("1 messages".into()));
    let logout = client
        .post(format!("{base}/logout"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success());
    let closed = tokio::time::timeout(std::time::Duration::from_secs(2), socket.next())
        .await
        .expect("closed within 2 s");
    let Some(Ok(Message::Close(Some(frame)))) = closed else {
        panic!("expected a close frame, got {closed:?}")
    };
    assert_eq!(u16::from(frame.code), 4401);
}
