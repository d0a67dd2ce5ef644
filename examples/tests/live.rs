//! The demo's live routes on real `demo` processes, over real WebSockets: `GET /live` (401
//! without a live session; the session JSON, `visit`, `ping`; closed with 4401 when the
//! session ends, in one process on every store and across two processes on Redis,
//! PostgreSQL and cookie sessions whose revocations are in Redis), and `GET /audit`.

mod support;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use std::time::Duration;
use support::Demo;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use typed_sessions_examples::View;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `POST path` with `cookie`; the session cookie it sets, if any (else `cookie` again).
async fn post(demo: &Demo, path: &str, cookie: Option<&str>) -> Option<String> {
    let mut request = reqwest::Client::new().post(format!("{}{path}", demo.base));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.expect("the demo answers");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    let set = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("id="))
        .map(|value| value.split(';').next().unwrap().to_owned());
    set.or_else(|| cookie.map(str::to_owned))
}

/// A WebSocket to `GET /live` with `cookie`.
async fn socket(demo: &Demo, cookie: Option<&str>) -> Result<Socket, WsError> {
    let url = format!("{}/live", demo.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert(COOKIE, cookie.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// The next text message, within 2 s.
async fn text(socket: &mut Socket) -> String {
    let next = tokio::time::timeout(Duration::from_secs(2), socket.next()).await;
    match next.expect("a message within 2 s") {
        Some(Ok(Message::Text(text))) => text.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Waits at most 2 s for the server to close `socket` with code 4401.
async fn closed_with_4401(socket: &mut Socket, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next()).await;
        match next.unwrap_or_else(|_| panic!("{what}: not closed within 2 s")) {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::from(4401), "{what}");
                return;
            }
            Some(Ok(_)) => {}
            other => panic!("{what}: expected a close frame, got {other:?}"),
        }
    }
}

/// Without a session: 401, nothing upgraded. With one: the JSON, a visit, a pong; a logout
/// closes the socket with 4401.
async fn live_in_one_process(store: &str, env: &[(&str, &str)]) {
    let demo = Demo::start_with(store, env).await;
    match socket(&demo, None).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{store}");
        }
        other => panic!("{store}: expected 401, got {:?}", other.map(|_| "a socket")),
    }
    let cookie = post(&demo, "/login/ada", None).await.expect("a cookie");
    let mut live = socket(&demo, Some(&cookie)).await.expect("upgraded");
    let opened: View = serde_json::from_str(&text(&mut live).await).unwrap();
    assert_eq!(
        (opened.user.as_deref(), opened.visits),
        (Some("ada"), 0),
        "{store}"
    );
    live.send(Message::Text("visit".into())).await.unwrap();
    let visited = text(&mut live).await;
    if store.ends_with("cookie") {
        assert!(
            visited.contains("cannot be saved over a socket"),
            "{visited}"
        );
    } else {
        let visited: View = serde_json::from_str(&visited).unwrap();
        assert_eq!(visited.visits, 1, "{store}");
    }
    live.send(Message::Text("ping".into())).await.unwrap();
    assert_eq!(text(&mut live).await, "pong", "{store}");
    post(&demo, "/visit", Some(&cookie)).await;
    post(&demo, "/logout", Some(&cookie)).await;
    closed_with_4401(&mut live, store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_follows_its_session_in_one_process_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("sessions");
    let sqlite = format!("sqlite://{}", dir.path().join("live.db").display());
    live_in_one_process("memory", &[]).await;
    live_in_one_process("file", &[("SESSION_DIR", files.to_str().unwrap())]).await;
    live_in_one_process("sqlite", &[("SQLITE_URL", &sqlite)]).await;
    live_in_one_process("redis", &[]).await;
    live_in_one_process("postgres", &[]).await;
    live_in_one_process("cookie", &[]).await;
    live_in_one_process("signed-cookie", &[]).await;
}

/// A socket on one process; "log out everywhere" from another device on the other.
async fn live_across_processes(store: &str, env: &[(&str, &str)]) {
    let (one, two) = (
        Demo::start_with(store, env).await,
        Demo::start_with(store, env).await,
    );
    let phone = post(&one, "/login/ada", None).await.expect("a cookie");
    let mut live = socket(&one, Some(&phone)).await.expect("upgraded");
    text(&mut live).await;
    let laptop = post(&two, "/login/ada", None).await.expect("a cookie");
    post(&two, "/logout-everywhere", Some(&laptop)).await;
    closed_with_4401(&mut live, store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_closes_when_another_process_logs_out_everywhere() {
    live_across_processes("redis", &[]).await;
    live_across_processes("postgres", &[]).await;
    live_across_processes("cookie", &[("SESSION_REVOCATION_STORE", "redis")]).await;
    live_across_processes("cookie", &[("SESSION_REVOCATION_STORE", "postgres")]).await;
}

#[tokio::test]
async fn the_audit_lists_the_owners_events_oldest_first() {
    let demo = Demo::start("memory").await;
    let anonymous = reqwest::get(format!("{}/audit", demo.base)).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let phone = post(&demo, "/login/ada", None).await.expect("a cookie");
    let laptop = post(&demo, "/login/ada", None).await.expect("a cookie");
    post(&demo, "/logout-others", Some(&laptop)).await;
    let audit: Vec<serde_json::Value> = reqwest::Client::new()
        .get(format!("{}/audit", demo.base))
        .header(COOKIE, &laptop)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events: Vec<&str> = audit.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["created", "bound", "created", "bound", "revoked"]);
    assert_eq!(
        audit[4]["fingerprint"], audit[0]["fingerprint"],
        "the phone's"
    );
    assert!(audit.iter().all(|e| e["at_ms"].as_u64().unwrap() > 0));
    let text = serde_json::to_string(&audit).unwrap();
    let phone_id = phone.trim_start_matches("id=");
    assert!(!text.contains(phone_id), "no cookie in the audit");
}
