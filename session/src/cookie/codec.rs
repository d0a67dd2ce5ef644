//! The whole record in the cookie, sealed or signed: what [`CookieStore`](crate::CookieStore)
//! and [`SignedCookieStore`](crate::SignedCookieStore) sessions are made of.
//!
//! Sealed: `base64url(version | nonce(24) | XChaCha20-Poly1305(payload))`, with
//! `version | kind | name` as associated data, so a value cannot move to another cookie name.
//! Signed: `base64url(version | payload | HMAC-SHA256(version | kind | name | payload))`.
//! The payload is `idle deadline (u64 LE ms) | absolute deadline (u64 LE ms, MAX = none) |
//! session id (16 bytes) | record`: expiry lives inside the authenticated bytes, so a client
//! cannot extend it, and so does the session's random id, so that no two sessions share a
//! cookie value even with the same data in the same millisecond. Version 1 cookies (no id)
//! still open, and are given an id when next sealed.

use super::xchacha::{self, XChaCha20Poly1305};
use crate::record::Record;
use crate::{Key, SessionId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use smallvec::SmallVec;
use std::fmt;

const FORMAT_VERSION: u8 = 2;
/// Cookies sealed before sessions had ids: opened, never made.
const FORMAT_VERSION_NO_ID: u8 = 1;
const NONCE_LEN: usize = xchacha::NONCE_LEN;
const TAG_LEN: usize = 32;
const SEAL_TAG_LEN: usize = xchacha::TAG_LEN;
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
    /// Made with a previous key: re-issue it with the current one.
    pub(crate) old_key: bool,
}

