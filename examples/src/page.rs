//! The demo's HTML app at `/`: a login form, a visit counter, a logout button, the flash
//! message after each redirect, and a CSRF token in every form (checked on `/ui/*`).
//!
//! User names are letters, digits, `-` and `_` (1 to 32), so a page shows them as they are.

use super::Demo;
use axum::Router;
use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use typed_sessions::{CsrfLayer, CsrfToken, Flash, Session};

/// The flash message a page shows once, after the redirect of a form post.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What happened.
    pub text: String,
}

/// `GET /`, and the form posts under `/ui/`, checked by a [`CsrfLayer`].
pub(super) fn routes() -> Router {
    let forms = Router::new()
        .route("/ui/login", post(login))
        .route("/ui/visit", post(visit))
        .route("/ui/logout", post(logout))
        .layer(CsrfLayer::new());
    Router::new().route("/", get(page)).merge(forms)
}

async fn page(
    session: Session<Demo>,
    flash: Flash<Notice>,
    token: CsrfToken,
) -> Result<Html<String>, typed_sessions::Error> {
    let notice = flash.take().await?.map_or_else(String::new, |notice| {
        format!(
            r#"<p id="flash" role="status">{}</p>"#,
            html_escape::encode_text(&notice.text)
        )
    });
    let form = |action: &str, button: &str, fields: &str| {
        format!(
            r#"<form method="post" action="{action}"><input type="hidden" name="{}" value="{token}">{fields}<button id="{button}" type="submit">{button}</button></form>"#,
            CsrfToken::FIELD,
        )
    };
    let body = match session.user() {
        // The name may come from the JSON login (`POST /login/{user}`), which takes any
        // owner: escaped, it cannot inject markup into the page.
        Some(user) => format!(
            r#"<p id="user">Logged in as {}</p><p>Visits: <span id="visits">{}</span></p>{}{}"#,
            html_escape::encode_text(&user),
            session.visits(),
            form("/ui/visit", "visit", ""),
            form("/ui/logout", "logout", ""),
        ),
        None => form(
            "/ui/login",
            "login",
            r#"<label>User <input id="name" name="user" pattern="[A-Za-z0-9_-]{1,32}" required></label>"#,
        ),
    };
    Ok(Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>session demo</title></head><body><h1>session demo</h1>{notice}{body}</body></html>"#
    )))
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
