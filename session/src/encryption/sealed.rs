//! A record sealed at rest, and opened again.
//!
//! ```text
//! SEALED (1) | key id (4, big-endian) | header nonce (24) | header length (4, big-endian)
//! | header: salt (32) | directory | tag (16)      sealed under the ring's key `key id`
//! | body: the record | tag (16)                   sealed under HKDF-Extract(label, salt | id)
//! ```
//!
//! The header is sealed under the application's key alone: it holds the salt, fresh for
//! each save, and the record's directory (what listing an owner's sessions reads: the owner,
//! the device label, the times; never a field of the application's, the CSRF secret or a
//! flash message). The body, the whole record, is sealed under a key derived from the salt
//! and the session's id, which the store never sees: opening it takes the application's
//! key (for the salt) and the session's cookie (for the id). Re-keying rewrites the header
//! alone, so it needs no id. The key is fresh for each save, so the body's nonce is zero.
//!
//! `session-admin re-key`, which has no ids, seals a plain record with a body key from the
//! salt alone (the format byte `SEALED_WITHOUT_ID`): the application's key then opens it,
//! until its next save binds it to its id.
//!
//! Both bind the format and the record's storage key in their associated data (a record
//! copied under another key opens under neither), the header its key id too, and the body
//! the header's nonce (a header and a body of two saves do not pair).

use super::KeyRing;
use crate::crypto::aead::{NONCE_LEN, TAG_LEN, XChaCha20Poly1305};
use crate::crypto::{Label, random};
use crate::id::{SessionId, StorageKey};
use crate::record::Record;
use std::sync::LazyLock;
use zeroize::Zeroizing;

/// The first byte of a sealed record (a plain one starts with the record format's 1).
const SEALED: u8 = 2;
/// The first byte of a record sealed without its id (by `session-admin re-key`).
const SEALED_WITHOUT_ID: u8 = 3;
const SALT_LEN: usize = 32;
/// The format byte, key id, header nonce and header length.
const PREFIX_LEN: usize = 1 + 4 + NONCE_LEN + 4;

/// Why a sealed record did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unopened {
    /// Sealed under a key this process does not know (retired, or not deployed here yet).
    UnknownKey(u32),
    /// Not what this crate sealed for this session (another session's record, a forgery,
    /// corruption), or cut short.
    Forged,
    /// Sealed, and the layer has no key ring.
    NoKeys,
}

/// A sealed record's parts.
struct Parts<'a> {
    format: u8,
    key_id: u32,
    nonce: [u8; NONCE_LEN],
    header: &'a [u8],
    body: &'a [u8],
}

impl Parts<'_> {
    fn of(data: &[u8]) -> Option<Parts<'_>> {
        let (prefix, rest) = data.split_at_checked(PREFIX_LEN)?;
        let format = prefix[0];
        if format != SEALED && format != SEALED_WITHOUT_ID {
            return None;
        }
        let key_id = u32::from_be_bytes(prefix[1..5].try_into().ok()?);
        let nonce = prefix[5..5 + NONCE_LEN].try_into().ok()?;
        let header_len = u32::from_be_bytes(prefix[5 + NONCE_LEN..].try_into().ok()?);
        let (header, body) = rest.split_at_checked(usize::try_from(header_len).ok()?)?;
        if header.len() < SALT_LEN + TAG_LEN || body.len() < TAG_LEN {
            return None;
        }
        Some(Parts {
            format,
            key_id,
            nonce,
            header,
            body,
        })
    }
}

fn header_aad(format: u8, key_id: u32, key: &StorageKey) -> [u8; 1 + 4 + StorageKey::LEN] {
    let mut aad = [0; 1 + 4 + StorageKey::LEN];
    aad[0] = format;
    aad[1..5].copy_from_slice(&key_id.to_be_bytes());
    aad[5..].copy_from_slice(key.as_bytes());
    aad
}

fn body_aad(
    format: u8,
    key: &StorageKey,
    nonce: &[u8; NONCE_LEN],
) -> [u8; 1 + StorageKey::LEN + NONCE_LEN] {
    let mut aad = [0; 1 + StorageKey::LEN + NONCE_LEN];
    aad[0] = format;
    aad[1..=StorageKey::LEN].copy_from_slice(key.as_bytes());
    aad[1 + StorageKey::LEN..].copy_from_slice(nonce);
    aad
}

/// HKDF-Extract's salt for the body key: the label, keyed once per process (HMAC's inner
/// and outer pads hashed up front), so that each body key costs two SHA-256 blocks.
static BODY_KEY_EXTRACT: LazyLock<ring::hmac::Key> = LazyLock::new(|| {
    let label = Label::RecordBodyKey.as_str().as_bytes();
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, label)
});

/// The body's key: HKDF-Extract (RFC 5869) of the salt and the session's id (none for
/// `SEALED_WITHOUT_ID`), under the label as HKDF's salt: `ring`'s HMAC, whose SHA-256 costs
/// a third of the `hkdf` crate's software one on this path.
fn body_key(salt: &[u8], id: Option<&SessionId>) -> XChaCha20Poly1305 {
    let id = id.map_or(&[][..], |id| &id.as_bytes()[..]);
    let mut context = ring::hmac::Context::with_key(&BODY_KEY_EXTRACT);
    context.update(salt);
    context.update(id);
    let tag = context.sign();
    let mut key = Zeroizing::new([0; 32]);
    key.copy_from_slice(tag.as_ref());
    XChaCha20Poly1305::new(key)
}

