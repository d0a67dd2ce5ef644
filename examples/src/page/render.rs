//! The page's HTML: every user-given text escaped, a CSRF token in every form.

use crate::devices::Device;
use typed_sessions::CsrfToken;

/// What the page shows a logged-in user.
pub(super) struct Account<'a> {
    pub(super) user: &'a str,
    pub(super) visits: u64,
    /// Their devices, or why they are not listed.
    pub(super) devices: Result<Vec<Device>, &'static str>,
    /// This session is bound to this device (DBSC).
    pub(super) device_bound: bool,
}

/// The whole page: `notice` (the flash), then the account or the login form.
pub(super) fn page(
    token: &CsrfToken,
    notice: Option<&str>,
    account: Option<Account<'_>>,
) -> String {
    let notice = notice.map_or_else(String::new, |text| {
        format!(
            r#"<p id="flash" role="status">{}</p>"#,
            html_escape::encode_text(text)
        )
    });
    let body = match account {
        Some(account) => signed_in(token, &account),
        None => format!(
            r#"<section class="card"><h2>Log in</h2>{}</section>"#,
            form(
                token,
                "/ui/login",
                ("login", "Log in", ""),
                r#"<label>User name <input id="name" name="user" pattern="[A-Za-z0-9_-]{1,32}" autocomplete="username" required></label>"#,
            )
        ),
    };
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>typed-sessions demo</title><link rel="stylesheet" href="/style.css"></head><body><main><h1>typed-sessions demo</h1>{notice}{body}</main><script src="/app.js"></script></body></html>"#
    )
}

fn signed_in(token: &CsrfToken, account: &Account<'_>) -> String {
    let devices = match &account.devices {
        Ok(devices) => devices.iter().map(|device| listed(token, device)).collect(),
        Err(why) => format!(r#"<li class="note">{why}</li>"#),
    };
    format!(
        r#"<section class="card"><p id="user">Logged in as {user}</p><p class="count"><span id="visits">{visits}</span> visits</p>{bound}<p id="live" role="status" data-state="connecting">Connecting…</p><div class="actions">{visit}<button id="live-visit" type="button" class="quiet" disabled>Count over the socket</button>{logout}</div></section><section class="card"><h2>Your devices</h2><ul id="devices">{devices}</ul>{everywhere}</section>"#,
        user = html_escape::encode_text(account.user),
        visits = account.visits,
        bound = if account.device_bound {
            r#"<p id="device-bound" data-bound="true">Bound to this device (DBSC): a copy of its cookies stops working within minutes</p>"#
        } else {
            r#"<p id="device-bound" data-bound="false">Not bound to this device</p>"#
        },
        visit = form(token, "/ui/visit", ("visit", "Count a visit", ""), ""),
        logout = form(token, "/ui/logout", ("logout", "Log out", "quiet"), ""),
        everywhere = form(
            token,
            "/ui/logout-everywhere",
            ("everywhere", "Log out everywhere", "danger"),
            ""
        ),
    )
}

/// One device: its label, and a button that logs it out (unless it is this one).
fn listed(token: &CsrfToken, device: &Device) -> String {
    let label = device.label.as_deref().unwrap_or("unknown device");
    let action = if device.current {
        "<small>this device</small>".to_owned()
    } else {
        let id = &device.id;
        form(
            token,
            &format!("/ui/revoke/{id}"),
            (&format!("revoke-{id}"), "Log out", "quiet"),
            "",
        )
    };
    format!(
        r#"<li class="device"><span>{label}<small>{id}</small></span>{action}</li>"#,
        label = html_escape::encode_text(label),
        id = html_escape::encode_text(&device.id),
    )
}

/// A form posting to `action`, with the CSRF token, `fields`, and a button (`id`, its
/// text, its class).
fn form(
    token: &CsrfToken,
    action: &str,
    (id, text, class): (&str, &str, &str),
    fields: &str,
) -> String {
    format!(
        r#"<form method="post" action="{action}"><input type="hidden" name="{}" value="{token}">{fields}<button id="{id}" class="{class}" type="submit">{text}</button></form>"#,
        CsrfToken::FIELD,
    )
}
