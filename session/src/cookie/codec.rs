//! The whole record in the cookie, sealed or signed: what [`CookieBackend::sealed()`](crate::CookieBackend)
//! and [`CookieBackend::signed()`](crate::CookieBackend) sessions are made of.
//!
//! Sealed: `base64url(version | key id | nonce(24) | XChaCha20-Poly1305(payload))`, with
//! `version | kind | key id | name` as associated data, so a value cannot move to another
//! cookie name. Signed: `base64url(version | key id | payload | HMAC-SHA256(version | kind |
//! key id | name | payload))`. The key id ([`Key::id`]) names the key that made the value:
//! it is opened under that key alone, and a key id this process does not hold reads as a
//! forged cookie.
//! The payload is `idle deadline (u64 LE ms) | absolute deadline (u64 LE ms, MAX = none) |
//! session id (16 bytes) | record`: expiry lives inside the authenticated bytes, so a client
//! cannot extend it, and so does the session's random id, so that no two sessions share a
//! cookie value even with the same data in the same millisecond. Cookies of versions 1 (no
//! id) and 2 (no key id) still open, under each key in turn, and are re-issued in version 3.

use crate::crypto::aead::{self, XChaCha20Poly1305};
use crate::crypto::{Key, Label};
use crate::id::SessionId;
use crate::record::Record;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use smallvec::SmallVec;
use std::fmt;
use std::ops::Range;

const FORMAT_VERSION: u8 = 3;
/// Cookies made before they named their key: opened, never made.
const FORMAT_VERSION_NO_KEY_ID: u8 = 2;
/// Cookies sealed before sessions had ids: opened, never made.
const FORMAT_VERSION_NO_ID: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = aead::NONCE_LEN;
const TAG_LEN: usize = 32;
const SEAL_TAG_LEN: usize = aead::TAG_LEN;
const DEADLINES_LEN: usize = 16;
const ID_LEN: usize = SessionId::LEN;
/// Longer values are not even decoded: no browser keeps a cookie this big.
const MAX_VALUE_LEN: usize = 8192;

/// An opened cookie.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) record: Record,
    /// `None` for a cookie sealed before sessions had ids.
    pub(crate) id: Option<SessionId>,
    pub(crate) idle_deadline_ms: u64,
    /// Made with a previous key, or in an earlier format: re-issue it.
    pub(crate) old_key: bool,
}

/// Seals or signs records into cookie values, with every configured key (current first),
/// each beside its id.
#[derive(Clone)]
pub(crate) enum CookieCodec {
    Sealed(Vec<(u32, XChaCha20Poly1305)>),
    Signed(Vec<(u32, Hmac<Sha256>)>),
}

impl fmt::Debug for CookieCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sealed(keys) => write!(f, "Sealed({} keys, REDACTED)", keys.len()),
            Self::Signed(keys) => write!(f, "Signed({} keys, REDACTED)", keys.len()),
        }
    }
}

impl CookieCodec {
    pub(crate) fn sealed(keys: &[Key]) -> Self {
        Self::Sealed(
            keys.iter()
                .map(|key| {
                    (
                        key.id(),
                        XChaCha20Poly1305::new(key.derive(Label::CookieSeal)),
                    )
                })
                .collect(),
        )
    }

    pub(crate) fn signed(keys: &[Key]) -> Self {
        Self::Signed(
            keys.iter()
                .map(|key| (key.id(), key.hmac(Label::CookieMac)))
                .collect(),
        )
    }

