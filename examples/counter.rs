//! A visit counter, kept in files under `./sessions`.
//!
//! `cargo run -p typed-sessions-examples --example counter`, then open http://127.0.0.1:3000 and
//! reload: the count goes up, and survives a restart of the server (the key is fixed here;
//! read yours from configuration).

use axum::{Router, routing::get};
use typed_sessions::{FileStore, Key, Session, SessionLayer};

/// What the session holds.
#[derive(Session, Default, Debug)]
pub struct Visits {
    count: u64,
}

async fn index(visits: Session<Visits>) -> String {
    let count = visits.update_count(|count| {
        *count += 1;
        *count
    });
    format!("You have been here {count} times.")
}

/// The app, with its sessions in `store`.
pub fn app(store: FileStore, key: &Key) -> Router {
    Router::new()
        .route("/", get(index))
        .layer(SessionLayer::new(store, key))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Use `openssl rand -base64 64` for yours, from configuration, not source.
    let key =
        Key::from_secret(b"an example secret that is at least sixty-four bytes long, really!")?;
    let app = app(FileStore::open("sessions")?, &key);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("http://127.0.0.1:3000");
    // Ctrl-C or SIGTERM: the requests in flight are answered, their sessions saved.
    axum::serve(listener, app)
        .with_graceful_shutdown(typed_sessions_examples::shutdown())
        .await?;
    Ok(())
}
