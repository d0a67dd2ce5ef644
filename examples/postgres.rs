//! Sessions in PostgreSQL: a table of its own, created on start, expired rows swept in the
//! background.
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run -p typed-sessions-examples
//! --example postgres`, then open http://127.0.0.1:3000.

use axum::{Router, routing::get};
use std::time::Duration;
use typed_sessions::{Key, PostgresStore, Session, SessionLayer};

/// A shopping cart.
#[derive(Session, Default, Debug)]
pub struct Cart {
    items: Vec<String>,
}

async fn add(cart: Session<Cart>) -> String {
    let count = cart.update_items(|items| {
        items.push(format!("item {}", items.len() + 1));
        items.len()
    });
    format!("{count} items in your cart")
}

/// The app, with its sessions in `store`.
pub fn app(store: PostgresStore, key: &Key) -> Router {
    let layer = SessionLayer::new(store, key).with_idle_timeout(Duration::from_secs(3600));
    Router::new().route("/", get(add)).layer(layer)
}

/// The store on `url`, its table created if missing, sweeping expired rows every minute.
pub async fn store(url: &str) -> Result<PostgresStore, typed_sessions::error::StoreError> {
    // Expired sessions are never served; sweeping only reclaims their rows.
    let store = PostgresStore::connect(url)
        .await?
        .with_sweep_interval(Duration::from_secs(60));
    store.migrate().await?;
    Ok(store)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let key =
        Key::from_secret(b"an example secret that is at least sixty-four bytes long, really!")?;
    let app = app(store(&url).await?, &key);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("http://127.0.0.1:3000");
    // Ctrl-C or SIGTERM: the requests in flight are answered, their sessions saved.
    axum::serve(listener, app)
        .with_graceful_shutdown(typed_sessions_examples::shutdown())
        .await?;
    Ok(())
}
