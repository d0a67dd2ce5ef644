//! When the session's current id was issued, kept in its record beside its fields: a layer
//! with a [rotation interval](crate::SessionLayer::with_rotation_interval) moves a session
//! to a new id once its id is older than that.
//!
//! The rotation feature lives where the layering puts each part: `builtin/rotation.rs`
//! (when the id was issued), `request/arrival.rs` (deciding, when a session arrives, that
//! its id is due), `request/rotation.rs` (the move, and the retired id's record) and
//! `request/retired.rs` (a request that comes with a retired id).

use super::builtin_session_data;
use super::keys::ISSUED;
use crate::record::Record;
use crate::time::from_unix_us;
use std::time::SystemTime;

/// When the session's id was issued (Unix µs); 0: when the session began.
#[derive(Default)]
pub(crate) struct IdIssued {
    pub(crate) issued_us: u64,
}

builtin_session_data!(IdIssued { 0: issued_us at ISSUED });

/// When the id of the session in `record` was issued.
pub(crate) fn issued(record: &Record) -> SystemTime {
    match super::decode_builtin::<u64>(record, ISSUED) {
        0 => record.created(),
        us => from_unix_us(us),
    }
}
