//! [`StorageKey`]: what a store keeps a session under.

use super::{Owner, SessionId};
use crate::crypto::Label;
use crate::crypto::hash::{sha256, tagged_sha256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;
use std::hash::{Hash, Hasher};

/// The key a [`Store`](crate::Store) keeps a session's record under: never the id its cookie
/// holds, but the id's first two bytes followed by 14 bytes of its SHA-256, so that a dump
/// of a store (a Redis snapshot, a database backup, a session directory) yields nothing that
/// opens a session: finding an id from its key means inverting SHA-256 on the 112 random
/// bits the key does not show. And a stored key
/// sent back in a cookie, even signed, names no record: the store would be asked for the
/// key's own hash.
///
/// Unkeyed, so that rotating the secret
/// ([`SessionLayer::with_previous_keys`](crate::SessionLayer::with_previous_keys)) keeps
/// every stored session reachable; ids are random, which is what makes a plain hash enough.
///
/// The first two bytes, the [shard](StorageKey::shard), are random for a session without an
/// owner and a hash of the owner for one with an owner, so that a store can keep the
/// sessions of one owner together (one Redis Cluster slot).
///
/// Its base64url form ([`to_base64`](StorageKey::to_base64)) uses only `A-Z a-z 0-9 - _`,
/// which makes it safe in file names and store keys. Not a credential, so `Debug` shows it.
///
/// ```
/// use typed_sessions::store::StorageKey;
/// let key = StorageKey::from_bytes([7; 16]);
/// assert_eq!(key.to_base64(), "BwcHBwcHBwcHBwcHBwcHBw");
/// assert_eq!(StorageKey::from_base64(&key.to_base64()), Some(key));
/// assert_eq!(key.shard(), [7, 7]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StorageKey([u8; StorageKey::LEN]);

impl StorageKey {
    /// Length of a key in bytes.
    pub const LEN: usize = 16;
    /// Length of [`StorageKey::to_base64`]'s output.
    pub const BASE64_LEN: usize = 22;

    /// The key of the session `id`.
    pub(crate) fn of_id(id: &SessionId) -> Self {
        let digest = sha256(id.as_bytes());
        let mut bytes = [0; Self::LEN];
        bytes[..2].copy_from_slice(&id.shard());
        bytes[2..].copy_from_slice(&digest[..Self::LEN - 2]);
        Self(bytes)
    }

    /// The key of `owner`'s revocation time in a revocation store: a tagged hash of the
    /// owner, which no session's key can equal (those are keyed by their id's hash).
    pub(crate) fn of_revocation(owner: &Owner) -> Self {
        let digest = tagged_sha256(Label::Revocation, owner.as_str().as_bytes());
        let mut bytes = [0; Self::LEN];
        bytes.copy_from_slice(&digest[..Self::LEN]);
        Self(bytes)
    }

    /// The key of the record that `id`, retired by a periodic rotation, leaves: a tagged
    /// hash of the id, in its shard, which no session's key (a plain hash) can equal.
    pub(crate) fn of_retired(id: &SessionId) -> Self {
        let digest = tagged_sha256(Label::RetiredKey, id.as_bytes());
        let mut bytes = [0; Self::LEN];
        bytes[..2].copy_from_slice(&id.shard());
        bytes[2..].copy_from_slice(&digest[..Self::LEN - 2]);
        Self(bytes)
    }

    /// A random key, for testing a store: the keys the layer gives a store are made from
    /// session ids, never at random.
    #[cfg(feature = "test-util")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    #[must_use]
    pub fn random() -> Self {
        let mut bytes = [0; Self::LEN];
        crate::crypto::random::fill(&mut bytes);
        Self(bytes)
    }

    /// A key from its raw bytes, as a store kept them.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// The first two bytes: the same for every session of one owner.
    #[must_use]
    pub const fn shard(&self) -> [u8; 2] {
        [self.0[0], self.0[1]]
    }

    /// The key as 22 base64url characters (no padding).
    #[must_use]
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses [`StorageKey::to_base64`]'s output; anything else gives `None`.
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

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageKey({})", self.to_base64())
    }
}

impl Hash for StorageKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_keeps_the_ids_shard_and_hides_the_rest() {
        let id = SessionId::from_bytes([7; 16]);
        let key = id.storage_key();
        assert_ne!(key.as_bytes(), id.as_bytes());
        assert_eq!(key, id.storage_key());
        assert_eq!(key.shard(), id.shard());
        assert_ne!(key.as_bytes()[2..], id.as_bytes()[2..]);
    }

    #[test]
    fn revocation_keys_are_per_owner() {
        let ada = Owner::new("ada").unwrap();
        let bob = Owner::new("bob").unwrap();
        assert_eq!(
            StorageKey::of_revocation(&ada),
            StorageKey::of_revocation(&ada)
        );
        assert_ne!(
            StorageKey::of_revocation(&ada),
            StorageKey::of_revocation(&bob)
        );
    }

    #[test]
    fn base64_round_trips_and_rejects_other_text() {
        let key = SessionId::random().storage_key();
        assert_eq!(StorageKey::from_base64(&key.to_base64()), Some(key));
        assert_eq!(StorageKey::from_base64("../../etc/passwd"), None);
        assert_eq!(StorageKey::from_base64(&"A".repeat(23)), None);
        assert_eq!(StorageKey::from_base64("AAAAAAAAAAAAAAAAAAAAA/"), None);
    }
}
