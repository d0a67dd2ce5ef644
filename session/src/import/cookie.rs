//! tower-sessions' cookie: the session id as it is (22 base64url characters), or signed or
//! encrypted by the `cookie` crate's jars under tower-sessions' key, which is how
//! tower-sessions' `with_signed` and `with_private` make it. Verified and opened by the same
//! crate, never by hand. (That crate's signed cookies MAC the value only, not the name,
//! unlike this crate's own: the format is tower-sessions', taken as it is.)

use crate::error::InvalidKeyError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, CookieJar, Key};
use std::fmt;

/// How tower-sessions protected its cookie.
pub(super) enum Protection {
    Plain,
    Signed(Key),
    Private(Key),
}

impl fmt::Debug for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain => "Plain",
            Self::Signed(_) => "Signed(REDACTED)",
            Self::Private(_) => "Private(REDACTED)",
        })
    }
}

/// tower-sessions' key (the `cookie` crate's, from 64 bytes).
pub(super) fn key(bytes: &[u8]) -> Result<Key, InvalidKeyError> {
    Key::try_from(bytes).map_err(|_| InvalidKeyError::TooShort { len: bytes.len() })
}

impl Protection {
    /// The tower-sessions id in `value`, the value of the cookie called `name`: one that
    /// verifies (or opens) under the key, and is an id.
    pub(super) fn id(&self, name: &str, value: &str) -> Option<String> {
        let id = match self {
            Self::Plain => value.to_owned(),
            Self::Signed(key) => jar(name, value).signed(key).get(name)?.value().to_owned(),
            Self::Private(key) => jar(name, value).private(key).get(name)?.value().to_owned(),
        };
        is_id(&id).then_some(id)
    }
}

fn jar(name: &str, value: &str) -> CookieJar {
    let mut jar = CookieJar::new();
    jar.add_original(Cookie::new(name.to_owned(), value.to_owned()));
    jar
}

/// A tower-sessions session id: an `i128`'s 16 bytes, base64url without padding.
fn is_id(text: &str) -> bool {
    let mut id = [0; 18];
    text.len() == 22 && URL_SAFE_NO_PAD.decode_slice(text, &mut id) == Ok(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_16_bytes_and_signed_cookies_verify_only_under_their_key() {
        let id = URL_SAFE_NO_PAD.encode([7u8; 16]);
        assert_eq!(Protection::Plain.id("id", &id), Some(id.clone()));
        for bad in ["", "short", &format!("{id}A"), "!!!!!!!!!!!!!!!!!!!!!!"] {
            assert_eq!(Protection::Plain.id("id", bad), None, "{bad}");
        }
        let key = Key::from(&[3; 64]);
        let mut jar = CookieJar::new();
        jar.signed_mut(&key).add(Cookie::new("id", id.clone()));
        let signed = jar.get("id").unwrap().value().to_owned();
        let protection = Protection::Signed(key);
        assert_eq!(protection.id("id", &signed), Some(id.clone()));
        assert_eq!(protection.id("id", &id), None, "unsigned");
        let other = Protection::Signed(Key::from(&[4; 64]));
        assert_eq!(other.id("id", &signed), None, "another key");
        assert!(key_too_short());
    }

    fn key_too_short() -> bool {
        matches!(key(&[1; 32]), Err(InvalidKeyError::TooShort { len: 32 }))
    }
}
