//! Who a session belongs to: an owner (a user id) kept in its record beside its fields, as
//! a built-in session struct, like its [lifetime](super::lifetime).
//!
//! A session gets a new id when it is bound to an owner, so that the owner of a stored id
//! never changes: stores index a record under the owner it was created with, and the
//! index needs no removal on a change of owner.
//!
//! The owner feature lives where the layering puts each part: `id/owner.rs` (the `Owner`
//! type and its check), `builtin/owner.rs` (the owner, kept in the record),
//! `request/owner.rs` (binding, listing and revoking from a request) and `accounts/mod.rs`
//! (listing and revoking from anywhere).

use super::builtin_session_data;
use super::keys::{BOUND, OWNER};
use crate::id::Owner;
use crate::record::Record;

/// The owner of a session, and when it was bound (Unix µs, so that a login a millisecond
/// after a revocation is told from one before it): a cookie session bound before
/// its owner last logged out everywhere is dead.
#[derive(Default)]
pub(crate) struct Ownership {
    pub(crate) owner: Option<String>,
    pub(crate) bound_us: u64,
}

builtin_session_data!(Ownership { 0: owner at OWNER, 1: bound_us at BOUND });

/// The owner of the session in `record`, if it has one. Asked on every save and refresh:
/// a record without built-in keys answers in one comparison.
/// An owner that no longer passes [`Owner`]'s check (bound before the check was stricter)
/// reads as none.
pub(crate) fn owner_of(record: &Record) -> Option<Owner> {
    let bytes = record.get_builtin(OWNER)?;
    let owner = postcard::from_bytes::<Option<&str>>(bytes).ok().flatten()?;
    Owner::new(owner).ok()
}

/// When the session in `record` was bound to its owner (Unix µs; 0 if it was not).
pub(crate) fn bound_us(record: &Record) -> u64 {
    record
        .get_builtin(BOUND)
        .and_then(|bytes| postcard::from_bytes(bytes).ok())
        .unwrap_or(0)
}
