//! Session ids: 128 bits from a CSPRNG, written as base64url.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A session id: 16 random bytes from `rand`'s thread-local CSPRNG, seeded from the OS.
///
/// Ids reach a store only after their cookie's HMAC tag was verified, so the bytes are always
/// ones this crate generated. The base64url form ([`SessionId::to_base64`]) uses only
/// `A-Z a-z 0-9 - _`, which makes it safe in file names and store keys.
///
/// `Debug` prints `SessionId(REDACTED)`: an id is a bearer credential and must not leak into
/// logs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SessionId([u8; SessionId::LEN]);

impl SessionId {
    /// Length of an id in bytes.
    pub const LEN: usize = 16;
    /// Length of [`SessionId::to_base64`]'s output.
    pub const BASE64_LEN: usize = 22;

    /// A fresh random id.
    ///
    /// # Panics
    /// If the operating system cannot provide randomness: without it no id is safe to issue.
    #[must_use]
    pub fn random() -> Self {
        let mut bytes = [0; Self::LEN];
        crate::random::fill(&mut bytes);
        Self(bytes)
    }

    /// An id from its raw bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// The key a store keeps this session under: the first 16 bytes of the id's SHA-256.
    /// Records are stored by it, never by the id the cookie holds, so a dump of a store (a
    /// Redis snapshot, a database backup, a session directory) yields nothing that opens a
    /// session: finding an id from its key means inverting SHA-256 on 128 random bits. And
    /// a stored key sent back in a cookie, even signed, names no record: the store would be
    /// asked for the key's own hash.
    ///
    /// Unkeyed, so that rotating the secret ([`crate::SessionLayer::with_previous_keys`])
    /// keeps every stored session reachable; ids are random, which is what makes a plain
    /// hash enough.
    ///
    /// ```
    /// let id = session::SessionId::from_bytes([7; 16]);
    /// assert_ne!(id.storage_key(), id);
    /// assert_eq!(id.storage_key(), id.storage_key());
    /// ```
    ///
    /// The first two bytes are the id's own (its [shard](SessionId::shard)), so that a store
    /// can keep the sessions of one owner together (one Redis Cluster slot); the other 14
    /// are the hash's.
    #[must_use]
    pub fn storage_key(&self) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.0);
        let mut bytes = [0; Self::LEN];
        bytes[..2].copy_from_slice(&self.0[..2]);
        bytes[2..].copy_from_slice(&digest[..Self::LEN - 2]);
        Self(bytes)
    }

    /// The id's first two bytes, which its storage key keeps: random for a session without
    /// an owner, a hash of the owner's for one with an owner.
    #[must_use]
    pub const fn shard(&self) -> [u8; 2] {
        [self.0[0], self.0[1]]
    }

    /// A fresh id in `shard`: 112 random bits after the shard's 16.
    pub(crate) fn random_in(shard: [u8; 2]) -> Self {
        let mut id = Self::random();
        id.0[..2].copy_from_slice(&shard);
        id
    }

    /// The raw bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// The id as 22 base64url characters (no padding).
    ///
    /// ```
    /// let id = session::SessionId::from_bytes([0xfb; 16]);
    /// assert_eq!(id.to_base64(), "-_v7-_v7-_v7-_v7-_v7-w");
    /// ```
    #[must_use]
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses [`SessionId::to_base64`]'s output; anything else gives `None`.
    #[must_use]
    pub fn from_base64(text: &str) -> Option<Self> {
        if text.len() != Self::BASE64_LEN {
            return None;
        }
        let mut bytes = [0; Self::LEN];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut bytes) {
            Ok(Self::LEN) => Some(Self(bytes)),
            _ => None,
        }
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(REDACTED)")
    }
}

impl Hash for SessionId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

/// SHA-256 of `data` after a domain tag, so that hashes made for different purposes never
/// coincide.
pub(crate) fn tagged_sha256(tag: &[u8], data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::new()
        .chain_update(tag)
        .chain_update(data)
        .finalize()
        .into()
}

/// The shard of the sessions of `owner`: two bytes of a hash of it.
pub(crate) fn shard_of_owner(owner: &str) -> [u8; 2] {
    let digest = tagged_sha256(b"session owner shard v1\0", owner.as_bytes());
    [digest[0], digest[1]]
}

