//! Log in and out: a new session id on login (against session fixation), the session
//! deleted on logout.
//!
//! `cargo run -p typed-sessions-examples --example login`, then:
//! `curl -c jar -b jar -X POST 127.0.0.1:3000/login/ada`, `curl -b jar 127.0.0.1:3000/me`,
//! `curl -c jar -b jar -X POST 127.0.0.1:3000/logout`.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use typed_sessions::{Key, MemoryStore, Session, SessionLayer};

/// Who is logged in.
#[derive(Session, Default, Debug)]
pub struct Auth {
    user: Option<String>,
}

async fn login(auth: Session<Auth>, Path(user): Path<String>) -> String {
    // Check a password here. Then: a new id, so that an id planted before login is useless.
    auth.cycle_id();
    auth.set_user(Some(user.clone()));
    format!("welcome, {user}")
}

async fn me(auth: Session<Auth>) -> Result<String, StatusCode> {
    auth.user().ok_or(StatusCode::UNAUTHORIZED)
}

async fn logout(auth: Session<Auth>) -> &'static str {
    // The record is deleted and the cookie expired when the request ends.
    auth.delete();
    "bye"
}

/// The app, with its sessions in memory.
pub fn app(key: &Key) -> Router {
    Router::new()
        .route("/login/{user}", post(login))
        .route("/me", get(me))
        .route("/logout", post(logout))
        .layer(SessionLayer::new(MemoryStore::new(), key).with_cookie_name("sid"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("http://127.0.0.1:3000");
    // A random key: sessions end with the process. Read a fixed one from configuration.
    // Ctrl-C or SIGTERM: the requests in flight are answered, their sessions saved.
    axum::serve(listener, app(&Key::generate()))
        .with_graceful_shutdown(typed_sessions_examples::shutdown())
        .await?;
    Ok(())
}
