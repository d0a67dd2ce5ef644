//! The per-session save turns of a layer ([`super::Config::turns`]): the last save this
//! process made of each hot session, and the saves waiting to be made with the next
//! (group commit). `request/turn.rs` takes them; here is only what they hold.

use crate::id::SessionId;
use crate::record::Record;
use crate::store::Version;
use crate::typed::Dirty;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::SystemTime;

/// Saves of the sessions in one stripe of [`Config::turns`](super::Config::turns), which
/// take turns.
#[derive(Default)]
pub(crate) struct Turns {
    /// The turn: held while saving, with the process's last save in the stripe.
    pub(crate) turn: tokio::sync::Mutex<Option<LastSave>>,
    /// Saves waiting for the turn. The request that takes it makes the waiting saves of its
    /// session together with its own, in one store write.
    pub(crate) queued: std::sync::Mutex<Vec<Arc<QueuedSave>>>,
    /// Saves sent ahead (pipelined) that let go of the turn and are not answered yet.
    pub(crate) ahead: AtomicUsize,
}

impl std::fmt::Debug for Turns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turns").finish_non_exhaustive()
    }
}

/// A save of a hot session waiting for its turn: another request may make it.
pub(crate) struct QueuedSave {
    pub(crate) id: SessionId,
    /// The changes to make, asked of the waiting request's views.
    pub(crate) dirty: Dirty,
    /// Taken into another request's save: the waiting request waits for its outcome, even
    /// if it gets the turn first (a hot session's save lets go of the turn once sent).
    pub(crate) gathered: AtomicBool,
    /// Set by the request that made the save.
    pub(crate) outcome: std::sync::Mutex<Option<Combined>>,
    /// Notified once `outcome` is set, or once it is sure it will not be (the save failed,
    /// or its request was cancelled): the waiting request then makes its own save.
    pub(crate) settled: tokio::sync::Notify,
}

/// What became of a save that another request made.
pub(crate) enum Combined {
    /// Stored: the record at `version`, with this save's changes and others'.
    Saved {
        version: Version,
        expires_at: SystemTime,
        record: Record,
    },
    /// The session was deleted or rotated first.
    Gone,
    /// Lost races to other processes for the whole contention budget.
    Contention { attempts: u32 },
}

/// The last save of a session that this process made.
#[derive(Debug)]
pub(crate) struct LastSave {
    pub(crate) id: SessionId,
    pub(crate) version: Version,
    /// The record written, kept while the session is hot (that save had lost a race) and
    /// small: the next save of it then needs no load.
    pub(crate) record: Option<Record>,
}
