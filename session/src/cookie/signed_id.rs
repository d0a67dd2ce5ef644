//! The session-id cookie: `base64url(id || HMAC-SHA256(key, version || name || id))`.
//!
//! The tag covers the cookie name, so a value cannot be moved to another cookie, and a format
//! version byte, so the format can change later. It is checked with `verify_slice` (constant
//! time) before any store is asked about the id.

use super::cookie_values;
use crate::crypto::{Key, Label};
use crate::id::SessionId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

const FORMAT_VERSION: u8 = 1;
const TAG_LEN: usize = 32;
const RAW_LEN: usize = SessionId::LEN + TAG_LEN;
/// base64url without padding of `RAW_LEN` bytes.
const VALUE_LEN: usize = (RAW_LEN * 4).div_ceil(3);

/// Signs and verifies session-id cookie values.
#[derive(Clone)]
pub(crate) struct IdSigner {
    /// One per key, current first; keyed once and cloned per use, which skips re-hashing
    /// the key.
    macs: Vec<Hmac<Sha256>>,
}

/// An id from a cookie whose tag verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VerifiedId {
    pub(crate) id: SessionId,
    /// Signed with a previous key: the cookie should be re-issued with the current one.
    pub(crate) old_key: bool,
}

impl std::fmt::Debug for IdSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdSigner(REDACTED)")
    }
}

impl IdSigner {
    /// A signer for `keys`, the first being the current one.
    pub(crate) fn new(keys: &[Key]) -> Self {
        Self::for_purpose(keys, Label::IdCookieMac)
    }

    /// A signer of another cookie that carries 128 random bits (the CSRF cookie of a visitor
    /// without a session), under its own subkey: its values are never session ids.
    pub(crate) fn for_purpose(keys: &[Key], purpose: Label) -> Self {
        let macs = keys.iter().map(|key| key.hmac(purpose)).collect();
        Self { macs }
    }

    fn mac_for(mac: &Hmac<Sha256>, name: &str, id: &[u8]) -> Hmac<Sha256> {
        let mut mac = mac.clone();
        mac.update(&[FORMAT_VERSION]);
        mac.update(&(name.len() as u64).to_be_bytes());
        mac.update(name.as_bytes());
        mac.update(id);
        mac
    }

    /// The cookie value for `id` under the cookie called `name`.
    pub(crate) fn sign(&self, name: &str, id: &SessionId) -> String {
        let tag = Self::mac_for(&self.macs[0], name, id.as_bytes())
            .finalize()
            .into_bytes();
        let mut raw = [0; RAW_LEN];
        raw[..SessionId::LEN].copy_from_slice(id.as_bytes());
        raw[SessionId::LEN..].copy_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The id in `value` if its tag is valid for the cookie called `name` under any key.
    pub(crate) fn verify(&self, name: &str, value: &str) -> Option<VerifiedId> {
        if value.len() != VALUE_LEN {
            return None;
        }
        let mut raw = [0; RAW_LEN + 2];
        let Ok(RAW_LEN) = URL_SAFE_NO_PAD.decode_slice(value, &mut raw) else {
            return None;
        };
        let (id, tag) = raw[..RAW_LEN].split_at(SessionId::LEN);
        let index = self
            .macs
            .iter()
            .position(|mac| Self::mac_for(mac, name, id).verify_slice(tag).is_ok())?;
        Some(VerifiedId {
            id: SessionId::from_bytes(id.try_into().ok()?),
            old_key: index > 0,
        })
    }

    /// The first cookie called `name` in the request whose tag verifies. Later duplicates and
    /// forged values are skipped, never an error.
    pub(crate) fn find(&self, name: &str, headers: &HeaderMap) -> Option<VerifiedId> {
        cookie_values(name, headers).find_map(|value| self.verify(name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::COOKIE;

    fn key(byte: u8) -> Key {
        Key::from_secret(&[byte; 64]).unwrap()
    }

    fn signer(byte: u8) -> IdSigner {
        IdSigner::new(&[key(byte)])
    }

    #[test]
    fn debug_shows_no_key() {
        let signer = IdSigner::new(&[Key::from_secret(&[1; 64]).unwrap()]);
        assert_eq!(format!("{signer:?}"), "IdSigner(REDACTED)");
    }

    #[test]
    fn signed_values_verify_under_their_name_only() {
        let id = SessionId::random();
        let value = signer(1).sign("id", &id);
        assert_eq!(value.len(), VALUE_LEN);
        assert_eq!(
            signer(1).verify("id", &value),
            Some(VerifiedId { id, old_key: false })
        );
        assert_eq!(signer(1).verify("other", &value), None);
        assert_eq!(signer(2).verify("id", &value), None);
    }

    #[test]
    fn every_single_character_change_is_rejected() {
        let value = signer(1).sign("id", &SessionId::random());
        for index in 0..value.len() {
            for replacement in ['A', 'z', '0', '-', '_', '.'] {
                let mut changed = value.clone().into_bytes();
                if changed[index] == replacement as u8 {
                    continue;
                }
                changed[index] = replacement as u8;
                let changed = String::from_utf8(changed).unwrap();
                assert_eq!(signer(1).verify("id", &changed), None, "{changed}");
            }
        }
        assert_eq!(signer(1).verify("id", &value[1..]), None);
        assert_eq!(signer(1).verify("id", &format!("{value}A")), None);
    }

    #[test]
    fn previous_keys_verify_and_are_flagged() {
        let id = SessionId::random();
        let old = signer(1).sign("id", &id);
        let rotated = IdSigner::new(&[key(2), key(1)]);
        assert_eq!(
            rotated.verify("id", &old),
            Some(VerifiedId { id, old_key: true })
        );
        let new = rotated.sign("id", &id);
        assert_eq!(
            rotated.verify("id", &new),
            Some(VerifiedId { id, old_key: false })
        );
        assert_eq!(signer(1).verify("id", &new), None);
    }

    #[test]
    fn known_answer() {
        // Pins the format (changing it silently would log out every user). Computed
        // independently with Python's `hmac` and `hashlib`: HKDF-SHA256 (RFC 5869) of 64
        // bytes of 9 (salt `session/key-derivation/v1`, info `session/id-cookie-hmac-sha256/v1`), then HMAC-SHA256 over `01 | u64be(2) | "id" | 16 bytes of 3`.
        let value = signer(9).sign("id", &SessionId::from_bytes([3; 16]));
        assert_eq!(
            value,
            "AwMDAwMDAwMDAwMDAwMDAwLQL8nrmj37da-Dai24yxWzRMS_B80T0I6tm6Cj0Bxp"
        );
    }

    #[test]
    fn finds_the_first_valid_cookie_among_many() {
        let signer = signer(1);
        let id = SessionId::random();
        let good = signer.sign("id", &id);
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; id=garbage; id"));
        let second = format!("theme=dark; id={good}");
        headers.append(COOKIE, HeaderValue::from_str(&second).unwrap());
        assert_eq!(signer.find("id", &headers).map(|v| v.id), Some(id));
        assert_eq!(signer.find("sid", &headers), None);
    }
}
