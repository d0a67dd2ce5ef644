//! The demo server: every behaviour of the `typed-sessions` crate behind a small JSON API.
//!
//! `cargo run --bin demo` serves it on 127.0.0.1:3000 with sessions in files under
//! `./sessions`. The routes:
//!
//! | route | does |
//! |---|---|
//! | `GET /health` | `ok`; never touches the session |
//! | `GET /session` | the session, read only |
//! | `POST /visit` | `visits += 1` |
//! | `POST /login/{user}` | sets `user`, binds the session to that owner, moves it to a new id |
//! | `POST /logout` | deletes the session |
//! | `POST /invalidate` | starts a fresh session, then `visits += 1` |
//! | `POST /inc/{a or b}?delay_ms=N` | loads, sleeps N ms, then that field `+= 1` |
//! | `POST /note` | the request body becomes `note` |
//! | `GET /sessions` | the owner's sessions: `[{"id","current","created_ms","last_seen_ms","expires_ms"}]` |
//! | `POST /logout-everywhere` | revokes every session of the owner, this one too; the session JSON with `"ended"`, how many ended (`null` on a cookie store) |
//! | `POST /logout-others` | revokes every session of the owner but this one; the session JSON with `"ended"` |
//! | `POST /revoke/{fingerprint}` | revokes one of the owner's sessions: 204, or 404 |
//! | `POST /remember?days=N` | keeps this session N days (0: the layer's lifetime again), at most `DEMO_REMEMBER_MAX_DAYS` |
//! | `POST /sudo` | the user authenticated again, now |
//! | `POST /sensitive` | `{"ok":true}` if the user logged in (or `POST /sudo`) within `DEMO_FRESH_SECS` (default 300), else 403 and nothing changes |
//! | `POST /password` | the password changed: every other session of the owner ends, on every instance; this one goes on under a new id |
//!
//! | `GET /csrf` | `{"token": …}`: a CSRF token of the session (creates its secret) |
//! | `POST /flash` | the request body becomes the flash message of the next request |
//! | `GET /flash` | `{"flash": text or null}`: the flash message, once |
//! | `GET /live` | a WebSocket on the cookie's session (401 without one): the session JSON on open; `visit` counts a visit and answers the JSON (`{"error"}` for a cookie session, which a socket cannot save), `ping` answers `pong`; closed with code 4401 when the session ends anywhere |
//! | `GET /audit` | the owner's lifecycle events this process saw, oldest first: `[{"event","fingerprint","at_ms"}]` (401 without an owner) |
//! | `GET /` | a small HTML app on the same session (its own `/style.css` and `/app.js`): log in, count visits by a form or live over `GET /live`, the user's devices with "log out" each (`POST /ui/revoke/{fingerprint}`) and "log out everywhere" (`POST /ui/logout-everywhere`), the flash after each redirect, a CSRF token in every form (`POST /ui/login`, `/ui/visit`, `/ui/logout` and those two, always checked); when the session ends elsewhere the page says so |
//! | `GET /api/session`, `POST /api/visit`, `POST /api/login/{user}`, `POST /api/logout` | the same routes for API clients: the token in `Authorization: Bearer`, a new one in the `Session-Token` response header, never a cookie |
//! | `POST /dbsc/start`, `POST /dbsc/refresh` | with `DEMO_DBSC=1`: DBSC registration and refresh (`typed_sessions::dbsc`); a login then answers `Secure-Session-Registration`, and a bound session needs its bound cookie (`__Host-bound`, or `bound` over plain HTTP), which lives `DEMO_BOUND_SECS` (default 600): without it, 401 |
//!
//! Replies are `{"visits":N,"user":null|"name","a":N,"b":N,"note_len":N}`. The device
//! routes (from `GET /sessions` to `POST /password`) answer 401 when the session has no
//! owner (no `POST /login/{user}` yet). With
//! [`Options::csrf`] (`DEMO_CSRF=1`) the unsafe cookie routes require the `X-CSRF-Token`
//! header, else 403 and nothing changes.

pub mod admin;
pub mod devices;

pub mod config;
pub mod live;
pub mod page;

use axum::extract::{Path, Query};
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use typed_sessions::{CsrfLayer, CsrfToken, Flash, Session, SessionLayer, Transport, dbsc};

/// What the demo keeps per visitor.
#[derive(Session, Default, Debug)]
#[session(namespace = "demo")]
pub struct Demo {
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
    /// Length of the note in bytes.
    pub note_len: usize,
}

/// What the demo turns on beyond its defaults.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Unsafe methods on the cookie routes require the `X-CSRF-Token` header (`DEMO_CSRF=1`).
    pub csrf: bool,
    /// The DBSC endpoints, `POST /dbsc/start` and `POST /dbsc/refresh` (`DEMO_DBSC=1`; the
    /// layer must have the device binding).
    pub dbsc: bool,
}

/// The demo's routes behind `layer`, with the default [`Options`].
pub fn app(layer: SessionLayer) -> Router {
    app_with(layer, Options::default())
}