    /// The kind of store, as metrics and traces label it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Sealed(_) => "cookie",
            Self::Signed(_) => "signed_cookie",
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Self::Sealed(_) => b'S',
            Self::Signed(_) => b'G',
        }
    }

    /// `version | kind | key id (from version 3) | u64be(name length) | name`: what binds a
    /// value to its cookie. Built on every seal and open, so on the stack for the usual short
    /// names.
    fn context(&self, version: u8, key_id: Option<u32>, name: &str) -> SmallVec<[u8; 64]> {
        let mut context = SmallVec::with_capacity(14 + name.len());
        context.extend_from_slice(&[version, self.kind()]);
        if let Some(key_id) = key_id {
            context.extend_from_slice(&key_id.to_be_bytes());
        }
        context.extend_from_slice(&(name.len() as u64).to_be_bytes());
        context.extend_from_slice(name.as_bytes());
        context
    }

    /// The id of the key at `index`.
    fn key_id(&self, index: usize) -> u32 {
        match self {
            Self::Sealed(keys) => keys[index].0,
            Self::Signed(keys) => keys[index].0,
        }
    }

    fn key_count(&self) -> usize {
        match self {
            Self::Sealed(keys) => keys.len(),
            Self::Signed(keys) => keys.len(),
        }
    }

    /// The cookie value holding session `id`'s `record` until the deadlines.
    pub(crate) fn seal(
        &self,
        name: &str,
        id: &SessionId,
        record: &Record,
        idle_deadline_ms: u64,
        absolute_deadline_ms: Option<u64>,
    ) -> String {
        let key_id = self.key_id(0);
        let context = self.context(FORMAT_VERSION, Some(key_id), name);
        // `version | key id | nonce (sealed only) | payload | tag`, built in one buffer and
        // sealed in place.
        let nonce_at = 1 + KEY_ID_LEN;
        let (payload_at, tag_len) = match self {
            Self::Sealed(_) => (nonce_at + NONCE_LEN, SEAL_TAG_LEN),
            Self::Signed(_) => (nonce_at, TAG_LEN),
        };
        let header = DEADLINES_LEN + ID_LEN;
        let mut raw = Vec::with_capacity(payload_at + header + record.as_bytes().len() + tag_len);
        raw.push(FORMAT_VERSION);
        raw.extend_from_slice(&key_id.to_be_bytes());
        raw.resize(payload_at, 0);
        raw.extend_from_slice(&idle_deadline_ms.to_le_bytes());
        raw.extend_from_slice(&absolute_deadline_ms.unwrap_or(u64::MAX).to_le_bytes());
        raw.extend_from_slice(id.as_bytes());
        record.encode_into(&mut raw);
        match self {
            Self::Sealed(ciphers) => {
                crate::crypto::random::fill(&mut raw[nonce_at..payload_at]);
                let (head, payload) = raw.split_at_mut(payload_at);
                let nonce = head[nonce_at..].try_into().expect("the nonce's length");
                let tag = ciphers[0].1.seal(nonce, &context, payload);
                raw.extend_from_slice(&tag);
            }
            Self::Signed(macs) => {
                let mut mac = macs[0].1.clone();
                mac.update(&context);
                mac.update(&raw[payload_at..]);
                raw.extend_from_slice(&mac.finalize().into_bytes());
            }
        }
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The keys to check a value of `version` under (their indexes): the one it names (the
    /// key id, given too), or each for the earlier formats.
    fn candidates(&self, version: u8, raw: &[u8]) -> Option<(Option<u32>, Range<usize>)> {
        if version != FORMAT_VERSION {
            return Some((None, 0..self.key_count()));
        }
        let key_id = u32::from_be_bytes(raw.get(1..=KEY_ID_LEN)?.try_into().ok()?);
        let index = (0..self.key_count()).find(|&index| self.key_id(index) == key_id)?;
        Some((Some(key_id), index..index + 1))
    }

    /// The record in `value`, if it is authentic for the cookie called `name` under the key
    /// it names (any key, for the earlier formats) and still before its deadlines at
    /// `now_ms`.
    pub(crate) fn open(&self, name: &str, value: &str, now_ms: u64) -> Option<Opened> {
        if value.len() > MAX_VALUE_LEN {
            return None;
        }
        let mut raw = URL_SAFE_NO_PAD.decode(value).ok()?;
        let version = *raw.first()?;
        let header = match version {
            FORMAT_VERSION | FORMAT_VERSION_NO_KEY_ID => DEADLINES_LEN + ID_LEN,
            FORMAT_VERSION_NO_ID => DEADLINES_LEN,
            _ => return None,
        };
        let (key_id, candidates) = self.candidates(version, &raw)?;
        let nonce_at = 1 + key_id.map_or(0, |_| KEY_ID_LEN);
        let context = self.context(version, key_id, name);
        // Where the payload is in `raw`, and which key authenticated it.
        let (payload, index) = match self {
            Self::Sealed(ciphers) => {
                let payload_at = nonce_at + NONCE_LEN;
                let tag_at = raw
                    .len()
                    .checked_sub(SEAL_TAG_LEN)
                    .filter(|&at| at >= payload_at)?;
                let nonce = raw[nonce_at..payload_at].try_into().ok()?;
                let tag = raw[tag_at..].try_into().ok()?;
                let payload = payload_at..tag_at;
                // Opening in place clobbers the bytes when the tag does not match, so with
                // several keys to try, each attempt starts from a copy.
                let sealed = (candidates.len() > 1).then(|| raw[payload.clone()].to_vec());
                let index = candidates.into_iter().find(|&index| {
                    if let Some(sealed) = &sealed {
                        raw[payload.clone()].copy_from_slice(sealed);
                    }
                    ciphers[index]
                        .1
                        .open(&nonce, &context, &mut raw[payload.clone()], &tag)
                        .is_some()
                })?;
                (payload, index)
            }
            Self::Signed(macs) => {
                let tag_at = raw
                    .len()
                    .checked_sub(TAG_LEN)
                    .filter(|&at| at >= nonce_at)?;
                let (signed, tag) = raw.split_at(tag_at);
                let index = candidates.into_iter().find(|&index| {
                    let mut mac = macs[index].1.clone();
                    mac.update(&context);
                    mac.update(&signed[nonce_at..]);
                    mac.verify_slice(tag).is_ok()
                })?;
                (nonce_at..tag_at, index)
            }
        };
        let (head, _) = raw[payload.clone()].split_at_checked(header)?;
        let idle_deadline_ms = u64::from_le_bytes(head[..8].try_into().ok()?);
        let absolute = u64::from_le_bytes(head[8..DEADLINES_LEN].try_into().ok()?);
        if now_ms >= idle_deadline_ms || now_ms >= absolute {
            return None;
        }
        let id = match head[DEADLINES_LEN..].try_into() {
            Ok(bytes) => Some(SessionId::from_bytes(bytes)),
            Err(_) => None,
        };
        // The record keeps the opened buffer, cut down to the record's own bytes.
        raw.truncate(payload.end);
        raw.drain(..payload.start + header);
        let record = Record::decode_vec(raw).ok()?;
        Some(Opened {
            record,
            id,
            idle_deadline_ms,
            old_key: index > 0 || version != FORMAT_VERSION,
        })
    }
}

#[cfg(test)]
mod tests;
