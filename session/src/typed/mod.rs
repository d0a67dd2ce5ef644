//! The typed layer over the record format: the [`SessionData`] trait the derive implements,
//! decoding each field from a record, encoding changed fields, and one struct's decoded value
//! during a request with its dirty bits.

#[cfg(feature = "tower-sessions-import")]
mod imported;

use crate::error::Error;
use crate::record::{FieldChanges, Record};
use serde::Serialize;
use serde::de::DeserializeOwned;
use smallvec::SmallVec;
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
    note = "add `#[derive(Session)]` to the struct `{Self}` (with `use typed_sessions::Session;`)"
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

    /// Encodes field `index` into `buf`: its length, or `None` when it does not fit (the
    /// caller then encodes it the long way) or is no field.
    #[doc(hidden)]
    fn encode_field(&self, index: usize, buf: &mut [u8]) -> Option<usize> {
        let _ = (index, buf);
        None
    }

    /// Wraps the request's shared field state in the accessor type.
    #[doc(hidden)]
    fn wrap(fields: SharedFields<Self>) -> Self::Fields;

    /// Moves the fields whose bit is set in `fields` from `from` into `self`.
    #[doc(hidden)]
    fn assign(&mut self, from: Self, fields: u64);
}

/// The field stored under `key`, or `None` (with a warning) when it is absent or no longer
/// decodes as `V`, which happens after a deploy changed the field's type.
#[doc(hidden)]
pub fn decode_field<V: DeserializeOwned>(record: &Record, key: &str) -> Option<V> {
    #[cfg(feature = "tower-sessions-import")]
    let Some(bytes) = record.get(key) else {
        return imported::field(record, key);
    };
    #[cfg(not(feature = "tower-sessions-import"))]
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

/// `value` encoded into `buf`: its length, or `None` if it does not fit.
#[doc(hidden)]
pub fn encode_into<V: Serialize>(value: &V, buf: &mut [u8]) -> Option<usize> {
    postcard::to_slice(value, buf)
        .ok()
        .map(|encoded| encoded.len())
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
    /// Bit `i` set: field `i` was replaced (`set_*`) since the last save, so its value is
    /// saved as it is, last writer winning.
    replaced: u64,
    /// The `update_*` closures of fields not replaced since the last save, in the order they
    /// ran: replayed on the stored value when the record changed underneath. Nearly always
    /// one or two; a closure that captures nothing boxes without allocating.
    updates: SmallVec<[Update<T>; 2]>,
}

/// One `update_*` of field `index`, kept to be run again.
struct Update<T> {
    index: usize,
    run: Box<dyn FnMut(&mut T) + Send>,
}

impl<T: SessionData> SharedFields<T> {
    /// Calls `f` with the current value.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0.lock().value)
    }

    /// Calls `f` to replace field `index`, and marks that field changed: its value is saved
    /// as it is, whatever other requests saved meanwhile.
    pub fn write<R>(&self, index: usize, f: impl FnOnce(&mut T) -> R) -> R {
        let mut state = self.0.lock();
        let bit = 1 << index;
        state.dirty |= bit;
        state.replaced |= bit;
        state.updates.retain(|update| update.index != index);
        f(&mut state.value)
    }

    /// Calls `f` to change field `index` in place, marks that field changed, and keeps `f`:
    /// if another request saved the session meanwhile, `f` runs again on the value it saved.
    ///
    /// An `f` that leaves an unchanged field as it was (`Option::take` on `None`) changes
    /// nothing: the field stays unchanged, so that reading by taking saves nothing.
    pub fn update<R>(&self, index: usize, mut f: impl FnMut(&mut T) -> R + Send + 'static) -> R {
        let mut state = self.0.lock();
        let bit = 1 << index;
        let result = if state.dirty & bit == 0 {
            let (result, changed) = changes_field(&mut state.value, index, &mut f);
            if !changed {
                return result;
            }
            state.dirty |= bit;
            result
        } else {
            f(&mut state.value)
        };
        if state.replaced & bit == 0 {
            let run = Box::new(move |value: &mut T| drop(f(value)));
            state.updates.push(Update { index, run });
        }
        result
    }
}

