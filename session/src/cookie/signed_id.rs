//! The session-id cookie: `base64url(2 | key id | id | HMAC-SHA256(key, 2 | key id | name | id))`.
//!
//! The tag covers the cookie name, so a value cannot be moved to another cookie, and a format
//! version byte, so the format can change later. The value names the key that signed it
//! ([`Key::id`]): it is checked under that key alone, compared in constant time (`subtle`),
//! before any store is asked about the id; a key id this process does not hold reads as a
//! forged cookie. Values of the first format, `base64url(id || HMAC-SHA256(key, 1 | name |
//! id))`, which name no key, are still checked under each key in turn and re-issued in the
//! current format.

use super::cookie_values;
use crate::crypto::{Key, Label};
use crate::id::SessionId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use subtle::ConstantTimeEq;

const FORMAT_VERSION: u8 = 2;
/// Values made before they named their key: still verified, never made.
const FORMAT_VERSION_UNNAMED: u8 = 1;
const TAG_LEN: usize = 32;
const KEY_ID_LEN: usize = 4;
const RAW_LEN: usize = 1 + KEY_ID_LEN + SessionId::LEN + TAG_LEN;
const UNNAMED_RAW_LEN: usize = SessionId::LEN + TAG_LEN;
/// base64url without padding of `RAW_LEN` bytes.
const VALUE_LEN: usize = (RAW_LEN * 4).div_ceil(3);
const UNNAMED_VALUE_LEN: usize = (UNNAMED_RAW_LEN * 4).div_ceil(3);

/// Signs and verifies session-id cookie values.
#[derive(Clone)]
pub(crate) struct IdSigner {
    /// One per key with its id, current first; keyed once (`ring` keeps the key's inner
    /// and outer states, so a MAC hashes only the message and the outer block).
    macs: Vec<(u32, ring::hmac::Key)>,
}

