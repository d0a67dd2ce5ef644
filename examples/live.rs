//! A WebSocket that follows its session: each text message counts a visit (saved with
//! compare-and-swap beside the HTTP requests of the same session), and the socket closes
//! (code 4401) the moment the session ends, by a logout here or, over Redis, on any other
//! instance.
//!
//! `cargo run -p typed-sessions-examples --example live`, then log in with
//! `curl -c jar -X POST 127.0.0.1:3000/login/ada`, open a WebSocket to `/live` with that
//! cookie (`websocat -H "Cookie: $(grep -o 'sid.*' jar | tr '\t' '=')" ws://127.0.0.1:3000/live`),
//! and log out with `curl -b jar -X POST 127.0.0.1:3000/logout`.

use axum::Router;
use axum::extract::Path;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{get, post};
use typed_sessions::live::LiveSession;
use typed_sessions::{Key, MemoryStore, Session, SessionLayer};

/// Who is logged in, and how often they said hello.
#[derive(Session, Default, Debug)]
pub struct Chat {
    user: Option<String>,
    messages: u64,
}

async fn login(chat: Session<Chat>, Path(user): Path<String>) {
    chat.bind_owner(&user).expect("a valid user name");
    chat.set_user(Some(user));
}

async fn logout(chat: Session<Chat>) {
    chat.delete();
}

/// 401 before the upgrade when the request has no live session.
async fn live(chat: LiveSession<Chat>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| talk(socket, chat))
}

async fn talk(mut socket: WebSocket, chat: LiveSession<Chat>) {
    loop {
        tokio::select! {
            reason = chat.ended() => {
                let reason = format!("session {}", reason.as_str()).into();
                let close = CloseFrame { code: 4401, reason };
                let _ = socket.send(Message::Close(Some(close))).await;
                return;
            }
            message = socket.recv() => {
                let Some(Ok(Message::Text(_))) = message else { return };
                chat.update_messages(|n| *n += 1);
                if chat.save().await.is_err() {
                    continue; // ended: closed on the next turn
                }
                let reply = format!("{} messages", chat.messages());
                if socket.send(Message::Text(reply.into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The app, with its sessions in memory.
pub fn app(key: &Key) -> Router {
    Router::new()
        .route("/login/{user}", post(login))
        .route("/logout", post(logout))
        .route("/live", get(live))
        .layer(SessionLayer::new(MemoryStore::new(), key).with_cookie_name("sid"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("http://127.0.0.1:3000");
    axum::serve(listener, app(&Key::generate()))
        .with_graceful_shutdown(typed_sessions_examples::shutdown())
        .await?;
    Ok(())
}
