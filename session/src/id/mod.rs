//! What names a session: its id (the credential a cookie holds), its [`StorageKey`] (what
//! a store is given), its [`Fingerprint`] (what its user is shown) and its [`Owner`] (the
//! user it is bound to).

mod fingerprint;
mod owner;
mod storage_key;
mod successor;

pub use fingerprint::{Fingerprint, ParseFingerprintError};
pub(crate) use owner::index_name;
pub use owner::{InvalidOwnerError, Owner};
pub use storage_key::StorageKey;

use std::fmt;
use std::hash::{Hash, Hasher};

/// A session id: the credential its cookie (or token) holds, 16 random bytes from `rand`'s thread-local CSPRNG, seeded from the OS.
///
/// Ids reach a store only after their cookie's HMAC tag was verified, so the bytes are always
/// ones this crate generated. The base64url form ([`SessionId::to_base64`]) uses only
/// `A-Z a-z 0-9 - _`, which makes it safe in file names and store keys.
///
/// `Debug` prints `SessionId(REDACTED)`: an id is a bearer credential and must not leak into
/// logs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionId([u8; SessionId::LEN]);

impl SessionId {
    /// Length of an id in bytes.
    pub(crate) const LEN: usize = 16;

    /// A fresh random id.
    ///
    /// # Panics
    /// If the operating system cannot provide randomness: without it no id is safe to issue.
    #[must_use]
    pub(crate) fn random() -> Self {
        let mut bytes = [0; Self::LEN];
        crate::crypto::random::fill(&mut bytes);
        Self(bytes)
    }

    /// An id from its raw bytes.
    #[must_use]
    pub(crate) const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// The key a store keeps this session under (see [`StorageKey`]).
    #[must_use]
    pub(crate) fn storage_key(&self) -> StorageKey {
        StorageKey::of_id(self)
    }

    /// The id's first two bytes, which its storage key keeps: random for a session without
    /// an owner, a hash of the owner's for one with an owner.
    #[must_use]
    pub(crate) const fn shard(&self) -> [u8; 2] {
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
    pub(crate) const fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
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

#[cfg(test)]
mod tests {
    use super::*;

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
