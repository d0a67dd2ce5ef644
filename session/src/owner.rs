//! Who a session belongs to: an owner (a user id) kept in its record beside its fields, as
//! a built-in session struct, like its [lifetime](crate::lifetime).
//!
//! A session gets a new id when it is bound to an owner, so that the owner of a stored id
//! never changes: stores index a record under the owner it was created with, and the
//! index needs no removal on a change of owner.

use crate::record::Record;
use crate::typed::builtin_session_data;

/// The record keys. Like the lifetime's, they sort after every derived struct's keys.
const BOUND: &str = "~session.bound_us";
const OWNER: &str = "~session.owner";

/// The longest owner a session takes, in bytes.
pub(crate) const OWNER_MAX: usize = 256;

/// The owner of a session, and when it was bound (Unix µs, so that a login a millisecond
/// after a revocation is told from one before it): a cookie session bound before
/// its owner last logged out everywhere is dead.
#[derive(Default)]
pub(crate) struct Ownership {
    pub(crate) owner: Option<String>,
    pub(crate) bound_us: u64,
}

/// An owner that is empty or longer than 256 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a session owner is 1 to 256 bytes")]
pub struct InvalidOwner;

/// Checks that `owner` can own a session.
pub(crate) fn check(owner: &str) -> Result<(), InvalidOwner> {
    if owner.is_empty() || owner.len() > OWNER_MAX {
        return Err(InvalidOwner);
    }
    Ok(())
}

builtin_session_data!(Ownership { 0: owner at OWNER, 1: bound_us at BOUND });

/// The owner of the session in `record`, if it has one. Asked on every save and refresh:
/// a record without built-in keys answers in one comparison.
pub(crate) fn owner_of(record: &Record) -> Option<&str> {
    let bytes = record.get_builtin(OWNER)?;
    postcard::from_bytes::<Option<&str>>(bytes).ok().flatten()
}

/// When the session in `record` was bound to its owner (Unix µs; 0 if it was not).
pub(crate) fn bound_us(record: &Record) -> u64 {
    record
        .get_builtin(BOUND)
        .and_then(|bytes| postcard::from_bytes(bytes).ok())
        .unwrap_or(0)
}