/// Seals `tail` in place under `cipher`, and appends the tag.
fn seal_tail(
    out: &mut Vec<u8>,
    from: usize,
    cipher: &XChaCha20Poly1305,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
) {
    let tag = cipher.seal(nonce, aad, &mut out[from..]);
    out.extend_from_slice(&tag);
}

/// Opens `sealed` (ciphertext and tag) under `cipher`.
fn open_part(
    sealed: &[u8],
    cipher: &XChaCha20Poly1305,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
) -> Result<Vec<u8>, Unopened> {
    let (text, tag) = sealed.split_at(sealed.len() - TAG_LEN);
    let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Unopened::Forged)?;
    let mut text = text.to_vec();
    cipher
        .open(nonce, aad, &mut text, tag)
        .ok_or(Unopened::Forged)?;
    Ok(text)
}

impl KeyRing {
    /// `record` of the session `id`, stored under `key`, sealed under the primary key;
    /// `directory` is what an owner's listing may read of it without the id.
    pub(crate) fn seal(
        &self,
        id: Option<&SessionId>,
        key: &StorageKey,
        record: &[u8],
        directory: &Record,
    ) -> Vec<u8> {
        let format = if id.is_some() {
            SEALED
        } else {
            SEALED_WITHOUT_ID
        };
        let (key_id, cipher) = self.primary_key();
        let mut salt = Zeroizing::new([0; SALT_LEN]);
        random::fill(&mut *salt);
        let mut nonce = [0; NONCE_LEN];
        random::fill(&mut nonce);
        let (directory, body) = (directory.as_bytes(), record);
        let header_len = SALT_LEN + directory.len() + TAG_LEN;
        let mut out = Vec::with_capacity(PREFIX_LEN + header_len + body.len() + TAG_LEN);
        out.push(format);
        out.extend_from_slice(&key_id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&u32::try_from(header_len).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&*salt);
        out.extend_from_slice(directory);
        let aad = header_aad(format, key_id, key);
        seal_tail(&mut out, PREFIX_LEN, cipher, &nonce, &aad);
        let body_at = out.len();
        out.extend_from_slice(body);
        let body_cipher = body_key(&*salt, id);
        let aad = body_aad(format, key, &nonce);
        seal_tail(&mut out, body_at, &body_cipher, &[0; NONCE_LEN], &aad);
        out
    }

    /// The record sealed in `data` for the session `id` stored under `key`: its bytes.
    pub(crate) fn open(
        &self,
        id: &SessionId,
        key: &StorageKey,
        data: &[u8],
    ) -> Result<Vec<u8>, Unopened> {
        let parts = Parts::of(data).ok_or(Unopened::Forged)?;
        let header = Zeroizing::new(self.open_header(&parts, key)?);
        let id = (parts.format == SEALED).then_some(id);
        let body_cipher = body_key(&header[..SALT_LEN], id);
        let aad = body_aad(parts.format, key, &parts.nonce);
        open_part(parts.body, &body_cipher, &[0; NONCE_LEN], &aad)
    }

    /// The directory sealed in `data`, stored under `key`: what an owner's listing reads,
    /// without the session's id.
    pub(crate) fn open_directory(
        &self,
        key: &StorageKey,
        data: &[u8],
    ) -> Result<Vec<u8>, Unopened> {
        let parts = Parts::of(data).ok_or(Unopened::Forged)?;
        let mut header = self.open_header(&parts, key)?;
        header.drain(..SALT_LEN);
        Ok(header)
    }

    /// `data` with its header sealed again under the primary key (its body as it was), or
    /// `None` when it is sealed under the primary already.
    pub(crate) fn rekey(&self, key: &StorageKey, data: &[u8]) -> Result<Option<Vec<u8>>, Unopened> {
        let parts = Parts::of(data).ok_or(Unopened::Forged)?;
        let (primary, cipher) = self.primary_key();
        if parts.key_id == primary {
            return Ok(None);
        }
        let header = Zeroizing::new(self.open_header(&parts, key)?);
        let mut out = Vec::with_capacity(data.len());
        out.push(parts.format);
        out.extend_from_slice(&primary.to_be_bytes());
        // The same nonce: the body's associated data names it. A new key seals under it.
        out.extend_from_slice(&parts.nonce);
        out.extend_from_slice(&data[PREFIX_LEN - 4..PREFIX_LEN]);
        out.extend_from_slice(&header);
        let aad = header_aad(parts.format, primary, key);
        seal_tail(&mut out, PREFIX_LEN, cipher, &parts.nonce, &aad);
        out.extend_from_slice(parts.body);
        Ok(Some(out))
    }

    fn open_header(&self, parts: &Parts<'_>, key: &StorageKey) -> Result<Vec<u8>, Unopened> {
        let cipher = self
            .get(parts.key_id)
            .ok_or(Unopened::UnknownKey(parts.key_id))?;
        let aad = header_aad(parts.format, parts.key_id, key);
        open_part(parts.header, cipher, &parts.nonce, &aad)
    }
}

/// Whether `data` is a sealed record (not a plain one, nor another of the crate's records:
/// its format byte, and lengths that add up).
pub(crate) fn is_sealed(data: &[u8]) -> bool {
    Parts::of(data).is_some()
}
