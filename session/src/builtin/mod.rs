//! The session structs the crate keeps in every record beside the user's (lifetime, owner,
//! CSRF secret, flash, id age): written by hand rather than derived, under `~` keys no user
//! field can have, and read back as their defaults when missing or unreadable.
//!
//! One file a struct: `lifetime.rs` ("remember me"), `owner.rs` (the user a session is
//! bound to), `csrf.rs` (the secret of CSRF tokens), `flash.rs` (a message for the next
//! request), `rotation.rs` (when the session's id was issued), `label.rs` (what the user's
//! list of devices calls it). Their record keys are all
//! declared here, in [`keys`], so that one test checks how they sort.

pub(crate) mod csrf;
pub(crate) mod flash;
pub(crate) mod label;
pub(crate) mod lifetime;
pub(crate) mod owner;
pub(crate) mod rotation;

use crate::record::Record;
use serde::de::DeserializeOwned;

/// The record keys of the built-in structs. Each starts with `~`, which no namespace of a
/// derived struct may (the derive refuses it) and which sorts after every character a
/// namespace may hold: built-in keys are always a record's last, so that
/// [`Record::get_builtin`] looks only at its tail.
pub(crate) mod keys {
    /// [`CsrfSecret`](super::csrf::CsrfSecret)'s secret.
    pub(crate) const CSRF: &str = "~session.csrf";
    /// The device binding of a DBSC session ([`crate::dbsc`]).
    pub(crate) const DEVICE: &str = "~session.device";
    /// [`FlashSlot`](super::flash::FlashSlot)'s message.
    pub(crate) const FLASH: &str = "~session.flash";
    /// When [`Ownership`](super::owner::Ownership)'s user last authenticated.
    pub(crate) const AUTHENTICATED: &str = "~session.auth_us";
    /// The revocation epoch [`Ownership`](super::owner::Ownership) was bound at. Named for
    /// the bind time in µs it was before epochs; the epochs carry on from those times.
    pub(crate) const BOUND: &str = "~session.bound_us";
    /// When [`IdIssued`](super::rotation::IdIssued)'s id was issued.
    pub(crate) const ISSUED: &str = "~session.issued_us";
    /// The data of a session taken over from tower-sessions (`crate::import`).
    #[cfg(any(test, feature = "tower-sessions-import"))]
    pub(crate) const IMPORTED: &str = crate::record::IMPORTED_KEY;
    /// [`DeviceLabel`](super::label::DeviceLabel)'s label.
    pub(crate) const LABEL: &str = "~session.label";
    /// [`Ownership`](super::owner::Ownership)'s owner.
    pub(crate) const OWNER: &str = "~session.owner";
    /// The key of the owner's revocation epoch, kept with the owner so that a request need
    /// not hash the owner to find it.
    pub(crate) const OWNER_KEY: &str = "~session.owner_key";
    /// How long [`Lifetime`](super::lifetime::Lifetime) remembers: the very last key, which
    /// [`Record::get_last`](crate::record::Record::get_last) reads in one comparison.
    pub(crate) const REMEMBER: &str = "~session.remember_ms";

    /// Every built-in key, in the order a record keeps them.
    #[cfg(test)]
    pub(crate) const ALL: [&str; 11] = [
        AUTHENTICATED,
        BOUND,
        CSRF,
        DEVICE,
        FLASH,
        IMPORTED,
        ISSUED,
        LABEL,
        OWNER,
        OWNER_KEY,
        REMEMBER,
    ];
}

/// The keys of a record's directory: what listing an owner's sessions reads without
/// the session's id.
const DIRECTORY: [&str; 7] = [
    keys::AUTHENTICATED,
    keys::BOUND,
    keys::ISSUED,
    keys::LABEL,
    keys::OWNER,
    keys::OWNER_KEY,
    keys::REMEMBER,
];

/// `record`'s directory: when it began, its owner (and when they authenticated and bound
/// it), its device label, its lifetime and its id's age; never a field of the
/// application's, the CSRF secret or a flash message. What a store sealing records at rest
/// lets the application's key alone open ([`crate::encryption`]), for listing an owner's
/// sessions.
pub(crate) fn directory(record: &Record) -> Record {
    record.only(|key| DIRECTORY.iter().any(|kept| kept.as_bytes() == key))
}

/// The value under built-in `key`, or the default when it is missing or unreadable.
pub(crate) fn decode_builtin<V: DeserializeOwned + Default>(record: &Record, key: &str) -> V {
    record
        .get_builtin(key)
        .and_then(|bytes| postcard::from_bytes(bytes).ok())
        .unwrap_or_default()
}

/// Implements `SessionData` for a built-in struct: `Type { 0: field at KEY, ... }`, each
/// field at its bit, the way the derive does for a user's struct.
macro_rules! builtin_session_data {
    ($ty:ty { $($index:literal: $field:ident at $key:expr),+ $(,)? }) => {
        impl $crate::typed::SessionData for $ty {
            const KEYS: &'static [&'static str] = &[$($key),+];
            type Fields = $crate::typed::SharedFields<Self>;

            fn decode(record: &$crate::record::Record) -> Self {
                Self { $($field: $crate::builtin::decode_builtin(record, $key)),+ }
            }

            fn encode_dirty(
                &self,
                dirty: u64,
                out: &mut $crate::typed::Changes<Self>,
            ) -> Result<(), $crate::error::Error> {
                $(if dirty & (1 << $index) != 0 {
                    out.put($index, &self.$field)?;
                })+
                Ok(())
            }

            fn wrap(fields: $crate::typed::SharedFields<Self>) -> $crate::typed::SharedFields<Self> {
                fields
            }

            fn assign(&mut self, from: Self, fields: u64) {
                $(if fields & (1 << $index) != 0 {
                    self.$field = from.$field;
                })+
            }
        }
    };
}
pub(crate) use builtin_session_data;

#[cfg(test)]
mod tests {
    use super::keys;
    use crate::typed::SessionData;

    #[test]
    fn built_in_keys_sort_last_in_one_registry() {
        let mut sorted = keys::ALL;
        sorted.sort_unstable();
        assert_eq!(sorted, keys::ALL, "ALL is in the order records keep");
        assert_eq!(keys::ALL.last(), Some(&keys::REMEMBER));
        for key in keys::ALL {
            assert!(key.starts_with("~session."), "{key}");
            // After every character a derived struct's namespace may hold.
            assert!(
                key.as_bytes()[0] > b'z' && key.as_bytes()[0] > b'_' && key.as_bytes()[0] > b'-'
            );
        }
        let mut declared: Vec<&str> = [
            super::lifetime::Lifetime::KEYS,
            super::owner::Ownership::KEYS,
            super::csrf::CsrfSecret::KEYS,
            super::flash::FlashSlot::KEYS,
            super::rotation::IdIssued::KEYS,
            super::label::DeviceLabel::KEYS,
            crate::device::state::DeviceSlot::KEYS,
            // Not a struct's: the data of a session taken over from tower-sessions.
            &[keys::IMPORTED],
        ]
        .concat();
        declared.sort_unstable();
        assert_eq!(
            declared,
            keys::ALL,
            "each struct's keys, and no other, are registered"
        );
    }
}
