//! A session's own lifetime ("remember me"), kept in its record beside its fields, as a
//! built-in session struct: saved, merged with concurrent requests and reset like any other.

use super::builtin_session_data;
use super::keys::REMEMBER;
use crate::record::Record;
use crate::time::LONGEST;
use std::time::Duration;

/// How long the session is remembered for, in milliseconds; 0: it is not.
#[derive(Default)]
pub(crate) struct Lifetime {
    remember_ms: u64,
}

impl Lifetime {
    pub(crate) fn remembered(&self) -> Option<Duration> {
        (self.remember_ms > 0).then(|| Duration::from_millis(self.remember_ms))
    }

    /// Remembers for `duration` (at most [`LONGEST`], at least a millisecond), or forgets.
    pub(crate) fn remember(&mut self, duration: Option<Duration>) {
        self.remember_ms = duration.map_or(0, |duration| {
            let ms = duration.min(LONGEST).as_millis();
            u64::try_from(ms).unwrap_or(u64::MAX).max(1)
        });
    }
}

builtin_session_data!(Lifetime { 0: remember_ms at REMEMBER });

/// How long the session in `record` is remembered for, if it is.
pub(crate) fn remembered(record: &Record) -> Option<Duration> {
    Lifetime {
        remember_ms: remembered_ms(record)?,
    }
    .remembered()
}

/// The stored value. Asked on every load and save: one comparison, and no decoding for
/// most records, which have no such key.
fn remembered_ms(record: &Record) -> Option<u64> {
    postcard::from_bytes(record.get_last(REMEMBER)?).ok()
}
