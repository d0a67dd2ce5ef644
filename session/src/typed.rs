//! One derived struct's decoded fields within a request, with its dirty bits.

use crate::Error;
use crate::data::SessionData;
use crate::record::{Changes, FieldChanges, Record};
use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The decoded value of one session struct during one request, shared by every extractor of
/// that struct in the request. The derive's accessors call [`Fields::read`] and
/// [`Fields::write`].
#[doc(hidden)]
pub struct Fields<T>(Arc<Typed<T>>);

pub(crate) struct Typed<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: T,
    /// Bit `i` set: field `i` changed since the last save.
    dirty: u64,
}

impl<T: SessionData> Fields<T> {
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

impl<T> fmt::Debug for Fields<T> {
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

    pub(crate) fn fields(self: &Arc<Self>) -> Fields<T> {
        Fields(Arc::clone(self))
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
    /// Some field changed since the last save.
    fn is_dirty(&self) -> bool;
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

    fn is_dirty(&self) -> bool {
        self.lock().dirty != 0
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
