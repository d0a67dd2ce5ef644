//! [`KeyRing`]: the keys that seal records at rest, each under an id the sealed records
//! name, so that opening one never tries keys in turn.

use crate::crypto::aead::XChaCha20Poly1305;
use crate::crypto::{Key, Label};
use std::fmt;

/// The keys that seal session records at rest ([`Encryption`](super::Encryption)), each
/// under an id that every sealed record names: a record opens under its own key, found by
/// id, or not at all.
///
/// Rotation, with no session lost: add the new key on every instance first (records sealed
/// under it then open everywhere), then make it the primary (new saves are sealed under it;
/// older records move to it at their next save, or all at once with `session-admin
/// re-key`), and retire the old key once the longest session lifetime has passed. A record
/// sealed under a key id this process does not know (retired, or not deployed here yet)
/// reads as no session, never as an error.
///
/// ```
/// use typed_sessions::Key;
/// use typed_sessions::encryption::KeyRing;
///
/// # fn main() -> Result<(), typed_sessions::encryption::KeyRingError> {
/// let (old, new) = (Key::generate(), Key::generate());
/// let ring = KeyRing::new(1, &old).with_key(2, &new)?.with_primary(2)?;
/// assert_eq!(ring.primary(), 2);
/// let ring = ring.without_key(1)?;
/// assert_eq!(ring.ids().collect::<Vec<_>>(), [2]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct KeyRing {
    primary: u32,
    keys: Vec<(u32, XChaCha20Poly1305)>,
}

/// A [`KeyRing`] change that would leave it unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRingError {
    /// The ring has a key under this id already: give the new key an id of its own.
    #[error("the key ring has a key with id {0} already; give each key its own id")]
    DuplicateId(u32),
    /// The ring has no key under this id: add it first.
    #[error("the key ring has no key with id {0}; add it with `with_key` first")]
    UnknownId(u32),
    /// A ring needs a key.
    #[error("a key ring needs at least one key")]
    NoKeys,
    /// The primary key cannot be retired: make another key the primary first.
    #[error("key {0} is the key ring's primary; make another key the primary before retiring it")]
    PrimaryRetired(u32),
}

impl KeyRing {
    /// A ring of one key, `key` under `id`, which is its primary.
    #[must_use]
    pub fn new(id: u32, key: &Key) -> Self {
        Self {
            primary: id,
            keys: vec![(id, cipher(key))],
        }
    }

    /// A ring of `keys`, the first the primary, each under an id derived from the key itself
    /// (the same on every instance given the same secrets, and telling nothing of them):
    /// for keys read from a list of secrets, newest first.
    ///
    /// ```
    /// use typed_sessions::Key;
    /// use typed_sessions::encryption::KeyRing;
    ///
    /// let (new, old) = (Key::generate(), Key::generate());
    /// let ring = KeyRing::of_keys(&[new.clone(), old]).unwrap();
    /// assert_eq!(ring.primary(), KeyRing::id_of(&new));
    /// ```
    ///
    /// # Errors
    /// [`KeyRingError::NoKeys`] for no key, [`KeyRingError::DuplicateId`] for a key given
    /// twice.
    pub fn of_keys(keys: &[Key]) -> Result<Self, KeyRingError> {
        let (first, rest) = keys.split_first().ok_or(KeyRingError::NoKeys)?;
        rest.iter()
            .try_fold(Self::new(Self::id_of(first), first), |ring, key| {
                ring.with_key(Self::id_of(key), key)
            })
    }

    /// The id [`of_keys`](Self::of_keys) gives `key`: [`Key::id`], the id its cookies
    /// carry too.
    #[must_use]
    pub fn id_of(key: &Key) -> u32 {
        key.id()
    }

    /// Adds `key` under `id`: records sealed under it open; new ones are still sealed under
    /// the primary.
    ///
    /// # Errors
    /// [`KeyRingError::DuplicateId`] when the ring has a key under `id` already.
    pub fn with_key(mut self, id: u32, key: &Key) -> Result<Self, KeyRingError> {
        if self.get(id).is_some() {
            return Err(KeyRingError::DuplicateId(id));
        }
        self.keys.push((id, cipher(key)));
        Ok(self)
    }

    /// Makes the key under `id` the primary: every record saved from now on is sealed
    /// under it.
    ///
    /// # Errors
    /// [`KeyRingError::UnknownId`] when the ring has no key under `id`.
    pub fn with_primary(mut self, id: u32) -> Result<Self, KeyRingError> {
        if self.get(id).is_none() {
            return Err(KeyRingError::UnknownId(id));
        }
        self.primary = id;
        Ok(self)
    }

    /// Retires the key under `id`: records still sealed under it read as no session.
    ///
    /// # Errors
    /// [`KeyRingError::PrimaryRetired`] for the primary, [`KeyRingError::UnknownId`] when
    /// the ring has no key under `id`.
    pub fn without_key(mut self, id: u32) -> Result<Self, KeyRingError> {
        if id == self.primary {
            return Err(KeyRingError::PrimaryRetired(id));
        }
        if self.get(id).is_none() {
            return Err(KeyRingError::UnknownId(id));
        }
        self.keys.retain(|(key_id, _)| *key_id != id);
        Ok(self)
    }

    /// The primary key's id.
    #[must_use]
    pub const fn primary(&self) -> u32 {
        self.primary
    }

    /// The ids of the ring's keys, in the order they were added.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.iter().map(|(id, _)| *id)
    }

    /// The key under `id`.
    pub(super) fn get(&self, id: u32) -> Option<&XChaCha20Poly1305> {
        self.keys
            .iter()
            .find(|(key_id, _)| *key_id == id)
            .map(|(_, key)| key)
    }

    /// The primary key, and its id.
    pub(super) fn primary_key(&self) -> (u32, &XChaCha20Poly1305) {
        let key = self
            .get(self.primary)
            .expect("the primary is always in the ring");
        (self.primary, key)
    }
}

/// The key that seals records' headers, derived from `key` for this purpose alone.
fn cipher(key: &Key) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.derive(Label::RecordSeal))
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("primary", &self.primary)
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
