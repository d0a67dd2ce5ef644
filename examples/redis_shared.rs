//! Two instances of one app sharing sessions through Redis: a visitor may land on either.
//!
//! `REDIS_URL=redis://127.0.0.1:6379 cargo run -p typed-sessions-examples --example redis_shared`
//! serves the same app on ports 3001 and 3002. A cookie set by one works on the other:
//! `curl -c jar -b jar 127.0.0.1:3001/`, then `curl -c jar -b jar 127.0.0.1:3002/`.

use axum::{Router, routing::get};
use typed_sessions::{Key, RedisStore, Session, SessionLayer};

/// What both instances see.
#[derive(Session, Default, Debug)]
pub struct Visit {
    count: u64,
    last_port: Option<u16>,
}

/// One instance: `port` only tells the visitor which instance answered.
pub fn app(store: RedisStore, key: &Key, port: u16) -> Router {
    let handler = move |visit: Session<Visit>| async move {
        let before = visit.last_port();
        visit.set_last_port(Some(port));
        let count = visit.update_count(|count| {
            *count += 1;
            *count
        });
        format!("visit {count} on :{port}, the one before on {before:?}")
    };
    Router::new()
        .route("/", get(handler))
        .layer(SessionLayer::new(store, key))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    // Every instance needs the same key; read it from configuration.
    let key =
        Key::from_secret(b"an example secret that is at least sixty-four bytes long, really!")?;
    let mut servers = tokio::task::JoinSet::new();
    for port in [3001, 3002] {
        let app = app(
            RedisStore::connect(&url).await?.with_prefix("example:"),
            &key,
            port,
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("http://127.0.0.1:{port}");
        // Ctrl-C or SIGTERM: both answer their requests in flight, then stop.
        servers.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(typed_sessions_examples::shutdown())
                .await
        });
    }
    while let Some(served) = servers.join_next().await {
        served??;
    }
    Ok(())
}
