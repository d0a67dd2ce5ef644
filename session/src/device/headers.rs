//! The DBSC headers, as structured fields (RFC 9651) through `sfv`: the registration offer
//! and the challenge the server sends, the proof and the session id the browser sends.

use http::{HeaderMap, HeaderValue};
use sfv::{BareItem, Item, KeyRef, ListSerializer, Parser, StringRef, TokenRef};

/// The algorithms offered, most preferred first.
const ALGORITHMS: [&str; 2] = ["ES256", "RS256"];

/// `Secure-Session-Registration: (ES256 RS256);path="...";challenge="..."`. `None` when
/// the path or the challenge is no structured-field string (a path with a control
/// character; challenges are base64url).
pub(crate) fn registration_header(path: &str, challenge: &str) -> Option<HeaderValue> {
    let mut list = ListSerializer::new();
    {
        let mut algorithms = list.inner_list();
        for algorithm in ALGORITHMS {
            algorithms.bare_item(TokenRef::from_str(algorithm).ok()?);
        }
        algorithms
            .finish()
            .parameter(KeyRef::constant("path"), StringRef::from_str(path).ok()?)
            .parameter(
                KeyRef::constant("challenge"),
                StringRef::from_str(challenge).ok()?,
            );
    }
    HeaderValue::from_str(&list.finish()?).ok()
}

/// `Secure-Session-Challenge: "challenge";id="session"`.
pub(crate) fn challenge_header(challenge: &str, session: &str) -> Option<HeaderValue> {
    let item = sfv::ItemSerializer::new()
        .bare_item(StringRef::from_str(challenge).ok()?)
        .parameter(KeyRef::constant("id"), StringRef::from_str(session).ok()?)
        .finish();
    HeaderValue::from_str(&item).ok()
}

/// The text of header `name` (`Secure-Session-Response`, `Sec-Secure-Session-Id`): the
/// spec's structured-field string, or the bare value Chromium (156) sends, which is no
/// structured field when it starts with a digit (`Sec-Secure-Session-Id: 6I_6vNZ...`).
/// Bare values are taken only when every character is one of base64url's or `.`, the
/// alphabet of ids and JWTs. `None` when the header is missing, repeated, longer than
/// `max` or anything else.
pub(crate) fn text_item(headers: &HeaderMap, name: &str, max: usize) -> Option<String> {
    let mut values = headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    if value.len() > max + 2 {
        return None;
    }
    let value = value.to_str().ok()?;
    let bare = |byte: u8| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte);
    if !value.is_empty() && value.len() <= max && value.bytes().all(bare) {
        return Some(value.to_owned());
    }
    let item: Item = Parser::new(value).parse().ok()?;
    match item.bare_item {
        BareItem::String(text) => Some(text.as_str().to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_and_the_challenge_are_what_the_spec_shows() {
        let offer = registration_header("/dbsc/start", "abc-_1").unwrap();
        assert_eq!(
            offer,
            r#"(ES256 RS256);path="/dbsc/start";challenge="abc-_1""#
        );
        let challenge = challenge_header("c1", "s1").unwrap();
        assert_eq!(challenge, r#""c1";id="s1""#);
        assert!(registration_header("/a\u{7}", "c").is_none());
    }

    #[test]
    fn a_string_or_token_item_is_read_and_anything_else_is_not() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "sec-secure-session-id",
            HeaderValue::from_static(r#""s1";x=1"#),
        );
        assert_eq!(
            text_item(&headers, "sec-secure-session-id", 64).as_deref(),
            Some("s1")
        );
        // What Chromium 156 sent: its proof and its session id, bare.
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJHREVUN1EifQ.AL9Frj-VMo_x";
        headers.insert("secure-session-response", HeaderValue::from_static(jwt));
        assert_eq!(
            text_item(&headers, "secure-session-response", 64).as_deref(),
            Some(jwt)
        );
        headers.insert(
            "sec-secure-session-id",
            HeaderValue::from_static("6I_6vNZcF7s4"),
        );
        assert_eq!(
            text_item(&headers, "sec-secure-session-id", 64).as_deref(),
            Some("6I_6vNZcF7s4")
        );
        for bad in [
            "?1",
            "(\"a\")",
            "\"unterminated",
            "\"a\", \"b\"",
            "a b",
            ":AA==:",
            "a;b=1",
        ] {
            headers.insert("sec-secure-session-id", HeaderValue::from_str(bad).unwrap());
            assert_eq!(
                text_item(&headers, "sec-secure-session-id", 64),
                None,
                "{bad}"
            );
        }
        for long in [format!("\"{}\"", "a".repeat(65)), "a".repeat(65)] {
            headers.insert(
                "sec-secure-session-id",
                HeaderValue::from_str(&long).unwrap(),
            );
            assert_eq!(text_item(&headers, "sec-secure-session-id", 64), None);
        }
        assert_eq!(
            text_item(&HeaderMap::new(), "sec-secure-session-id", 64),
            None
        );
    }
}