/// An id from a cookie whose tag verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VerifiedId {
    pub(crate) id: SessionId,
    /// Signed with a previous key, or in the first format: the cookie should be re-issued.
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
        let macs = keys
            .iter()
            .map(|key| {
                let subkey = key.derive(purpose);
                (
                    key.id(),
                    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &*subkey),
                )
            })
            .collect();
        Self { macs }
    }

    /// The MAC of `id` under the cookie called `name`, in the format named by `key_id`
    /// (`None`: the first format).
    fn mac_for(
        mac: &ring::hmac::Key,
        key_id: Option<u32>,
        name: &str,
        id: &[u8],
    ) -> ring::hmac::Tag {
        let mut mac = ring::hmac::Context::with_key(mac);
        match key_id {
            Some(key_id) => {
                mac.update(&[FORMAT_VERSION]);
                mac.update(&key_id.to_be_bytes());
            }
            None => mac.update(&[FORMAT_VERSION_UNNAMED]),
        }
        mac.update(&(name.len() as u64).to_be_bytes());
        mac.update(name.as_bytes());
        mac.update(id);
        mac.sign()
    }

    /// Whether `tag` is the MAC `mac_for` gives, compared in constant time.
    fn tag_matches(
        mac: &ring::hmac::Key,
        key_id: Option<u32>,
        name: &str,
        id: &[u8],
        tag: &[u8],
    ) -> bool {
        Self::mac_for(mac, key_id, name, id)
            .as_ref()
            .ct_eq(tag)
            .into()
    }

    /// The cookie value for `id` under the cookie called `name`.
    pub(crate) fn sign(&self, name: &str, id: &SessionId) -> String {
        let (key_id, mac) = &self.macs[0];
        let tag = Self::mac_for(mac, Some(*key_id), name, id.as_bytes());
        let mut raw = [0; RAW_LEN];
        raw[0] = FORMAT_VERSION;
        raw[1..=KEY_ID_LEN].copy_from_slice(&key_id.to_be_bytes());
        raw[1 + KEY_ID_LEN..RAW_LEN - TAG_LEN].copy_from_slice(id.as_bytes());
        raw[RAW_LEN - TAG_LEN..].copy_from_slice(tag.as_ref());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The id in `value` if its tag is valid for the cookie called `name` under the key it
    /// names (any key, for the first format).
    pub(crate) fn verify(&self, name: &str, value: &str) -> Option<VerifiedId> {
        if value.len() == UNNAMED_VALUE_LEN {
            return self.verify_unnamed(name, value);
        }
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
        let key_id = u32::from_be_bytes(raw[1..=KEY_ID_LEN].try_into().ok()?);
        let (id, tag) = raw[1 + KEY_ID_LEN..RAW_LEN].split_at(SessionId::LEN);
        let index = self.macs.iter().position(|(id, _)| *id == key_id)?;
        Self::tag_matches(&self.macs[index].1, Some(key_id), name, id, tag).then_some(())?;
        Some(VerifiedId {
            id: SessionId::from_bytes(id.try_into().ok()?),
            old_key: index > 0,
        })
    }

    /// A value of the first format, which names no key: checked under each in turn, and
    /// always to be re-issued.
    fn verify_unnamed(&self, name: &str, value: &str) -> Option<VerifiedId> {
        let mut raw = [0; UNNAMED_RAW_LEN + 2];
        let Ok(UNNAMED_RAW_LEN) = URL_SAFE_NO_PAD.decode_slice(value, &mut raw) else {
            return None;
        };
        let (id, tag) = raw[..UNNAMED_RAW_LEN].split_at(SessionId::LEN);
        self.macs
            .iter()
            .any(|(_, mac)| Self::tag_matches(mac, None, name, id, tag))
            .then_some(())?;
        Some(VerifiedId {
            id: SessionId::from_bytes(id.try_into().ok()?),
            old_key: true,
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

    /// HMAC-SHA256 of `parts` under `key`'s id-cookie subkey, by the `hmac` crate: another
    /// implementation than the signer's.
    fn tag_of(key: &Key, parts: &[&[u8]]) -> Vec<u8> {
        use hmac::Mac;
        let mut mac = key.hmac(Label::IdCookieMac);
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// A value of the first format, as this crate made them before values named their key.
    fn sign_unnamed(key: &Key, name: &str, id: &SessionId) -> String {
        let name_len = (name.len() as u64).to_be_bytes();
        let tag = tag_of(
            key,
            &[
                &[FORMAT_VERSION_UNNAMED],
                &name_len,
                name.as_bytes(),
                id.as_bytes(),
            ],
        );
        URL_SAFE_NO_PAD.encode([&id.as_bytes()[..], &tag[..]].concat())
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
    fn a_value_is_checked_under_the_key_it_names_only() {
        // Signed by key 1, but naming key 2: a signer that tried each key in turn would take
        // it; one that looks the key up by its id checks it under key 2 and refuses it.
        let id = SessionId::random();
        let (one, two) = (key(1), key(2));
        let named = two.id().to_be_bytes();
        let tag = tag_of(
            &one,
            &[
                &[FORMAT_VERSION],
                &named,
                &2u64.to_be_bytes(),
                b"id",
                id.as_bytes(),
            ],
        );
        let raw = [&[FORMAT_VERSION][..], &named, id.as_bytes(), &tag].concat();
        let misnamed = URL_SAFE_NO_PAD.encode(raw);
        assert_eq!(
            IdSigner::new(&[two.clone(), one.clone()]).verify("id", &misnamed),
            None
        );
        assert_eq!(IdSigner::new(&[one, two]).verify("id", &misnamed), None);
    }

    #[test]
    fn a_key_id_this_process_does_not_hold_reads_as_forged() {
        let id = SessionId::random();
        let value = signer(3).sign("id", &id);
        assert_eq!(IdSigner::new(&[key(1), key(2)]).verify("id", &value), None);
    }

    #[test]
    fn values_of_the_first_format_verify_under_any_key_and_are_reissued() {
        let id = SessionId::random();
        let old = sign_unnamed(&key(1), "id", &id);
        assert_eq!(old.len(), UNNAMED_VALUE_LEN);
        for signer in [signer(1), IdSigner::new(&[key(2), key(1)])] {
            assert_eq!(
                signer.verify("id", &old),
                Some(VerifiedId { id, old_key: true })
            );
        }
        assert_eq!(signer(2).verify("id", &old), None);
        assert_eq!(signer(1).verify("other", &old), None);
    }

    #[test]
    fn known_answer() {
        // Pins the format (changing it silently would log out every user). Computed
        // independently with Python's `hmac` and `hashlib`: the subkey is HKDF-SHA256 (RFC
        // 5869) of 64 bytes of 9 (salt `session/key-derivation/v1`, info
        // `session/id-cookie-hmac-sha256/v1`); the key id the first 4 bytes of SHA-256 of the
        // subkey under info `session/record-xchacha20poly1305/v1`; the tag HMAC-SHA256 over
        // `02 | key id | u64be(2) | "id" | 16 bytes of 3`.
        let id = SessionId::from_bytes([3; 16]);
        assert_eq!(key(9).id(), 1_012_923_866);
        assert_eq!(
            signer(9).sign("id", &id),
            "Ajxf_doDAwMDAwMDAwMDAwMDAwMDcAp9c76sx-DTMTUJEp3SQzsdJtdu3NUtVhCvOhtbUoo"
        );
        // The first format, `01 | u64be(2) | "id" | id` under the same subkey, still verifies.
        let first = "AwMDAwMDAwMDAwMDAwMDAwLQL8nrmj37da-Dai24yxWzRMS_B80T0I6tm6Cj0Bxp";
        assert_eq!(sign_unnamed(&key(9), "id", &id), first);
        assert_eq!(
            signer(9).verify("id", first),
            Some(VerifiedId { id, old_key: true })
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