/// What names a session to its user and to admin code without opening it: 12 bytes of
/// SHA-256 over a domain tag and the session's [storage key](SessionId::storage_key),
/// written as 16 base64url characters.
///
/// A fingerprint can be shown to the user (a list of their devices) and sent back (revoke
/// this one). It is not a credential: a cookie holding it, signed or not, opens nothing; the
/// id behind it cannot be worked out from it (that means inverting SHA-256 twice on 128
/// random bits); and it differs from the storage key, so it does not name a store's record
/// either. It stays the same for the life of the session id, and changes with
/// `cycle_id()`.
///
/// ```
/// use session::Fingerprint;
/// let text = "AAECAwQFBgcICQoL";
/// let fingerprint: Fingerprint = text.parse().unwrap();
/// assert_eq!(fingerprint.to_string(), text);
/// assert!("not a fingerprint".parse::<Fingerprint>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; Fingerprint::LEN]);

impl Fingerprint {
    /// Length of a fingerprint in bytes.
    pub const LEN: usize = 12;

    /// The fingerprint of the session kept under `key`.
    pub(crate) fn of_storage_key(key: &SessionId) -> Self {
        let digest = tagged_sha256(b"session fingerprint v1\0", key.as_bytes());
        let mut bytes = [0; Self::LEN];
        bytes.copy_from_slice(&digest[..Self::LEN]);
        Self(bytes)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0; 16];
        let written = URL_SAFE_NO_PAD
            .encode_slice(self.0, &mut text)
            .map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&text[..written]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The text was not a fingerprint (16 base64url characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a session fingerprint (16 base64url characters)")]
pub struct NotAFingerprint;

impl std::str::FromStr for Fingerprint {
    type Err = NotAFingerprint;

    fn from_str(text: &str) -> Result<Self, NotAFingerprint> {
        let mut bytes = [0; Self::LEN];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut bytes) {
            Ok(Self::LEN) if text.len() == 16 => Ok(Self(bytes)),
            _ => Err(NotAFingerprint),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_neither_the_id_nor_its_storage_key_and_round_trips() {
        let id = SessionId::from_bytes([9; 16]);
        let fingerprint = Fingerprint::of_storage_key(&id.storage_key());
        assert_eq!(fingerprint, Fingerprint::of_storage_key(&id.storage_key()));
        assert_ne!(fingerprint, Fingerprint::of_storage_key(&id));
        let text = fingerprint.to_string();
        assert_eq!(text.len(), 16);
        assert!(!id.to_base64().starts_with(&text));
        assert!(!id.storage_key().to_base64().starts_with(&text));
        assert_eq!(text.parse::<Fingerprint>(), Ok(fingerprint));
        assert_eq!(format!("{fingerprint:?}"), format!("Fingerprint({text})"));
        for bad in [
            "",
            "AAECAwQFBgcICQo",
            "AAECAwQFBgcICQoLD",
            "AAECAwQFBgcICQo/",
        ] {
            assert_eq!(bad.parse::<Fingerprint>(), Err(NotAFingerprint), "{bad}");
        }
    }

    #[test]
    fn base64_round_trip_and_rejects_other_text() {
        let id = SessionId::random();
        assert_eq!(SessionId::from_base64(&id.to_base64()), Some(id));
        assert_eq!(SessionId::from_base64("../../etc/passwd"), None);
        assert_eq!(SessionId::from_base64(&"A".repeat(23)), None);
        assert_eq!(SessionId::from_base64("AAAAAAAAAAAAAAAAAAAAA/"), None);
    }

    #[test]
    fn ids_hash_by_their_bytes() {
        use std::hash::BuildHasher;
        let hasher = std::collections::hash_map::RandomState::new();
        let (a, b) = (
            SessionId::from_bytes([1; 16]),
            SessionId::from_bytes([2; 16]),
        );
        assert_eq!(
            hasher.hash_one(a),
            hasher.hash_one(SessionId::from_bytes([1; 16]))
        );
        assert_ne!(hasher.hash_one(a), hasher.hash_one(b));
    }

    #[test]
    fn random_ids_differ_and_debug_is_redacted() {
        assert_ne!(SessionId::random(), SessionId::random());
        assert_eq!(format!("{:?}", SessionId::random()), "SessionId(REDACTED)");
    }
}
