//! The routes of the owner tests (`owners.rs`, `revocation.rs`, `owner_index.rs`): a
//! session struct, login, the user's devices, and the revocations, with two instances of
//! one layer.

use crate::{Client, send};
use axum::Router;
use axum::extract::Path;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use std::time::Duration;
use typed_sessions::{Fingerprint, Fresh, Session, SessionLayer};

/// What the owner tests keep: a count.
#[derive(Session, Default, Debug)]
pub struct OwnedVisit {
    count: u64,
}

/// The routes of a user's devices: log in as someone, see who you are, list, revoke; a
/// change of password (`POST /password`), re-authentication (`POST /sudo`) and a route
/// that needs a fresh login (`POST /sensitive`: `count += 1`).
pub fn owner_routes() -> Router {
    async fn login(visit: Session<OwnedVisit>, Path(user): Path<String>) -> String {
        visit.bind_owner(&user).expect("a valid owner");
        visit.update_count(|n| *n += 1);
        user
    }
    async fn me(visit: Session<OwnedVisit>) -> String {
        format!(
            "{} {}",
            visit
                .owner()
                .as_ref()
                .map(typed_sessions::Owner::as_str)
                .unwrap_or("-"),
            visit.count()
        )
    }
    async fn count(visit: Session<OwnedVisit>) {
        visit.update_count(|n| *n += 1);
    }
    /// `fingerprint current` per line, oldest first.
    async fn sessions(visit: Session<OwnedVisit>) -> Result<String, typed_sessions::Error> {
        let listed = visit.sessions().await?;
        Ok(listed
            .iter()
            .map(|s| format!("{} {}\n", s.fingerprint, s.current))
            .collect())
    }
    /// How many sessions a log-out call ended: `ended N`, or `ended ?` where the store
    /// cannot count them.
    fn ended(ended: Option<u64>) -> String {
        ended.map_or_else(|| "ended ?".to_owned(), |n| format!("ended {n}"))
    }
    async fn everywhere(visit: Session<OwnedVisit>) -> Result<String, typed_sessions::Error> {
        visit.log_out_everywhere().await.map(ended)
    }
    async fn others(visit: Session<OwnedVisit>) -> Result<String, typed_sessions::Error> {
        visit.log_out_others().await.map(ended)
    }
    async fn password(visit: Session<OwnedVisit>) -> Result<String, typed_sessions::Error> {
        visit.credentials_changed().await.map(ended)
    }
    async fn sudo(visit: Session<OwnedVisit>) {
        visit.reauthenticated();
    }
    async fn sensitive(visit: Fresh<OwnedVisit>) -> &'static str {
        visit.update_count(|n| *n += 1);
        "ok"
    }
    async fn revoke(
        visit: Session<OwnedVisit>,
        Path(fingerprint): Path<String>,
    ) -> Result<String, typed_sessions::Error> {
        let fingerprint: Fingerprint = fingerprint.parse().expect("a fingerprint");
        Ok(visit.revoke(fingerprint).await?.to_string())
    }
    /// A login that also logs out the user's other devices.
    async fn login_only_here(
        visit: Session<OwnedVisit>,
        Path(user): Path<String>,
    ) -> Result<(), typed_sessions::Error> {
        visit.bind_owner(&user).expect("a valid owner");
        visit.cycle_id();
        visit.log_out_others().await.map(|_| ())
    }
    async fn slow_count(visit: Session<OwnedVisit>) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        visit.update_count(|n| *n += 1);
    }
    async fn slow_cycle(visit: Session<OwnedVisit>) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        visit.cycle_id();
        visit.update_count(|n| *n += 1);
    }
    Router::new()
        .route("/login/{user}", post(login))
        .route("/me", get(me))
        .route("/count", post(count))
        .route("/sessions", get(sessions))
        .route("/logout-everywhere", post(everywhere))
        .route("/logout-others", post(others))
        .route("/password", post(password))
        .route("/sudo", post(sudo))
        .route("/sensitive", post(sensitive))
        .route("/revoke/{fingerprint}", post(revoke))
        .route("/login-only-here/{user}", post(login_only_here))
        .route("/slow-count", post(slow_count))
        .route("/slow-cycle", post(slow_cycle))
}

/// Two instances sharing a backend: `layer` builds each one's layer.
pub fn instances(layer: impl Fn() -> SessionLayer) -> (Router, Router) {
    (owner_routes().layer(layer()), owner_routes().layer(layer()))
}

/// `GET /me` on `app` with `cookie`.
pub async fn me(app: &Router, cookie: &str) -> String {
    send(app, Method::GET, "/me", Some(cookie), "").await.body
}

/// The fingerprints `client` lists, and which is current.
pub async fn listed(client: &mut Client) -> Vec<(String, bool)> {
    let reply = client.get("/sessions").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply
        .body
        .lines()
        .map(|line| {
            let (fingerprint, current) = line.split_once(' ').expect("two words");
            (fingerprint.to_owned(), current == "true")
        })
        .collect()
}
