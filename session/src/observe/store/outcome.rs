//! What each kind of store answer says about the call: its `outcome` field, and what it
//! counts.

use super::{Op, StoreCall};
use crate::observe::names;
use crate::store::{CreateOutcome, OwnedRecord, ReplaceOutcome, SaveOutcome, StoredRecord};

/// What a store call's answer says, as the `outcome` field, counting what it counts.
pub(crate) trait Outcome {
    fn outcome<T>(&self, call: &StoreCall<'_, T>) -> &'static str;
}

impl Outcome for Option<StoredRecord> {
    fn outcome<T>(&self, call: &StoreCall<'_, T>) -> &'static str {
        match self {
            Some(stored) => {
                call.span.record("bytes", stored.data.len());
                "hit"
            }
            None => "miss",
        }
    }
}

impl Outcome for SaveOutcome {
    fn outcome<T>(&self, call: &StoreCall<'_, T>) -> &'static str {
        let store = call.store;
        match self {
            SaveOutcome::Saved(_) => {
                store.count(if call.op == Op::Create {
                    names::CREATES
                } else {
                    names::SAVES
                });
                if store.sessions {
                    crate::observe::size(names::RECORD_BYTES, store.name, call.bytes as usize);
                }
                "saved"
            }
            SaveOutcome::Conflict => {
                store.count(names::CONFLICTS);
                "conflict"
            }
            SaveOutcome::Missing => "missing",
        }
    }
}

impl Outcome for ReplaceOutcome {
    fn outcome<T>(&self, call: &StoreCall<'_, T>) -> &'static str {
        match self {
            Self::Saved(version) => SaveOutcome::Saved(*version).outcome(call),
            Self::Lost(_) => SaveOutcome::Conflict.outcome(call),
            Self::Missing => SaveOutcome::Missing.outcome(call),
        }
    }
}

impl Outcome for CreateOutcome {
    fn outcome<T>(&self, call: &StoreCall<'_, T>) -> &'static str {
        match self {
            Self::Created(version) => SaveOutcome::Saved(*version).outcome(call),
            Self::Taken => SaveOutcome::Conflict.outcome(call),
            Self::Full => "full",
        }
    }
}

impl Outcome for bool {
    fn outcome<T>(&self, call: &StoreCall<'_, T>) -> &'static str {
        if !*self {
            return "absent";
        }
        match call.op {
            Op::Touch => call.store.count(names::TOUCHES),
            Op::Delete => call.store.count(names::DELETES),
            _ => {}
        }
        "found"
    }
}

impl Outcome for u64 {
    fn outcome<T>(&self, call: &StoreCall<'_, T>) -> &'static str {
        call.span.record("records", *self);
        if call.store.sessions && *self > 0 {
            crate::observe::count_many(names::DELETES, call.store.name, *self);
        }
        "removed"
    }
}

impl Outcome for Vec<OwnedRecord> {
    fn outcome<T>(&self, call: &StoreCall<'_, T>) -> &'static str {
        call.span.record("records", self.len());
        "listed"
    }
}
