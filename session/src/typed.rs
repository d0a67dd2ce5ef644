//! The typed layer over the record format: the [`SessionData`] trait the derive implements,
//! decoding each field from a record, encoding changed fields, and one struct's decoded value
//! during a request with its dirty bits.

use crate::Error;
use crate::record::{FieldChanges, Record};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A struct that can be a typed session: implemented by `#[derive(Session)]`.
///
/// The items are the derive's business and hidden from the docs; the accessors a struct
/// gets are on its generated `<Struct>Fields` type, which [`Session<T>`](struct@crate::Session)
/// dereferences to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a session struct",
    label = "`{Self}` does not derive `Session`",
    note = "add `#[derive(Session)]` to the struct `{Self}` (with `use session::Session;`)"
)]
pub trait SessionData: Sized + Send + Sync + 'static {
    /// Storage key of each field, in declaration order: `namespace.field`.
    #[doc(hidden)]
    const KEYS: &'static [&'static str];

    /// The generated type that holds the field accessors.
    #[doc(hidden)]
    type Fields: Send + Sync + 'static;

    /// The struct from a record; absent or undecodable fields get their defaults.
    #[doc(hidden)]
    fn decode(record: &Record) -> Self;

    /// Encodes the fields whose bit is set in `dirty`.
    #[doc(hidden)]
    fn encode_dirty(&self, dirty: u64, out: &mut Changes<Self>) -> Result<(), Error>;

    /// Wraps the request's shared field state in the accessor type.
    #[doc(hidden)]
    fn wrap(fields: SharedFields<Self>) -> Self::Fields;
}

/// The field stored under `key`, or `None` (with a warning) when it is absent or no longer
/// decodes as `V`, which happens after a deploy changed the field's type.
#[doc(hidden)]
pub fn decode_field<V: DeserializeOwned>(record: &Record, key: &str) -> Option<V> {
    let bytes = record.get(key)?;
    match postcard::take_from_bytes::<V>(bytes) {
        Ok((value, [])) => Some(value),
        Ok((_, rest)) => {
            tracing::warn!(
                key,
                trailing = rest.len(),
                "stored session field has trailing bytes (its type changed?); using its default"
            );
            None
        }
        Err(error) => {
            tracing::warn!(key, %error, "stored session field does not decode as its current type; using its default");
            None
        }
    }
}

/// A struct's changed fields, encoded, on their way into the record.
#[doc(hidden)]
pub struct Changes<T> {
    fields: FieldChanges,
    _session: PhantomData<fn() -> T>,
}

impl<T: SessionData> Changes<T> {
    /// Adds to `fields`: its buffer is taken, and given back by [`into_fields`](Self::into_fields).
    pub(crate) fn new(fields: FieldChanges) -> Self {
        Self {
            fields,
            _session: PhantomData,
        }
    }

    pub(crate) fn into_fields(self) -> FieldChanges {
        self.fields
    }

    /// Encodes field number `index` of `T`.
    pub fn put<V: Serialize>(&mut self, index: usize, value: &V) -> Result<(), Error> {
        let key = T::KEYS[index];
        self.fields
            .push(key, value)
            .map_err(|source| Error::Encode { key, source })
    }
}

impl<T> std::fmt::Debug for Changes<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<_> = self.fields.keys().collect();
        f.debug_struct("Changes").field("keys", &keys).finish()
    }
}

/// The decoded value of one session struct during one request, shared by every extractor of
/// that struct in the request. The derive's accessors call [`SharedFields::read`] and
/// [`SharedFields::write`].
#[doc(hidden)]
pub struct SharedFields<T>(Arc<Typed<T>>);

pub(crate) struct Typed<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: T,
    /// Bit `i` set: field `i` changed since the last save.
    dirty: u64,
}

impl<T: SessionData> SharedFields<T> {
    /// Calls `f` with the current value.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0.lock().value)
    }

    /// Calls `f` to change field `index`, and marks that field changed.
    pub fn write<R>(&self, index: usize, f: impl FnOnce(&mut T) -> R) -> R {
        let mut state = self.0.lock();
        state.dirty |= 1 << index;
        f(&mut state.value)
    }
}

impl<T> fmt::Debug for SharedFields<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Field values may be secrets (tokens, emails): keep them out of logs.
        f.debug_struct("Fields").finish_non_exhaustive()
    }
}

impl<T: SessionData> Typed<T> {
    pub(crate) fn new(record: &Record) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                value: T::decode(record),
                dirty: 0,
            }),
        })
    }

    pub(crate) fn fields(self: &Arc<Self>) -> SharedFields<T> {
        SharedFields(Arc::clone(self))
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic inside a user's `update_*` closure must not make the session unusable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the request needs from each struct's state, whatever the struct.
pub(crate) trait View: Send + Sync {
    /// Encodes the changed fields; returns the dirty bits encoded, for [`View::saved`].
    fn changes(&self, out: &mut FieldChanges) -> Result<u64, Error>;
    /// The bits of the fields changed since the last save.
    fn dirty(&self) -> u64;
    /// The storage keys of the struct's fields, in bit order.
    #[cfg(feature = "test-util")]
    fn keys(&self) -> &'static [&'static str];
    /// The fields in `dirty` are stored now.
    fn saved(&self, dirty: u64);
    /// Replaces the value with the one `record` holds, dropping unsaved changes.
    fn reset(&self, record: &Record);
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<T: SessionData> View for Typed<T> {
    fn changes(&self, out: &mut FieldChanges) -> Result<u64, Error> {
        let state = self.lock();
        if state.dirty == 0 {
            return Ok(0);
        }
        let mut changes = Changes::<T>::new(std::mem::take(out));
        let encoded = state.value.encode_dirty(state.dirty, &mut changes);
        *out = changes.into_fields();
        encoded.map(|()| state.dirty)
    }

    fn dirty(&self) -> u64 {
        self.lock().dirty
    }

    #[cfg(feature = "test-util")]
    fn keys(&self) -> &'static [&'static str] {
        T::KEYS
    }

    fn saved(&self, dirty: u64) {
        self.lock().dirty &= !dirty;
    }

    fn reset(&self, record: &Record) {
        let mut state = self.lock();
        state.value = T::decode(record);
        state.dirty = 0;
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn a_retyped_field_is_none() {
        let mut record = Record::new(SystemTime::now());
        record.apply([("V.n", &postcard::to_allocvec(&300u64).unwrap()[..])]);
        assert_eq!(decode_field::<u64>(&record, "V.n"), Some(300));
        assert_eq!(decode_field::<String>(&record, "V.n"), None);
        assert_eq!(decode_field::<bool>(&record, "V.n"), None);
        assert_eq!(decode_field::<u64>(&record, "V.missing"), None);
    }
}
