//! Forged cookies: every single-character change of a genuine one, and the check that each
//! gives a fresh session.

use crate::send;
use axum::Router;
use axum::http::{Method, StatusCode};

/// Every value that differs from `genuine` in exactly one character.
pub fn single_character_changes(genuine: &str) -> Vec<String> {
    (0..genuine.len())
        .map(|index| {
            let mut bytes = genuine.as_bytes().to_vec();
            bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).expect("cookie values are ASCII")
        })
        .collect()
}

/// Asserts that `GET /session` with each value as the `id` cookie answers 200 with a fresh
/// session (default fields) and sets no cookie.
pub async fn assert_each_gives_a_fresh_session(app: &Router, values: &[String]) {
    for value in values {
        let reply = send(
            app,
            Method::GET,
            "/session",
            Some(&format!("id={value}")),
            "",
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "cookie {value:?}");
        assert_eq!(
            reply.view(),
            session_examples::View {
                visits: 0,
                user: None,
                a: 0,
                b: 0,
                note_len: 0
            },
            "cookie {value:?}"
        );
        assert!(reply.set_cookies.is_empty(), "cookie {value:?}");
    }
}
