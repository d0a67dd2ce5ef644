//! The tests' own router: the routes the library's tests drive, written against the public
//! API alone, so that the library's tests do not depend on the demo server (which
//! `examples/tests` drives as its users do).
//!
//! | route | does |
//! |---|---|
//! | `GET /session` | the session, read only |
//! | `POST /visit` | `visits += 1` |
//! | `POST /login/{user}` | sets `user`, binds the session to that owner (400 if it is not one) |
//! | `POST /logout`, `POST /invalidate` | `delete()`; `invalidate()` then `visits += 1` |
//! | `POST /inc/{a or b}?delay_ms=N` | loads, sleeps N ms, then that field `+= 1` |
//! | `POST /note` | the body becomes `note` |
//! | `GET /health` | `ok`, outside the session layer |
//! | `GET /sessions`, `POST /logout-everywhere`, `POST /logout-others`, `POST /revoke/{fingerprint}` (204 or 404), `POST /remember?days=N` | the owner's sessions (401 without one) |
//! | `GET /csrf`, `POST /flash`, `GET /flash` | a CSRF token; a flash message set, and taken once |
//! | `/api/{session,visit,login/{user},logout}` | the same, the token in `Authorization: Bearer` |

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use typed_sessions::{CsrfLayer, CsrfToken, Fingerprint, Flash, Session, SessionLayer, Transport};

/// What the tests keep per visitor. Its namespace is the demo's, so that records written
/// by the demo and by these routes are the same.
#[derive(Session, Default, Debug)]
#[session(namespace = "demo")]
pub struct Visitor {
    visits: u64,
    user: Option<String>,
    a: u64,
    b: u64,
    note: String,
}

/// The JSON every session route answers with.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq, Clone)]
pub struct View {
    /// `POST /visit` count.
    pub visits: u64,
    /// Set by `POST /login/{user}`.
    pub user: Option<String>,
    /// `POST /inc/a` count.
    pub a: u64,
    /// `POST /inc/b` count.
    pub b: u64,
    /// The note's length in bytes.
    pub note_len: usize,
}

/// One session in `GET /sessions`.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq, Clone)]
pub struct Device {
    /// The session's fingerprint.
    pub id: String,
    /// The session of the request that listed it.
    pub current: bool,
    /// When it began, Unix ms.
    pub created_ms: u64,
    /// When it was last used, Unix ms.
    pub last_seen_ms: u64,
    /// When it expires unless used, Unix ms.
    pub expires_ms: u64,
}

/// The routes behind `layer`.
pub fn app(layer: SessionLayer) -> Router {
    app_with_csrf(layer, false)
}

/// The routes behind `layer`, the cookie routes behind a [`CsrfLayer`] when `csrf`.
pub fn app_with_csrf(layer: SessionLayer, csrf: bool) -> Router {
    let api = Router::new()
        .route("/session", get(show))
        .route("/visit", post(visit))
        .route("/login/{user}", post(login))
        .route("/logout", post(logout))
        .layer(layer.clone().with_transport(Transport::bearer()));
    let mut routes = Router::new()
        .route("/session", get(show))
        .route("/visit", post(visit))
        .route("/login/{user}", post(login))
        .route("/logout", post(logout))
        .route("/invalidate", post(invalidate))
        .route("/inc/{field}", post(increment))
        .route("/note", post(note))
        .route("/sessions", get(devices))
        .route("/logout-everywhere", post(logout_everywhere))
        .route("/logout-others", post(logout_others))
        .route("/revoke/{fingerprint}", post(revoke))
        .route("/remember", post(remember))
        .route("/csrf", get(csrf_token))
        .route("/flash", get(take_flash).post(set_flash));
    if csrf {
        routes = routes.layer(CsrfLayer::new());
    }
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(routes.layer(layer))
        .nest("/api", api)
}

fn view(session: &Session<Visitor>) -> Json<View> {
    Json(View {
        visits: session.visits(),
        user: session.user(),
        a: session.a(),
        b: session.b(),
        note_len: session.view_note(String::len),
    })
}

