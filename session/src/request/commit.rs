//! The types a commit is made of, shared by its steps: the [`Plan`] worked out under the
//! state lock, the [`Save`] it carries, and what became of it ([`Written`]). Here, apart
//! from the steps, so that `server.rs` (the write), `turn.rs` (taking turns, group commit)
//! and `rotation.rs` (a move to a new id) import them and not each other.

use super::state::{Current, Doomed};
use crate::config::turns::QueuedSave;
use crate::error::Error;
use crate::id::{Owner, SessionId, StorageKey};
use crate::observe::ObservedStore;
use crate::record::{FieldChanges, Record};
use crate::typed::Dirty;
use std::sync::Arc;
use std::time::SystemTime;

/// What a commit does, worked out under the state lock.
pub(super) struct Plan {
    pub(super) store: ObservedStore,
    /// The records to delete first.
    pub(super) doomed: Vec<Doomed>,
    pub(super) action: Action,
    /// The dirty bits the save covers.
    pub(super) dirty: Dirty,
}

// Made once per commit and worked on in place in the commit's boxed future: boxing `Save`
// on its own would cost an allocation per save.
#[allow(clippy::large_enum_variant)]
pub(super) enum Action {
    None,
    /// The storage key, the new expiry, and the session's owner.
    Touch(StorageKey, SystemTime, Option<Owner>),
    Save(Save),
}

pub(super) struct Save {
    pub(super) current: Option<Current>,
    /// The record to write: the loaded one with this request's changes applied (and those
    /// of `followers`).
    pub(super) record: Record,
    pub(super) rotate: bool,
    /// The old id is retired with a grace window ([`super::retired`]), not deleted.
    pub(super) grace: bool,
    /// `record` was rebuilt on another request's record (a lost race, or a rotation), or
    /// holds other requests' changes.
    pub(super) rebased: bool,
    /// Saves of other requests made with this one ([`super::turn`]).
    pub(super) followers: Followers,
}

/// Saves of other requests made with a request's save ([`super::turn::gather`]). Each is
/// told its outcome ([`super::turn::settle`]); those that are not, when the save's request
/// is cancelled, are told to make their own save.
#[derive(Default)]
pub(super) struct Followers(pub(super) Vec<Arc<QueuedSave>>);

impl Drop for Followers {
    fn drop(&mut self) {
        for queued in self.0.drain(..) {
            queued.settled.notify_one();
        }
    }
}

pub(super) enum Written {
    /// Stored as `current`, until `expires_at`.
    Saved {
        current: Current,
        expires_at: SystemTime,
    },
    Gone,
}

/// The record a rotation replaces, and its owner: retired once the new one is saved.
pub(super) struct Replaced {
    pub(super) old: Current,
    pub(super) owner: Option<Owner>,
}

/// How a move to a new id began.
pub(super) enum Rotation {
    /// No move: the save keeps its id.
    None,
    /// `save` was rebased on the record it replaces (boxed: rare, and inline it would make
    /// every save's future larger).
    Replacing(Box<Replaced>),
    /// Another request ended the session first.
    Gone,
}

/// What one compare-and-swap attempt at the store made of a save.
pub(super) enum Attempt {
    /// Finished: written, or the session was gone.
    Done(Written),
    /// Another process saved the record first: rebase on it (the request's `won`, when
    /// the store answered it with the loss) and try again.
    Lost { id: SessionId, key: StorageKey },
    /// A new random id collided with a live one: draw another.
    Collided,
    /// The record is gone, and a periodic rotation may have retired its id: follow it.
    Retired(SessionId),
}

impl Save {
    /// Rebuilds the record to write as `stored` with this request's changes (`dirty`), then
    /// those of its followers, rebased on it; `stored` is the record `current` names
    /// (`None`: a new id).
    pub(super) fn rebase_on(
        &mut self,
        stored: &Record,
        current: Option<Current>,
        dirty: &Dirty,
    ) -> Result<(), Error> {
        let mut record = rebased(stored, dirty)?;
        for follower in &self.followers.0 {
            record = rebased(&record, &follower.dirty)?;
        }
        self.record = record;
        self.rebased = true;
        self.current = current;
        Ok(())
    }
}

/// `record` with the changes of the views in `dirty` rebased on it.
pub(super) fn rebased(record: &Record, dirty: &Dirty) -> Result<Record, Error> {
    let mut changes = FieldChanges::default();
    for (view, bits) in dirty {
        view.rebase(record, *bits, &mut changes)?;
    }
    Ok(record.with(changes.iter()))
}