/// Seals or signs records into cookie values, with every configured key (current first).
#[derive(Clone)]
pub(crate) enum CookieCodec {
    Sealed(Vec<XChaCha20Poly1305>),
    Signed(Vec<Hmac<Sha256>>),
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
                    XChaCha20Poly1305::new(key.derive("session-cookie-seal-xchacha20poly1305"))
                })
                .collect(),
        )
    }

    pub(crate) fn signed(keys: &[Key]) -> Self {
        Self::Signed(
            keys.iter()
                .map(|key| key.hmac("session-cookie-sign-hmac-sha256"))
                .collect(),
        )
    }

    fn kind(&self) -> u8 {
        match self {
            Self::Sealed(_) => b'S',
            Self::Signed(_) => b'G',
        }
    }

    /// `version | kind | u64be(name length) | name`: what binds a value to its cookie. Built on
    /// every seal and open, so on the stack for the usual short names.
    fn context(&self, version: u8, name: &str) -> SmallVec<[u8; 64]> {
        let mut context = SmallVec::with_capacity(10 + name.len());
        context.extend_from_slice(&[version, self.kind()]);
        context.extend_from_slice(&(name.len() as u64).to_be_bytes());
        context.extend_from_slice(name.as_bytes());
        context
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
        let context = self.context(FORMAT_VERSION, name);
        // `version | nonce (sealed only) | payload | tag`, built in one buffer and sealed in
        // place.
        let (payload_at, tag_len) = match self {
            Self::Sealed(_) => (NONCE_LEN + 1, SEAL_TAG_LEN),
            Self::Signed(_) => (1, TAG_LEN),
        };
        let header = DEADLINES_LEN + ID_LEN;
        let mut raw = Vec::with_capacity(payload_at + header + record.as_bytes().len() + tag_len);
        raw.push(FORMAT_VERSION);
        raw.resize(payload_at, 0);
        raw.extend_from_slice(&idle_deadline_ms.to_le_bytes());
        raw.extend_from_slice(&absolute_deadline_ms.unwrap_or(u64::MAX).to_le_bytes());
        raw.extend_from_slice(id.as_bytes());
        record.encode_into(&mut raw);
        match self {
            Self::Sealed(ciphers) => {
                crate::random::fill(&mut raw[1..payload_at]);
                let (head, payload) = raw.split_at_mut(payload_at);
                let nonce = head[1..].try_into().expect("the nonce's length");
                let tag = ciphers[0].seal(nonce, &context, payload);
                raw.extend_from_slice(&tag);
            }
            Self::Signed(macs) => {
                let mut mac = macs[0].clone();
                mac.update(&context);
                mac.update(&raw[payload_at..]);
                raw.extend_from_slice(&mac.finalize().into_bytes());
            }
        }
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The record in `value`, if it is authentic for the cookie called `name` under any key
    /// and still before its deadlines at `now_ms`.
    pub(crate) fn open(&self, name: &str, value: &str, now_ms: u64) -> Option<Opened> {
        if value.len() > MAX_VALUE_LEN {
            return None;
        }
        let mut raw = URL_SAFE_NO_PAD.decode(value).ok()?;
        let version = *raw.first()?;
        let header = match version {
            FORMAT_VERSION => DEADLINES_LEN + ID_LEN,
            FORMAT_VERSION_NO_ID => DEADLINES_LEN,
            _ => return None,
        };
        let context = self.context(version, name);
        // Where the payload is in `raw`, and which key authenticated it.
        let (payload, index) = match self {
            Self::Sealed(ciphers) => {
                let payload_at = 1 + NONCE_LEN;
                let tag_at = raw
                    .len()
                    .checked_sub(SEAL_TAG_LEN)
                    .filter(|&at| at >= payload_at)?;
                let nonce = raw[1..payload_at].try_into().ok()?;
                let tag = raw[tag_at..].try_into().ok()?;
                let payload = payload_at..tag_at;
                // Opening in place clobbers the bytes when the tag does not match, so with
                // previous keys to try, each attempt starts from a copy.
                let sealed = (ciphers.len() > 1).then(|| raw[payload.clone()].to_vec());
                let index = ciphers.iter().position(|cipher| {
                    if let Some(sealed) = &sealed {
                        raw[payload.clone()].copy_from_slice(sealed);
                    }
                    cipher
                        .open(&nonce, &context, &mut raw[payload.clone()], &tag)
                        .is_some()
                })?;
                (payload, index)
            }
            Self::Signed(macs) => {
                let payload = 1..raw.len().checked_sub(TAG_LEN).filter(|&at| at >= 1)?;
                let (signed, tag) = raw.split_at(payload.end);
                let index = macs.iter().position(|mac| {
                    let mut mac = mac.clone();
                    mac.update(&context);
                    mac.update(&signed[1..]);
                    mac.verify_slice(tag).is_ok()
                })?;
                (payload, index)
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
            old_key: index > 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    const ID: SessionId = SessionId::from_bytes([9; 16]);

    fn key(byte: u8) -> Key {
        Key::from_secret(&[byte; 64]).unwrap()
    }

    fn record() -> Record {
        let mut record = Record::new(SystemTime::now());
        record.apply([("v.note", &[7; 256][..])]);
        record
    }

    fn codecs(keys: &[Key]) -> [CookieCodec; 2] {
        [CookieCodec::sealed(keys), CookieCodec::signed(keys)]
    }

    #[test]
    fn round_trips_and_binds_the_name_and_the_deadline() {
        let record = record();
        for codec in codecs(&[key(1)]) {
            let value = codec.seal("s", &ID, &record, 2_000, Some(3_000));
            let opened = codec.open("s", &value, 1_000).expect("opens");
            assert_eq!(opened.record, record);
            assert_eq!((opened.idle_deadline_ms, opened.old_key), (2_000, false));
            assert!(
                codec.open("other", &value, 1_000).is_none(),
                "{codec:?}: moved to another name"
            );
            assert!(
                codec.open("s", &value, 2_000).is_none(),
                "{codec:?}: past the idle deadline"
            );
            let value = codec.seal("s", &ID, &record, 9_000, Some(3_000));
            assert!(
                codec.open("s", &value, 3_000).is_none(),
                "{codec:?}: past the absolute deadline"
            );
        }
    }

    #[test]
    fn the_session_id_round_trips_and_cookies_without_one_still_open() {
        let record = record();
        for codec in codecs(&[key(1)]) {
            let value = codec.seal("s", &ID, &record, 2_000, None);
            assert_eq!(codec.open("s", &value, 1_000).expect("opens").id, Some(ID));
        }
        // A version 1 cookie, signed before sessions had ids.
        let codec = CookieCodec::signed(&[key(1)]);
        let CookieCodec::Signed(macs) = &codec else {
            unreachable!("a signed codec")
        };
        let mut raw = vec![FORMAT_VERSION_NO_ID];
        raw.extend_from_slice(&2_000u64.to_le_bytes());
        raw.extend_from_slice(&u64::MAX.to_le_bytes());
        record.encode_into(&mut raw);
        let mut mac = macs[0].clone();
        mac.update(&codec.context(FORMAT_VERSION_NO_ID, "s"));
        mac.update(&raw[1..]);
        raw.extend_from_slice(&mac.finalize().into_bytes());
        let opened = codec.open("s", &URL_SAFE_NO_PAD.encode(&raw), 1_000);
        let opened = opened.expect("a version 1 cookie opens");
        assert_eq!((opened.record, opened.id), (record, None));
        raw[0] = 3;
        assert!(
            codec
                .open("s", &URL_SAFE_NO_PAD.encode(&raw), 1_000)
                .is_none()
        );
    }

    #[test]
    fn genuine_cookies_open_up_to_the_length_limit_and_not_past_it() {
        for codec in codecs(&[key(1)]) {
            let sealed = |len: usize| {
                let mut record = Record::new(SystemTime::now());
                record.apply([("v.pad", &vec![7; len][..])]);
                (codec.seal("s", &ID, &record, u64::MAX - 1, None), record)
            };
            let at_limit = (5_000..7_000)
                .find(|&len| sealed(len).0.len() == MAX_VALUE_LEN)
                .expect("a record that seals to the limit");
            let (value, record) = sealed(at_limit);
            let opened = codec.open("s", &value, 0).expect("at the limit: opens");
            assert_eq!(opened.record, record);
            let (value, _) = sealed(at_limit + 1);
            assert!(value.len() > MAX_VALUE_LEN);
            assert!(
                codec.open("s", &value, 0).is_none(),
                "{codec:?}: a genuine cookie past the limit"
            );
        }
    }

    #[test]
    fn debug_shows_no_key() {
        for codec in codecs(&[key(1), key(2)]) {
            let shown = format!("{codec:?}");
            assert!(shown.contains("2 keys, REDACTED"), "{shown}");
        }
    }

    #[test]
    fn every_single_byte_change_truncation_and_extension_is_rejected() {
        for codec in codecs(&[key(1)]) {
            let value = codec.seal("s", &ID, &record(), u64::MAX - 1, None);
            let raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
            for index in 0..raw.len() {
                let mut changed = raw.clone();
                changed[index] ^= 0x01;
                assert!(
                    codec
                        .open("s", &URL_SAFE_NO_PAD.encode(&changed), 0)
                        .is_none(),
                    "byte {index}"
                );
            }
            for len in 0..raw.len() {
                assert!(
                    codec
                        .open("s", &URL_SAFE_NO_PAD.encode(&raw[..len]), 0)
                        .is_none(),
                    "truncated to {len}"
                );
            }
            let mut longer = raw.clone();
            longer.push(0);
            assert!(
                codec
                    .open("s", &URL_SAFE_NO_PAD.encode(&longer), 0)
                    .is_none()
            );
            assert!(codec.open("s", "not base64!", 0).is_none());
            assert!(codec.open("s", &"A".repeat(MAX_VALUE_LEN + 4), 0).is_none());
        }
    }

    #[test]
    fn seals_differ_each_time_and_hide_the_record() {
        let codec = CookieCodec::sealed(&[key(1)]);
        let mut record = Record::new(SystemTime::now());
        record.apply([("v.secret", &b"hunter2"[..])]);
        let (a, b) = (
            codec.seal("s", &ID, &record, 10, None),
            codec.seal("s", &ID, &record, 10, None),
        );
        assert_ne!(a, b, "a fresh nonce per seal");
        let raw = URL_SAFE_NO_PAD.decode(&a).unwrap();
        assert!(!raw.windows(7).any(|w| w == b"hunter2"));
        let signed = URL_SAFE_NO_PAD
            .decode(CookieCodec::signed(&[key(1)]).seal("s", &ID, &record, 10, None))
            .unwrap();
        assert!(
            signed.windows(7).any(|w| w == b"hunter2"),
            "signed cookies are readable"
        );
    }

    #[test]
    fn sealing_and_signing_use_different_keys() {
        let value = CookieCodec::signed(&[key(1)]).seal("s", &ID, &record(), u64::MAX - 1, None);
        assert!(
            CookieCodec::sealed(&[key(1)])
                .open("s", &value, 0)
                .is_none()
        );
    }

    #[test]
    fn previous_keys_open_and_are_flagged_removed_keys_do_not() {
        for (old, rotated, dropped) in [
            (
                CookieCodec::sealed(&[key(1)]),
                CookieCodec::sealed(&[key(2), key(1)]),
                CookieCodec::sealed(&[key(2)]),
            ),
            (
                CookieCodec::signed(&[key(1)]),
                CookieCodec::signed(&[key(2), key(1)]),
                CookieCodec::signed(&[key(2)]),
            ),
        ] {
            let value = old.seal("s", &ID, &record(), u64::MAX - 1, None);
            assert!(
                rotated
                    .open("s", &value, 0)
                    .expect("old key accepted")
                    .old_key
            );
            let resealed = rotated.seal("s", &ID, &record(), u64::MAX - 1, None);
            assert!(!rotated.open("s", &resealed, 0).unwrap().old_key);
            assert!(dropped.open("s", &resealed, 0).is_some());
            assert!(
                dropped.open("s", &value, 0).is_none(),
                "a removed key's cookies die"
            );
        }
    }
}