async fn show(session: Session<Visitor>) -> Json<View> {
    view(&session)
}

async fn visit(session: Session<Visitor>) -> Json<View> {
    session.update_visits(|visits| *visits += 1);
    view(&session)
}

async fn login(session: Session<Visitor>, Path(user): Path<String>) -> Response {
    if let Err(error) = session.bind_owner(&user) {
        return (StatusCode::BAD_REQUEST, error.to_string()).into_response();
    }
    session.set_user(Some(user));
    session.cycle_id();
    view(&session).into_response()
}

async fn logout(session: Session<Visitor>) -> Json<View> {
    session.delete();
    view(&session)
}

async fn invalidate(session: Session<Visitor>) -> Json<View> {
    session.invalidate();
    session.update_visits(|visits| *visits += 1);
    view(&session)
}

#[derive(Deserialize)]
struct Delay {
    #[serde(default)]
    delay_ms: u64,
}

async fn increment(
    session: Session<Visitor>,
    Path(field): Path<String>,
    Query(delay): Query<Delay>,
) -> Response {
    tokio::time::sleep(Duration::from_millis(delay.delay_ms)).await;
    match field.as_str() {
        "a" => session.update_a(|a| *a += 1),
        "b" => session.update_b(|b| *b += 1),
        _ => return StatusCode::NOT_FOUND.into_response(),
    }
    view(&session).into_response()
}

async fn note(session: Session<Visitor>, body: String) -> Json<View> {
    session.set_note(body);
    view(&session)
}

fn ms(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// 401 unless the session has an owner; else `then`'s answer.
async fn owned<F: Future<Output = Result<Response, typed_sessions::Error>>>(
    session: &Session<Visitor>,
    then: impl FnOnce() -> F,
) -> Response {
    if session.owner().is_none() {
        return (StatusCode::UNAUTHORIZED, "log in first").into_response();
    }
    then().await.unwrap_or_else(IntoResponse::into_response)
}

async fn devices(session: Session<Visitor>) -> Response {
    owned(&session, || async {
        let listed = session.sessions().await?;
        let devices = listed.iter().map(|listed| Device {
            id: listed.fingerprint.to_string(),
            current: listed.current,
            created_ms: ms(listed.created),
            last_seen_ms: ms(listed.last_seen),
            expires_ms: ms(listed.expires),
        });
        Ok(Json(devices.collect::<Vec<_>>()).into_response())
    })
    .await
}

async fn logout_everywhere(session: Session<Visitor>) -> Response {
    owned(&session, || async {
        session.log_out_everywhere().await?;
        Ok(view(&session).into_response())
    })
    .await
}

async fn logout_others(session: Session<Visitor>) -> Response {
    owned(&session, || async {
        session.log_out_others().await?;
        Ok(view(&session).into_response())
    })
    .await
}

async fn revoke(session: Session<Visitor>, Path(fingerprint): Path<String>) -> Response {
    owned(&session, || async {
        let Ok(fingerprint) = fingerprint.parse::<Fingerprint>() else {
            return Ok(StatusCode::NOT_FOUND.into_response());
        };
        let revoked = session.revoke(fingerprint).await?;
        let status = if revoked {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::NOT_FOUND
        };
        Ok(status.into_response())
    })
    .await
}

#[derive(Deserialize)]
struct Days {
    days: u64,
}

async fn remember(session: Session<Visitor>, Query(Days { days }): Query<Days>) -> Response {
    owned(&session, || async {
        let days = days.min(400);
        session.remember((days > 0).then(|| Duration::from_secs(days * 24 * 60 * 60)));
        Ok(view(&session).into_response())
    })
    .await
}

async fn csrf_token(token: CsrfToken) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "token": token.as_str() }))
}

async fn set_flash(
    flash: Flash<String>,
    body: String,
) -> Result<StatusCode, typed_sessions::Error> {
    flash.set(&body)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn take_flash(
    flash: Flash<String>,
) -> Result<Json<serde_json::Value>, typed_sessions::Error> {
    Ok(Json(serde_json::json!({ "flash": flash.take().await? })))
}
