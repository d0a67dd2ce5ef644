//! Who a session belongs to: an owner (a user id) kept in its record beside its fields, as
//! a built-in session struct, like its [lifetime](super::lifetime).
//!
//! A session gets a new id when it is bound to an owner, so that the owner of a stored id
//! never changes: stores index a record under the owner it was created with, and the
//! index needs no removal on a change of owner.
//!
//! The owner feature lives where the layering puts each part: `id/owner.rs` (the `Owner`
//! type and its check), `builtin/owner.rs` (the owner, kept in the record),
//! `request/owner.rs` (binding, listing and revoking from a request), `extract/owner.rs`
//! (the same on the extractor) and `accounts/mod.rs`
//! (listing and revoking from anywhere). When the user last authenticated, which
//! `extract/fresh.rs` ("sudo mode") asks, is kept here too, and recorded in
//! `request/owner.rs`.

use super::builtin_session_data;
use super::keys::{AUTHENTICATED, BOUND, OWNER, OWNER_KEY};
use crate::id::{Owner, StorageKey};
use crate::record::Record;

/// The owner of a session; the owner's revocation epoch when it was bound
/// ([`crate::accounts::revocations`]): a session whose owner's epoch has passed it is dead;
/// when its user last proved who they are (Unix µs: bound, or
/// [`reauthenticated`](crate::Session::reauthenticated)); and where that epoch is kept.
#[derive(Default)]
pub(crate) struct Ownership {
    pub(crate) owner: Option<String>,
    pub(crate) bound: u64,
    pub(crate) authenticated_us: u64,
    /// The key of the owner's revocation epoch ([`StorageKey::of_revocation`]).
    pub(crate) revocation_key: Option<[u8; StorageKey::LEN]>,
}

builtin_session_data!(Ownership {
    0: owner at OWNER,
    1: bound at BOUND,
    2: authenticated_us at AUTHENTICATED,
    3: revocation_key at OWNER_KEY,
});

/// The owner of the session in `record`, if it has one. Asked on every save and refresh:
/// a record without built-in keys answers in one comparison.
/// An owner that no longer passes [`Owner`]'s check (bound before the check was stricter)
/// reads as none.
pub(crate) fn owner_of(record: &Record) -> Option<Owner> {
    let bytes = record.get_builtin(OWNER)?;
    let owner = postcard::from_bytes::<Option<&str>>(bytes).ok().flatten()?;
    Owner::new(owner).ok()
}

/// The epoch the session in `record` was stamped with, and the key of its owner's epoch:
/// kept in the record since it was bound (a hash of the owner), else worked out from the
/// owner. `None` without an owner.
pub(crate) fn revocation_check(record: &Record) -> Option<(StorageKey, u64)> {
    let kept = super::decode_builtin::<Option<[u8; StorageKey::LEN]>>(record, OWNER_KEY);
    let key = match kept {
        Some(bytes) => StorageKey::from_bytes(bytes),
        None => StorageKey::of_revocation(&owner_of(record)?),
    };
    Some((key, bound(record)))
}

/// Whether the session in `record` has an owner, without decoding it: one comparison for a
/// record without built-in keys.
pub(crate) fn has_owner(record: &Record) -> bool {
    record.get_builtin(OWNER).is_some()
}

/// The revocation epoch the session in `record` was stamped with (0 if it was not bound).
pub(crate) fn bound(record: &Record) -> u64 {
    super::decode_builtin(record, BOUND)
}
