//! The demo's live routes: `GET /live`, a WebSocket on the cookie's session that closes
//! (code 4401) when the session ends anywhere, and `GET /audit`, the owner's lifecycle
//! events as this process saw them.

use super::{Demo, view};
use crate::devices::{Refused, owned};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::UNIX_EPOCH;
use typed_sessions::Session;
use typed_sessions::events::{EventSink, SessionEvent};
use typed_sessions::live::LiveSession;

/// The close code of a socket whose session ended: 4401, "unauthorized" in the range
/// RFC 6455 leaves to applications.
pub const SESSION_ENDED: u16 = 4401;

/// How many events `/audit` keeps per owner (the oldest go first).
const AUDIT_MAX: usize = 1000;

/// One entry of `GET /audit`.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// `created`, `bound`, `rotated`, `revoked`, `deleted` or `expired`.
    pub event: &'static str,
    /// The session's fingerprint.
    pub fingerprint: String,
    /// When, in Unix milliseconds.
    pub at_ms: u64,
}

/// The events of each owner this process saw, oldest first: the layer's [`EventSink`].
#[derive(Clone, Default, Debug)]
pub struct Audit(Arc<Mutex<HashMap<String, VecDeque<AuditEntry>>>>);

impl EventSink for Audit {
    fn deliver(&self, event: SessionEvent) -> bool {
        let Some(owner) = event.owner else {
            return true;
        };
        let at_ms = event
            .at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |at| u64::try_from(at.as_millis()).unwrap_or(u64::MAX));
        let entry = AuditEntry {
            event: event.kind.as_str(),
            fingerprint: event.fingerprint.to_string(),
            at_ms,
        };
        let mut owners = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let events = owners.entry(owner.as_str().to_owned()).or_default();
        if events.len() == AUDIT_MAX {
            events.pop_front();
        }
        events.push_back(entry);
        true
    }
}

/// `GET /live` and `GET /audit`.
pub(super) fn routes(audit: Audit) -> Router {
    Router::new()
        .route("/live", get(live))
        .route("/audit", get(show_audit))
        .with_state(audit)
}

async fn show_audit(
    State(audit): State<Audit>,
    session: Session<Demo>,
) -> Result<Json<Vec<AuditEntry>>, Refused> {
    owned(&session)?;
    let owner = session.owner().expect("checked");
    let owners = audit.0.lock().unwrap_or_else(PoisonError::into_inner);
    let events = owners.get(owner.as_str()).cloned().unwrap_or_default();
    Ok(Json(events.into()))
}

/// 401 without a live session, before anything is upgraded.
async fn live(session: LiveSession<Demo>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| talk(socket, session))
}

/// The session JSON on open; `visit` counts a visit and answers the JSON (a cookie
/// session, which cannot be saved over a socket, answers `{"error": …}`), `ping` answers
/// `pong`; every message is activity. The socket closes with [`SESSION_ENDED`] when the
/// session ends.
async fn talk(mut socket: WebSocket, session: LiveSession<Demo>) {
    if send_view(&mut socket, &session).await.is_err() {
        return;
    }
    loop {
        let message = tokio::select! {
            reason = session.ended() => {
                let frame = CloseFrame {
                    code: SESSION_ENDED,
                    reason: format!("session {}", reason.as_str()).into(),
                };
                let _ = socket.send(Message::Close(Some(frame))).await;
                return;
            }
            message = socket.recv() => message,
        };
        let Some(Ok(message)) = message else { return };
        let answered = match message {
            Message::Text(text) if text.as_str() == "visit" => {
                session.update_visits(|visits| *visits += 1);
                match session.save().await {
                    Ok(()) => send_view(&mut socket, &session).await,
                    // Ended: the next turn of the loop closes the socket.
                    Err(typed_sessions::Error::SessionEnded) => Ok(()),
                    // A cookie session (its cookie travels in HTTP responses), or the
                    // store failed: said, and the socket goes on.
                    Err(error) => {
                        let error = serde_json::json!({ "error": error.to_string() });
                        socket.send(Message::Text(error.to_string().into())).await
                    }
                }
            }
            Message::Text(text) if text.as_str() == "ping" => {
                let _ = session.activity().await;
                socket.send(Message::Text("pong".into())).await
            }
            Message::Close(_) => return,
            _ => Ok(()),
        };
        if answered.is_err() {
            return;
        }
    }
}

async fn send_view(socket: &mut WebSocket, session: &LiveSession<Demo>) -> Result<(), axum::Error> {
    let json = serde_json::to_string(&view(session).0).expect("a view serializes");
    socket.send(Message::Text(json.into())).await
}
