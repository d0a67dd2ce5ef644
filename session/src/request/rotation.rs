//! Moving a session to a new id (`cycle_id()`, a login, a periodic rotation): the new
//! record is written before the old one is deleted, and only the request that deletes the
//! old one keeps the new.
//!
//! The rotation feature lives where the layering puts each part: `builtin/rotation.rs`
//! (when the id was issued), `request/arrival.rs` (deciding, when a session arrives, that
//! its id is due), `request/rotation.rs` (the move, and the retired id's record) and
//! `request/retired.rs` (a request that comes with a retired id).

use super::commit::{Replaced, Rotation, Save};
use super::live::decode;
use super::retired::{rebase_on_successor, retirement};
use super::state::Current;
use crate::accounts::revocations::revoked_in;
use crate::builtin::owner::owner_of;
use crate::encryption::Encryption;
use crate::error::Error;
use crate::id::{Owner, SessionId, StorageKey};
use crate::observe::ObservedStore;
use crate::typed::Dirty;
use std::time::SystemTime;

/// Begins the move of `save` to a new id, if it asked for one and has an id to leave:
/// rebases it on the old record as it is now.
pub(super) async fn begin_rotation(
    store: &ObservedStore,
    encryption: Option<&Encryption>,
    save: &mut Save,
    dirty: &Dirty,
) -> Result<Rotation, Error> {
    if !save.rotate {
        return Ok(Rotation::None);
    }
    let Some(old) = save.current.take() else {
        return Ok(Rotation::None);
    };
    // Boxed: rare (a login), and inline it would make every save's future larger.
    Box::pin(rebase_on_old(store, encryption, old, save, dirty)).await
}

/// Rebases `save.record` on the `old` record as it is now.
async fn rebase_on_old(
    store: &ObservedStore,
    encryption: Option<&Encryption>,
    old: Current,
    save: &mut Save,
    dirty: &Dirty,
) -> Result<Rotation, Error> {
    let loaded = store.load(&old.key).await?;
    let decoded = loaded.and_then(|stored| decode(encryption, (&old.id, &old.key), stored));
    let Some((now_stored, _)) = decoded else {
        return successor_or_gone(store, encryption, old, save, dirty).await;
    };
    save.rebase_on(&now_stored, None, dirty)?;
    Ok(Rotation::Replacing(Box::new(Replaced {
        old,
        owner: owner_of(&now_stored),
    })))
}

/// A periodic rotation whose old record is gone: another request moved the session to a
/// new id first. Within the grace window this save goes to that new id, not moving it
/// again; else the session is gone.
async fn successor_or_gone(
    store: &ObservedStore,
    encryption: Option<&Encryption>,
    old: Current,
    save: &mut Save,
    dirty: &Dirty,
) -> Result<Rotation, Error> {
    if !save.grace || !rebase_on_successor(store, encryption, save, dirty, old.id).await? {
        return Ok(Rotation::Gone);
    }
    save.rotate = false;
    save.grace = false;
    Ok(Rotation::None)
}

/// What a periodic rotation leaves under the retired id ([`super::retired`]): a record
/// that leads to the new id until `grace_until`, kept until `kept_until`.
pub(super) struct Retiring {
    pub(super) grace_until: SystemTime,
    pub(super) kept_until: SystemTime,
}

/// Deletes the `replaced` record once its successor (`new`, of `owner`; `check`: the key
/// of the owner's revocation epoch and the epoch it is stamped with) is saved: only if this request is the one that kills the old
/// id, so that a logout (or a revocation) that won the race stays one. If the old one was
/// gone, the new one is deleted too, and `false` says so. The new record is written first,
/// so that at every moment a listing of the owner's sessions finds the old one or the new
/// one; and a revocation of the owner recorded meanwhile (log out everywhere, whose listing
/// came too early to see the new record) is looked up after it, and deletes the new one
/// too. A periodic rotation (`retiring`) leaves its record under the old id before the old
/// record goes, so that a request in flight with the old id always finds one or the other.
pub(super) async fn retire(
    store: &ObservedStore,
    replaced: &Replaced,
    (new_id, new): (SessionId, StorageKey),
    owner: Option<Owner>,
    check: Option<(StorageKey, u64)>,
    retiring: Option<Retiring>,
) -> Result<bool, Error> {
    let left = match retiring {
        Some(retiring) => {
            let key = StorageKey::of_retired(&replaced.old.id);
            let record = retirement(&replaced.old.id, &new_id, retiring.grace_until);
            // A conflict is a record already there: this id was retired before, by this
            // very rotation tried again.
            let _written = store
                .save(&key, &record, retiring.kept_until, None, None)
                .await?;
            Some(key)
        }
        None => None,
    };
    let retired = store
        .delete(&replaced.old.key, replaced.owner.as_ref())
        .await?;
    // Only a session that had this owner before the move can have been listed, and missed,
    // by a revocation: one bound in this request read its epoch before it was written.
    let revoked = match (&owner, &replaced.owner, retired, check) {
        (Some(owner), Some(before), true, Some((key, bound))) if owner == before => {
            revoked_in(store, &key, bound).await?
        }
        _ => false,
    };
    if retired && !revoked {
        return Ok(true);
    }
    store.delete(&new, owner.as_ref()).await?;
    if let Some(left) = left {
        store.delete(&left, None).await?;
    }
    Ok(false)
}
