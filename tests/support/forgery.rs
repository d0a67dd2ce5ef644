//! Forged cookies: every single-character change of a genuine one, and the check that each
//! gives a fresh session.

use crate::send;
use axum::Router;
use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use typed_sessions::store::StorageKey;

/// Session-id cookies made and read from their documented format, written here apart from
/// the crate's own code: `base64url(2 || key id || id || HMAC-SHA256(k, 2 || key id ||
/// len(name) as u64 BE || name || id))`, `k` the HKDF-SHA256 subkey of the secret (salt
/// `session/key-derivation/v1`, info `session/id-cookie-hmac-sha256/v1`), the key id the
/// first four bytes of SHA-256 of the subkey under info `session/record-xchacha20poly1305/v1`.
/// A test that forges with it checks the format too.
#[derive(Debug)]
pub struct IdCookies {
    mac: Hmac<Sha256>,
    key_id: [u8; 4],
}

impl IdCookies {
    /// Cookies signed with `secret` (the bytes given to `Key::from_secret`).
    pub fn new(secret: &[u8]) -> Self {
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(b"session/key-derivation/v1"), secret);
        let mut subkey = [0; 32];
        hkdf.expand(b"session/id-cookie-hmac-sha256/v1", &mut subkey)
            .expect("32 bytes");
        let mut named = [0; 32];
        hkdf.expand(b"session/record-xchacha20poly1305/v1", &mut named)
            .expect("32 bytes");
        let mut key_id = [0; 4];
        key_id.copy_from_slice(&Sha256::digest(named)[..4]);
        Self {
            mac: Hmac::new_from_slice(&subkey).expect("any key length"),
            key_id,
        }
    }

    fn tag(&self, name: &str, id: &[u8; 16]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(&[2]);
        mac.update(&self.key_id);
        mac.update(&(name.len() as u64).to_be_bytes());
        mac.update(name.as_bytes());
        mac.update(id);
        mac.finalize().into_bytes().into()
    }

    /// The value of a cookie called `name` naming the session id `id`.
    pub fn sign(&self, name: &str, id: &[u8; 16]) -> String {
        let mut raw = vec![2];
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(id);
        raw.extend_from_slice(&self.tag(name, id));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The id a genuine cookie called `name` holds.
    pub fn verify(&self, name: &str, value: &str) -> Option<[u8; 16]> {
        let raw = URL_SAFE_NO_PAD.decode(value).ok()?;
        let rest = raw.strip_prefix(&[2][..])?.strip_prefix(&self.key_id[..])?;
        let (id, tag) = rest.split_at_checked(16)?;
        let id: [u8; 16] = id.try_into().ok()?;
        (tag == self.tag(name, &id)).then_some(id)
    }

    /// The key a store keeps the session `id` under: its first two bytes, then 14 of its
    /// SHA-256.
    pub fn storage_key(id: &[u8; 16]) -> StorageKey {
        let digest = Sha256::digest(id);
        let mut key = [0; 16];
        key[..2].copy_from_slice(&id[..2]);
        key[2..].copy_from_slice(&digest[..14]);
        StorageKey::from_bytes(key)
    }
}

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
            crate::View {
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
