//! A session's own lifetime ("remember me"), kept in its record beside its fields, as a
//! built-in session struct: saved, merged with concurrent requests and reset like any other.

use crate::Error;
use crate::record::Record;
use crate::typed::{Changes, SessionData, SharedFields};
use std::time::Duration;

/// The record key. No session struct can have a field here: a namespace cannot start with
/// `~` (the derive refuses it). And `~` sorts after every character a namespace may hold,
/// so the key is always the record's last.
const REMEMBER: &str = "~session.remember_ms";

/// How long the session is remembered for, in milliseconds; 0: it is not.
#[derive(Default)]
pub(crate) struct Lifetime {
    pub(crate) remember_ms: u64,
}

impl SessionData for Lifetime {
    const KEYS: &'static [&'static str] = &[REMEMBER];
    type Fields = SharedFields<Self>;

    fn decode(record: &Record) -> Self {
        Self {
            remember_ms: remembered(record)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    fn encode_dirty(&self, dirty: u64, out: &mut Changes<Self>) -> Result<(), Error> {
        if dirty & 1 != 0 {
            out.put(0, &self.remember_ms)?;
        }
        Ok(())
    }

    fn wrap(fields: SharedFields<Self>) -> SharedFields<Self> {
        fields
    }

    fn assign(&mut self, from: Self, fields: u64) {
        if fields & 1 != 0 {
            self.remember_ms = from.remember_ms;
        }
    }
}

/// How long the session in `record` is remembered for, if it is.
pub(crate) fn remembered(record: &Record) -> Option<Duration> {
    // Asked on every load and save: one comparison, and no decoding for most records,
    // which have no such key.
    let bytes = record.get_last(REMEMBER)?;
    let ms: u64 = postcard::from_bytes(bytes).ok()?;
    (ms > 0).then(|| Duration::from_millis(ms))
}