/// Runs `f` on `value`, and tells whether field `index` changed: its encoding before and
/// after differ (or could not be compared). A small field is encoded on the stack; a larger
/// one into a buffer kept per thread, which costs no allocation once it has grown.
fn changes_field<T: SessionData, R>(
    value: &mut T,
    index: usize,
    f: &mut impl FnMut(&mut T) -> R,
) -> (R, bool) {
    const SMALL: usize = 128;
    let mut before = [0; SMALL];
    if let Some(len) = value.encode_field(index, &mut before) {
        let result = f(value);
        let mut after = [0; SMALL];
        let same = value
            .encode_field(index, &mut after)
            .is_some_and(|after_len| before[..len] == after[..after_len]);
        return (result, !same);
    }
    thread_local! {
        static SCRATCH: std::cell::RefCell<FieldChanges> = std::cell::RefCell::default();
    }
    let encode = |value: &T, scratch: &mut FieldChanges| {
        let mut changes = Changes::<T>::new(std::mem::take(scratch));
        let encoded = value.encode_dirty(1 << index, &mut changes);
        *scratch = changes.into_fields();
        encoded.is_ok()
    };
    SCRATCH.with(|scratch| {
        // `f` is the user's: it could reach this buffer again only through another
        // session's `update_*`, which finds it borrowed and counts as a change.
        let Ok(mut scratch) = scratch.try_borrow_mut() else {
            return (f(value), true);
        };
        scratch.clear();
        let before = encode(value, &mut scratch);
        let result = f(value);
        let after = encode(value, &mut scratch);
        let same = before && after && {
            let mut encoded = scratch.iter().map(|(_, bytes)| bytes);
            encoded.next() == encoded.next()
        };
        scratch.clear();
        (result, !same)
    })
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
                // Fields read from a tower-sessions import are saved as the struct's own.
                #[cfg(feature = "tower-sessions-import")]
                dirty: imported::only_there(record, T::KEYS),
                #[cfg(not(feature = "tower-sessions-import"))]
                dirty: 0,
                replaced: 0,
                updates: SmallVec::new(),
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

impl<T> State<T> {
    /// Which of the fields in `dirty` a rebase replays: changed by `update_*` only.
    fn replayed(&self, dirty: u64) -> u64 {
        let updated = self
            .updates
            .iter()
            .fold(0, |bits, update| bits | (1 << update.index));
        dirty & updated & !self.replaced
    }
}

/// What the request needs from each struct's state, whatever the struct.
/// The views a commit saves, with the dirty bits it covers.
pub(crate) type Dirty = SmallVec<[(Arc<dyn View>, u64); 2]>;

pub(crate) trait View: Send + Sync {
    /// Encodes the changed fields; returns the dirty bits encoded, for [`View::saved`].
    fn changes(&self, out: &mut FieldChanges) -> Result<u64, Error>;
    /// The bits of the fields changed since the last save.
    fn dirty(&self) -> u64;
    /// The storage keys of the struct's fields, in bit order.
    #[cfg(feature = "test-util")]
    fn keys(&self) -> &'static [&'static str];
    /// Encodes the fields in `dirty` on top of `current`, the record as another request saved
    /// it: fields changed only by `update_*` are `current`'s values with the updates run
    /// again, the others are this request's values.
    fn rebase(&self, current: &Record, dirty: u64, out: &mut FieldChanges) -> Result<(), Error>;
    /// The fields in `dirty` are stored now, in `written`. After a [`View::rebase`], the
    /// fields it replayed take their stored values, so later updates in this request build
    /// on what the store holds.
    fn saved(&self, dirty: u64, written: Option<&Record>);
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

    fn rebase(&self, current: &Record, dirty: u64, out: &mut FieldChanges) -> Result<(), Error> {
        let mut state = self.lock();
        let replayed = state.replayed(dirty);
        let mut changes = Changes::<T>::new(std::mem::take(out));
        let mut encoded = state.value.encode_dirty(dirty & !replayed, &mut changes);
        if replayed != 0 && encoded.is_ok() {
            let mut stored = T::decode(current);
            for update in &mut state.updates {
                if replayed & (1 << update.index) != 0 {
                    (update.run)(&mut stored);
                }
            }
            encoded = stored.encode_dirty(replayed, &mut changes);
        }
        *out = changes.into_fields();
        encoded
    }

    fn saved(&self, dirty: u64, written: Option<&Record>) {
        let mut state = self.lock();
        let replayed = state.replayed(dirty);
        if let Some(written) = written
            && replayed != 0
        {
            state.value.assign(T::decode(written), replayed);
        }
        state.dirty &= !dirty;
        state.replaced &= !dirty;
        state
            .updates
            .retain(|update| dirty & (1 << update.index) == 0);
    }

    fn reset(&self, record: &Record) {
        let mut state = self.lock();
        state.value = T::decode(record);
        state.dirty = 0;
        state.replaced = 0;
        state.updates.clear();
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// The struct's `Default`, for fields that take their default from it (called by the
/// derive's generated code).
#[must_use]
pub fn struct_default<T: Default>() -> T {
    T::default()
}

/// The accessors of a struct whose derive failed: there are none.
#[derive(Debug)]
pub struct Unavailable;

#[cfg(test)]
mod tests;
