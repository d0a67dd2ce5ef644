//! The bound cookie: `base64url(1 | key id | expires at, Unix ms | HMAC-SHA256(key, 1 |
//! key id | len | name | len | DBSC session id | expires at))`. It proves, until it
//! expires, that the browser showed the session's private key; it names the key that
//! signed it, is checked under that key alone, and opens only for the DBSC session it was
//! made for (whose identifier is in the record, not the cookie).

use crate::crypto::{Key, Label};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use smallvec::SmallVec;

const FORMAT_VERSION: u8 = 1;
const TAG_LEN: usize = 32;
const RAW_LEN: usize = 1 + 4 + 8 + TAG_LEN;
const VALUE_LEN: usize = (RAW_LEN * 4).div_ceil(3);

/// Signs and checks bound cookies with every configured key (current first), through
/// `ring`'s HMAC: checked on every request of a bound session, where its SHA-256 costs a
/// third of the `sha2` crate's software one.
#[derive(Clone)]
pub(crate) struct BoundCookies {
    macs: Vec<(u32, ring::hmac::Key)>,
}

impl std::fmt::Debug for BoundCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoundCookies(REDACTED)")
    }
}

impl BoundCookies {
    pub(crate) fn new(keys: &[Key]) -> Self {
        let macs = keys
            .iter()
            .map(|key| {
                let subkey = key.derive(Label::BoundCookieMac);
                (
                    key.id(),
                    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &*subkey),
                )
            })
            .collect();
        Self { macs }
    }

    /// What the tag covers: `1 | key id | name | DBSC session id | expires at`, each name
    /// after its length in a byte (a longer one is cut there: names are short, and ids this
    /// crate's 22 characters). On the stack, and one SHA-256 block for the usual names.
    fn signed(key_id: u32, name: &str, session: &str, expires_ms: u64) -> SmallVec<[u8; 64]> {
        let mut signed = SmallVec::new();
        signed.push(FORMAT_VERSION);
        signed.extend_from_slice(&key_id.to_be_bytes());
        for part in [name, session] {
            let part = &part.as_bytes()[..part.len().min(255)];
            signed.push(u8::try_from(part.len()).unwrap_or(u8::MAX));
            signed.extend_from_slice(part);
        }
        signed.extend_from_slice(&expires_ms.to_be_bytes());
        signed
    }

    /// The value of the bound cookie called `name` for DBSC session `session`, valid until
    /// `expires_ms`.
    pub(crate) fn sign(&self, name: &str, session: &str, expires_ms: u64) -> String {
        let (key_id, mac) = &self.macs[0];
        let tag = ring::hmac::sign(mac, &Self::signed(*key_id, name, session, expires_ms));
        let mut raw = [0; RAW_LEN];
        raw[0] = FORMAT_VERSION;
        raw[1..5].copy_from_slice(&key_id.to_be_bytes());
        raw[5..13].copy_from_slice(&expires_ms.to_be_bytes());
        raw[13..].copy_from_slice(tag.as_ref());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// When `value` stops proving DBSC session `session`, if it is a genuine bound cookie
    /// called `name` for it (whether or not it has expired).
    pub(crate) fn expiry(&self, name: &str, session: &str, value: &str) -> Option<u64> {
        if value.len() != VALUE_LEN {
            return None;
        }
        let mut raw = [0; RAW_LEN + 2];
        let Ok(RAW_LEN) = URL_SAFE_NO_PAD.decode_slice(value, &mut raw) else {
            return None;
        };
        if raw[0] != FORMAT_VERSION {
            return None;
        }
        let key_id = u32::from_be_bytes(raw[1..5].try_into().ok()?);
        let expires_ms = u64::from_be_bytes(raw[5..13].try_into().ok()?);
        let (_, mac) = self.macs.iter().find(|(id, _)| *id == key_id)?;
        let signed = Self::signed(key_id, name, session, expires_ms);
        // Constant time, as `ring::hmac::verify` compares.
        ring::hmac::verify(mac, &signed, &raw[13..RAW_LEN]).ok()?;
        Some(expires_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(byte: u8) -> BoundCookies {
        BoundCookies::new(&[Key::from_secret(&[byte; 64]).unwrap()])
    }

    #[test]
    fn a_bound_cookie_opens_for_its_session_name_and_key_only() {
        let value = cookies(1).sign("bound", "s1", 5_000);
        assert_eq!(cookies(1).expiry("bound", "s1", &value), Some(5_000));
        assert_eq!(cookies(1).expiry("bound", "s2", &value), None);
        assert_eq!(cookies(1).expiry("other", "s1", &value), None);
        assert_eq!(cookies(2).expiry("bound", "s1", &value), None);
        let mut raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
        raw[12] ^= 1; // a later expiry
        let extended = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(cookies(1).expiry("bound", "s1", &extended), None);
        assert_eq!(cookies(1).expiry("bound", "s1", "garbage"), None);
        assert_eq!(cookies(1).expiry("bound", "s1", &value[1..]), None);
    }
}
