//! The session structs the crate keeps in every record beside the user's (lifetime, owner,
//! CSRF secret, flash): written by hand rather than derived, under `~` keys no user field
//! can have, and read back as their defaults when missing or unreadable.

use crate::record::Record;
use serde::de::DeserializeOwned;

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
                Self { $($field: $crate::typed::decode_builtin(record, $key)),+ }
            }

            fn encode_dirty(
                &self,
                dirty: u64,
                out: &mut $crate::typed::Changes<Self>,
            ) -> Result<(), $crate::Error> {
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
