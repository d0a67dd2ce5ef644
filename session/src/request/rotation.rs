//! Moving a session to a new id (`cycle_id()`, a login): the new record is written before
//! the old one is deleted, and only the request that deletes the old one keeps the new.

use super::live::decode;
use super::server::Save;
use super::state::Current;
use crate::observe::ObservedStore;
use crate::owner::owner_of;
use crate::typed::Dirty;
use crate::{Error, SessionId};

/// Rebases `save.record` on the `old` record as it is now, for a move to a new id; returns
/// the old record's owner. `None`: another request ended the session first.
pub(super) async fn rebase_for_rotation(
    store: &ObservedStore,
    old: Current,
    save: &mut Save,
    dirty: &Dirty,
) -> Result<Option<Option<Box<str>>>, Error> {
    let Some((now_stored, _)) = store.load(&old.key).await?.and_then(decode) else {
        return Ok(None);
    };
    save.rebase_on(&now_stored, None, dirty)?;
    Ok(Some(owner_of(&now_stored).map(Box::from)))
}

/// Deletes the `old` record once its successor (`new`, of `owner`) is saved: only if this
/// request is the one that kills the old id, so that a logout (or a revocation) that won
/// the race stays one. If the old one was gone, the new one is deleted too, and `false`
/// says so. The new record is written first, so that at every moment a listing of the
/// owner's sessions finds the old one or the new one: revoking them all cannot miss a
/// rotation in flight.
pub(super) async fn retire(
    store: &ObservedStore,
    old: &Current,
    old_owner: Option<&str>,
    new: &SessionId,
    owner: Option<&str>,
) -> Result<bool, Error> {
    if store.delete(&old.key, old_owner).await? {
        return Ok(true);
    }
    store.delete(new, owner).await?;
    Ok(false)
}
