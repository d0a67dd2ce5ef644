//! A counter on one session, for races between instances: `POST /hit` counts and answers
//! the count; `POST /slow` counts, then takes 200 ms before its save, so that a `/hit`
//! sent meanwhile saves first.

use axum::Router;
use axum::routing::post;
use std::time::Duration;
use typed_sessions::{Session, SessionLayer};

/// The session the routes count in.
#[derive(Session, Default, Debug)]
pub struct Hits {
    count: u64,
}

/// `POST /hit` and `POST /slow` behind `layer`.
pub fn hits(layer: SessionLayer) -> Router {
    async fn hit(session: Session<Hits>) -> String {
        session.update_count(|n| *n += 1);
        session.count().to_string()
    }
    async fn slow_hit(session: Session<Hits>) {
        session.update_count(|n| *n += 1);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Router::new()
        .route("/hit", post(hit))
        .route("/slow", post(slow_hit))
        .layer(layer)
}
