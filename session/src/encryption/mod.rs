//! Encryption at rest: every record a server store holds sealed with XChaCha20-Poly1305,
//! so that a dump, a backup or a replica of the store shows no session's data.
//!
//! [`SessionLayer::with_encryption`](crate::SessionLayer::with_encryption) turns it on with
//! a [`KeyRing`]. Each record is sealed under a key derived from the ring's primary key
//! *and* the session's id, which the store never sees (it holds a hash of it): a dump opens
//! neither with the application's key alone nor with a cookie alone. The format and the
//! record's storage key are bound in the associated data: a record copied under another
//! session's key does not open.
//!
//! What stays readable for the store to work: the storage key, the expiry and version
//! (beside the record, as without encryption), the owner index (named by a hash of the
//! owner, as without encryption), and each record's size and the times it is written.
//! What listing an owner's sessions reads without the session's id (the owner, the device
//! label, when it began and was authenticated) is sealed under the application's key alone;
//! every field of the application's, the CSRF secret and flash messages need the id too.
//!
//! Turning it on in a running deployment loses no session: plain records still read, and
//! are sealed at their next save (`session-admin re-key` seals them all at once);
//! [`Encryption::off`] is the way back, reading sealed records and saving plain ones. A
//! record that does not open (a retired key, another session's record, corruption) reads
//! as no session, and is logged without its id.
//!
//! The feature lives in `encryption/` (the ring, `ring.rs`; where its keys come from,
//! `source.rs`; the sealed format, `sealed.rs`), and is applied where a request's record
//! meets its store (opened in `request/live.rs`, sealed in `request/server.rs`), where an
//! owner's sessions are listed (`accounts/`) and by the operators' tools (`admin/`).

mod ring;
mod sealed;
mod source;

pub use ring::{KeyRing, KeyRingError};
pub(crate) use sealed::{Unopened, is_sealed};
pub use source::{EnvKeys, FileKeys, KeySource, KeySourceError, parse_secrets};

use crate::id::{SessionId, StorageKey};
use crate::record::Record;
use std::borrow::Cow;

/// How a layer treats records at rest: sealed ([`Encryption::on`]) or plain
/// ([`Encryption::off`]), with the keys that open the sealed ones.
///
/// ```
/// use typed_sessions::encryption::{Encryption, KeyRing};
/// use typed_sessions::{Key, MemoryStore, SessionLayer};
///
/// let key = Key::generate();
/// let layer = SessionLayer::new(MemoryStore::new(), &key)
///     .with_encryption(Encryption::on(KeyRing::new(1, &key)));
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct Encryption {
    ring: KeyRing,
    sealing: bool,
}

impl Encryption {
    /// Seals every record saved from now on under `ring`'s primary key; opens sealed
    /// records under the key they name, and still reads plain ones (sealed at their next
    /// save).
    #[must_use]
    pub const fn on(ring: KeyRing) -> Self {
        Self {
            ring,
            sealing: true,
        }
    }

    /// Saves records plain again; still opens the sealed ones under `ring` (each is plain
    /// from its next save on). The way to turn encryption off without logging anyone out.
    #[must_use]
    pub const fn off(ring: KeyRing) -> Self {
        Self {
            ring,
            sealing: false,
        }
    }

    /// The keys.
    #[must_use]
    pub const fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// Whether records are sealed when saved.
    #[must_use]
    pub const fn is_on(&self) -> bool {
        self.sealing
    }
}

/// What a store holds for `record`, the session `id`'s under `key`: sealed when
/// `encryption` is on, its plain encoding otherwise.
pub(crate) fn stored_bytes<'a>(
    encryption: Option<&Encryption>,
    id: &SessionId,
    key: &StorageKey,
    record: &'a Record,
) -> Cow<'a, [u8]> {
    match encryption {
        Some(encryption) if encryption.sealing => {
            let directory = crate::builtin::directory(record);
            let sealed = encryption
                .ring
                .seal(Some(id), key, record.as_bytes(), &directory);
            Cow::Owned(sealed)
        }
        _ => Cow::Borrowed(record.as_bytes()),
    }
}

/// The record's encoding in `data`, which a store holds for the session `id` under `key`:
/// opened when sealed, as it is when plain; `None` (logged, without the id) when it does not
/// open.
pub(crate) fn record_bytes(
    encryption: Option<&Encryption>,
    id: &SessionId,
    key: &StorageKey,
    data: Vec<u8>,
) -> Option<Vec<u8>> {
    if !sealed::is_sealed(&data) {
        return Some(data);
    }
    let Some(encryption) = encryption else {
        unopened(Unopened::NoKeys);
        return None;
    };
    encryption.ring.open(id, key, &data).map_err(unopened).ok()
}

/// What an owner's listing reads of the record in `data`, stored under `key`: its
/// directory when sealed, the whole record when plain.
pub(crate) fn directory_bytes<'a>(
    encryption: Option<&Encryption>,
    key: &StorageKey,
    data: &'a [u8],
) -> Option<Cow<'a, [u8]>> {
    if !sealed::is_sealed(data) {
        return Some(Cow::Borrowed(data));
    }
    let Some(encryption) = encryption else {
        unopened(Unopened::NoKeys);
        return None;
    };
    let opened = encryption.ring.open_directory(key, data);
    opened.map(Cow::Owned).map_err(unopened).ok()
}

/// Logs a record that did not open (it reads as no session): never its id or key.
fn unopened(why: Unopened) {
    match why {
        Unopened::UnknownKey(id) => tracing::warn!(
            key_id = id,
            "a session record sealed under a key this process does not know (retired, or not deployed here yet); treated as no session"
        ),
        Unopened::NoKeys => tracing::warn!(
            "a sealed session record, and no key ring to open it (SessionLayer::with_encryption); treated as no session"
        ),
        Unopened::Forged => tracing::warn!(
            "a sealed session record that does not open for its session (another session's record, or corrupt); treated as no session"
        ),
    }
}

#[cfg(test)]
mod tests;
