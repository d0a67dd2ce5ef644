//! Sessions sealed in the cookie (XChaCha20-Poly1305): no server-side store at all, so any
//! number of servers that share the key serve the same sessions. Keys rotate: cookies made
//! with the previous key are still accepted, and sealed again under the new one.
//!
//! `SESSION_SECRET=... SESSION_PREVIOUS_SECRET=... cargo run -p typed-sessions-examples --example
//! cookie_sessions` (each secret at least 64 bytes; `openssl rand -base64 64` makes one).

use axum::{Router, routing::get};
use typed_sessions::error::InvalidKeyError;
use typed_sessions::{CookieBackend, Key, Session, SessionLayer};

/// A short theme preference: cookies hold about 4 KB, so keep sealed sessions small.
#[derive(Session, Default, Debug)]
pub struct Prefs {
    theme: String,
    views: u32,
}

async fn index(prefs: Session<Prefs>) -> String {
    let views = prefs.update_views(|views| {
        *views += 1;
        *views
    });
    prefs.view_theme(|theme| format!("theme {theme:?}, {views} views"))
}

async fn dark(prefs: Session<Prefs>) -> &'static str {
    prefs.set_theme("dark".into());
    "dark it is"
}

/// The app, sealing with `current` and still opening what `previous` sealed.
pub fn app(current: &Key, previous: &[Key]) -> Router {
    let layer = SessionLayer::new(CookieBackend::sealed(), current).with_previous_keys(previous);
    Router::new()
        .route("/", get(index))
        .route("/dark", get(dark))
        .layer(layer)
}

fn key(var: &str) -> Result<Option<Key>, InvalidKeyError> {
    std::env::var(var)
        .ok()
        .map(|secret| Key::from_secret(secret.as_bytes()))
        .transpose()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let current = key("SESSION_SECRET")?.unwrap_or_else(Key::generate);
    let previous: Vec<Key> = key("SESSION_PREVIOUS_SECRET")?.into_iter().collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("http://127.0.0.1:3000");
    // Ctrl-C or SIGTERM: the requests in flight are answered, their sessions saved.
    axum::serve(listener, app(&current, &previous))
        .with_graceful_shutdown(typed_sessions_examples::shutdown())
        .await?;
    Ok(())
}
