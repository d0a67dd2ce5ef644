//! The demo's HTML app at `/`: log in, count visits (by a form, or live over the page's
//! WebSocket), see the user's devices and log any of them out, or all; the flash message
//! after each redirect, and a CSRF token in every form (checked on `/ui/*`). Its own
//! stylesheet (`style.css`) and script (`app.js`), served beside it; the HTML in
//! `render.rs`.
//!
//! User names are letters, digits, `-` and `_` (1 to 32), so a page shows them as they are.

mod render;

use super::Demo;
use crate::devices::{self, Device};
use axum::Router;
use axum::extract::{Form, Path};
use axum::http::header::{CONTENT_TYPE, USER_AGENT};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use render::Account;
use serde::{Deserialize, Serialize};
use typed_sessions::{CsrfLayer, CsrfToken, Fingerprint, Flash, Session};

/// The flash message a page shows once, after the redirect of a form post.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What happened.
    pub text: String,
}

/// `GET /`, its stylesheet and script, and the form posts under `/ui/`, checked by a
/// [`CsrfLayer`].
pub(super) fn routes() -> Router {
    let forms = Router::new()
        .route("/ui/login", post(login))
        .route("/ui/visit", post(visit))
        .route("/ui/logout", post(logout))
        .route("/ui/logout-everywhere", post(logout_everywhere))
        .route("/ui/revoke/{fingerprint}", post(revoke))
        .layer(CsrfLayer::new());
    Router::new()
        .route("/", get(page))
        .route(
            "/style.css",
            get(|| asset("text/css", include_str!("style.css"))),
        )
        .route(
            "/app.js",
            get(|| asset("text/javascript", include_str!("app.js"))),
        )
        .merge(forms)
}

async fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, kind)], body).into_response()
}

async fn page(
    session: Session<Demo>,
    flash: Flash<Notice>,
    token: CsrfToken,
) -> Result<Html<String>, typed_sessions::Error> {
    let notice = flash.take().await?.map(|notice| notice.text);
    let user = session.user();
    let account = match &user {
        // The name may come from the JSON login (`POST /login/{user}`), which takes any
        // owner: escaped, it cannot inject markup into the page.
        Some(user) => Some(Account {
            user,
            visits: session.visits(),
            devices: listed(&session).await,
            device_bound: session.is_device_bound(),
        }),
        None => None,
    };
    Ok(Html(render::page(&token, notice.as_deref(), account)))
}

/// The user's devices, or why they are not listed.
async fn listed(session: &Session<Demo>) -> Result<Vec<Device>, &'static str> {
    match session.sessions().await {
        Ok(sessions) => Ok(sessions.iter().map(Device::of).collect()),
        Err(_) => Err("Devices are not listed when sessions live in cookies."),
    }
}

/// The login form.
#[derive(Deserialize, Debug)]
struct Login {
    user: String,
}

/// A user name a page can show as it is.
fn valid_user(user: &str) -> bool {
    (1..=32).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Sets `text` as the next page's flash, then sends the browser back to `/`.
fn back_with(flash: &Flash<Notice>, text: String) -> Result<Redirect, typed_sessions::Error> {
    flash.set(&Notice { text })?;
    Ok(Redirect::to("/"))
}

async fn login(
    session: Session<Demo>,
    flash: Flash<Notice>,
    headers: HeaderMap,
    Form(Login { user }): Form<Login>,
) -> Result<Response, typed_sessions::Error> {
    if !valid_user(&user) {
        return Ok((
            StatusCode::BAD_REQUEST,
            "user: 1 to 32 letters, digits, - or _",
        )
            .into_response());
    }
    session
        .bind_owner(&user)
        .expect("a valid user name is a valid owner");
    let agent = headers
        .get(USER_AGENT)
        .and_then(|agent| agent.to_str().ok());
    session.set_device_label(&devices::device_label(agent));
    session.set_user(Some(user.clone()));
    Ok(back_with(&flash, format!("Welcome, {user}!"))?.into_response())
}

async fn visit(
    session: Session<Demo>,
    flash: Flash<Notice>,
) -> Result<Redirect, typed_sessions::Error> {
    let visits = session.update_visits(|visits| {
        *visits += 1;
        *visits
    });
    back_with(&flash, format!("Visit {visits} counted."))
}

async fn logout(
    session: Session<Demo>,
    flash: Flash<Notice>,
) -> Result<Redirect, typed_sessions::Error> {
    session.delete();
    back_with(&flash, "Logged out.".to_owned())
}

async fn logout_everywhere(
    session: Session<Demo>,
    flash: Flash<Notice>,
) -> Result<Redirect, typed_sessions::Error> {
    if session.owner().is_none() {
        return back_with(&flash, "Log in first.".to_owned());
    }
    let ended = session.log_out_everywhere().await?;
    let text = match ended {
        Some(1) => "Logged out of 1 session.".to_owned(),
        Some(n) => format!("Logged out of {n} sessions."),
        None => "Logged out everywhere.".to_owned(),
    };
    back_with(&flash, text)
}

async fn revoke(
    session: Session<Demo>,
    flash: Flash<Notice>,
    Path(fingerprint): Path<String>,
) -> Result<Redirect, typed_sessions::Error> {
    let revoked = match fingerprint.parse::<Fingerprint>() {
        Ok(fingerprint) if session.owner().is_some() => session.revoke(fingerprint).await?,
        _ => false,
    };
    let text = if revoked {
        "That device is logged out."
    } else {
        "That device was already logged out."
    };
    back_with(&flash, text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::valid_user;

    #[test]
    fn user_names_are_plain() {
        assert!(valid_user("ada") && valid_user("a-b_C9"));
        for bad in ["", "<script>", "a b", "é", &"a".repeat(33)] {
            assert!(!valid_user(bad), "{bad:?}");
        }
    }
}