/// The demo's routes behind `layer`: the cookie routes, the HTML app, and the `/api/`
/// routes behind a copy of `layer` that carries the token in `Authorization: Bearer`.
pub fn app_with(layer: SessionLayer, options: Options) -> Router {
    let audit = live::Audit::default();
    let layer = layer.with_events(audit.clone());
    let api = Router::new()
        .route("/session", get(show))
        .route("/visit", post(visit))
        .route("/login/{user}", post(login))
        .route("/logout", post(logout))
        .layer(layer.clone().with_transport(Transport::bearer()));
    let mut json = Router::new()
        .route("/session", get(show))
        .route("/visit", post(visit))
        .route("/login/{user}", post(login))
        .route("/logout", post(logout))
        .route("/invalidate", post(invalidate))
        .route("/inc/{field}", post(increment))
        .route("/note", post(note))
        .route("/sessions", get(devices::list))
        .route("/logout-everywhere", post(devices::logout_everywhere))
        .route("/logout-others", post(devices::logout_others))
        .route("/revoke/{fingerprint}", post(devices::revoke))
        .route("/remember", post(devices::remember))
        .route("/sudo", post(devices::sudo))
        .route("/sensitive", post(devices::sensitive))
        .route("/password", post(devices::password))
        .route("/csrf", get(csrf))
        .route("/flash", get(take_flash).post(set_flash));
    if options.csrf {
        json = json.layer(CsrfLayer::new());
    }
    let mut routes = Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(json);
    if options.dbsc {
        // Outside the CSRF layer: the browser posts to them with no token.
        routes = routes
            .route_service("/dbsc/start", dbsc::Registration)
            .route_service("/dbsc/refresh", dbsc::Refresh);
    }
    routes
        .merge(page::routes())
        .merge(live::routes(audit))
        .layer(layer)
        .nest("/api", api)
}

/// `GET /metrics`: what `recorder` holds, in the Prometheus text format (`DEMO_METRICS=1`).
/// Merged beside [`app_with`]'s routes, outside their session layer: it never touches a
/// session.
pub fn metrics_route(recorder: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || std::future::ready(recorder.render())),
    )
}

fn view(session: &DemoFields) -> Json<View> {
    Json(View {
        visits: session.visits(),
        user: session.user(),
        a: session.a(),
        b: session.b(),
        note_len: session.view_note(String::len),
    })
}

async fn show(session: Session<Demo>) -> Json<View> {
    view(&session)
}

async fn visit(session: Session<Demo>) -> Json<View> {
    session.update_visits(|visits| *visits += 1);
    view(&session)
}

async fn login(
    session: Session<Demo>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Result<Json<View>, (StatusCode, String)> {
    session
        .bind_owner(&user)
        .map_err(|error| (StatusCode::BAD_REQUEST, error.to_string()))?;
    let agent = headers
        .get(USER_AGENT)
        .and_then(|agent| agent.to_str().ok());
    session.set_device_label(&devices::device_label(agent));
    session.set_user(Some(user));
    session.cycle_id();
    Ok(view(&session))
}

async fn logout(session: Session<Demo>) -> Json<View> {
    session.delete();
    view(&session)
}

async fn invalidate(session: Session<Demo>) -> Json<View> {
    session.invalidate();
    session.update_visits(|visits| *visits += 1);
    view(&session)
}

/// `?delay_ms=N` for `POST /inc/{field}`.
#[derive(Deserialize, Debug)]
struct Delay {
    #[serde(default)]
    delay_ms: u64,
}

async fn increment(
    session: Session<Demo>,
    Path(field): Path<String>,
    Query(delay): Query<Delay>,
) -> Result<Json<View>, (StatusCode, &'static str)> {
    tokio::time::sleep(Duration::from_millis(delay.delay_ms.min(60_000))).await;
    match field.as_str() {
        "a" => session.update_a(|a| *a += 1),
        "b" => session.update_b(|b| *b += 1),
        _ => return Err((StatusCode::NOT_FOUND, "no such field: use /inc/a or /inc/b")),
    }
    Ok(view(&session))
}

/// `GET /csrf`: `{"token": …}`.
async fn csrf(token: CsrfToken) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "token": token.as_str() }))
}

/// `POST /flash`: the body is the next request's flash message.
async fn set_flash(
    flash: Flash<String>,
    body: String,
) -> Result<StatusCode, typed_sessions::Error> {
    flash.set(&body)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /flash`: `{"flash": text or null}`, once.
async fn take_flash(
    flash: Flash<String>,
) -> Result<Json<serde_json::Value>, typed_sessions::Error> {
    Ok(Json(serde_json::json!({ "flash": flash.take().await? })))
}

async fn note(session: Session<Demo>, body: String) -> Json<View> {
    session.set_note(body);
    view(&session)
}

/// Ctrl-C or SIGTERM (as `kill`, systemd and container runtimes send it): the server stops
/// accepting, answers the requests in flight (their sessions saved), then returns.
pub async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; Ctrl-C still stops the demo");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
