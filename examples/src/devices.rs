//! The demo's "users and devices" routes: a logged-in user's sessions, listed and revoked;
//! re-authentication ("sudo mode") and a change of password.

use super::{Demo, View, view};
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use typed_sessions::error::SessionRejection;
use typed_sessions::{Fingerprint, Fresh, Session};

/// One session in `GET /sessions`.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq, Clone)]
pub struct Device {
    /// The session's fingerprint: `POST /revoke/{id}` revokes it.
    pub id: String,
    /// It is the session of the request that listed it.
    pub current: bool,
    /// When it began, Unix ms.
    pub created_ms: u64,
    /// When it was last used, Unix ms.
    pub last_seen_ms: u64,
    /// When it expires unless used, Unix ms.
    pub expires_ms: u64,
    /// What the login called the device: a summary of its `User-Agent`.
    #[serde(default)]
    pub label: Option<String>,
}

/// The session JSON of a log-out route, with how many sessions it ended (`null` where the
/// store cannot count them: cookie sessions).
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq, Clone)]
pub struct LoggedOut {
    /// The session after the log-out.
    #[serde(flatten)]
    pub view: View,
    /// How many sessions ended.
    pub ended: Option<u64>,
}

/// "Firefox on Linux": a summary of a `User-Agent`, to name a session in the list of
/// devices.
pub fn device_label(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent else {
        return "unknown device".to_owned();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(token, _)| agent.contains(token))
    .map_or("a browser", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, name)| name);
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

/// Why a device route failed.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The session has no owner: 401.
    NoOwner,
    /// The store failed (503), or cannot list (501).
    Session(typed_sessions::Error),
    /// The user has not authenticated recently enough: 403.
    NotFresh,
}

impl From<typed_sessions::Error> for Refused {
    fn from(error: typed_sessions::Error) -> Self {
        Self::Session(error)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::NoOwner => {
                (StatusCode::UNAUTHORIZED, "log in first: POST /login/{user}").into_response()
            }
            Self::Session(error) => error.into_response(),
            Self::NotFresh => (
                StatusCode::FORBIDDEN,
                "authenticate again first: POST /sudo",
            )
                .into_response(),
        }
    }
}

/// 401 unless the session has an owner.
pub(crate) fn owned(session: &Session<Demo>) -> Result<(), Refused> {
    match session.owner() {
        Some(_) => Ok(()),
        None => Err(Refused::NoOwner),
    }
}

fn ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(super) async fn list(session: Session<Demo>) -> Result<Json<Vec<Device>>, Refused> {
    owned(&session)?;
    let sessions = session.sessions().await?;
    Ok(Json(sessions.iter().map(Device::of).collect()))
}

impl Device {
    /// One of the owner's sessions, as the demo shows it.
    pub(crate) fn of(listed: &typed_sessions::ActiveSession) -> Self {
        Self {
            id: listed.fingerprint.to_string(),
            current: listed.current,
            created_ms: ms(listed.created),
            last_seen_ms: ms(listed.last_seen),
            expires_ms: ms(listed.expires),
            label: listed.label.clone(),
        }
    }
}

pub(super) async fn logout_everywhere(session: Session<Demo>) -> Result<Json<LoggedOut>, Refused> {
    owned(&session)?;
    let ended = session.log_out_everywhere().await?;
    Ok(logged_out(&session, ended))
}

pub(super) async fn logout_others(session: Session<Demo>) -> Result<Json<LoggedOut>, Refused> {
    owned(&session)?;
    let ended = session.log_out_others().await?;
    Ok(logged_out(&session, ended))
}

fn logged_out(session: &Session<Demo>, ended: Option<u64>) -> Json<LoggedOut> {
    let Json(view) = view(session);
    Json(LoggedOut { view, ended })
}

pub(super) async fn revoke(
    session: Session<Demo>,
    Path(fingerprint): Path<String>,
) -> Result<StatusCode, Refused> {
    owned(&session)?;
    let Ok(fingerprint) = fingerprint.parse::<Fingerprint>() else {
        return Ok(StatusCode::NOT_FOUND);
    };
    let revoked = session.revoke(fingerprint).await?;
    Ok(if revoked {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    })
}

/// `?days=N` for `POST /remember`.
#[derive(Deserialize, Debug)]
pub(super) struct Days {
    days: u64,
}

pub(super) async fn remember(
    session: Session<Demo>,
    Query(Days { days }): Query<Days>,
) -> Result<Json<View>, Refused> {
    owned(&session)?;
    let days = days.min(400);
    session.remember((days > 0).then(|| Duration::from_secs(days * 24 * 60 * 60)));
    Ok(view(&session))
}

/// `POST /sudo`: the user proved who they are again (in a real application, a password or a
/// second factor checked here).
pub(super) async fn sudo(session: Session<Demo>) -> Result<Json<View>, Refused> {
    owned(&session)?;
    session.reauthenticated();
    Ok(view(&session))
}

/// `POST /sensitive`: `{"ok":true}` when the user authenticated within `DEMO_FRESH_SECS`,
/// else 403 and the session is left as it was.
pub(super) async fn sensitive(
    session: Session<Demo>,
    fresh: Result<Fresh<Demo>, SessionRejection>,
) -> Result<Json<serde_json::Value>, Response> {
    owned(&session).map_err(IntoResponse::into_response)?;
    match fresh {
        Ok(_) => Ok(Json(serde_json::json!({ "ok": true }))),
        Err(SessionRejection::NotFresh) => Err(Refused::NotFresh.into_response()),
        Err(other) => Err(other.into_response()),
    }
}

/// `POST /password`: every other session of the owner ends, on every instance; this one
/// goes on under a new id.
pub(super) async fn password(session: Session<Demo>) -> Result<Json<View>, Refused> {
    owned(&session)?;
    session.credentials_changed().await?;
    Ok(view(&session))
}
