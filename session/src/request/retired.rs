//! A periodically retired id. A layer with a rotation interval moves a session whose id is
//! older to a new id, and leaves under the old id's own key ([`StorageKey::of_retired`])
//! a record that leads to the new one: the new id, sealed under a key only the old id
//! gives (a store's dump opens nothing), and the end of the grace window.
//!
//! A request with the old id within the grace window (one in flight at the rotation) goes
//! on as the session under its new id, and its response hands the new id out. After the
//! window, the old id is a replay: someone has a copy of it. The session ends under every
//! id it has had (the refresh-token reuse rule), and the request gets a fresh one.
//!
//! The rotation feature lives where the layering puts each part: `builtin/rotation.rs`
//! (when the id was issued), `request/arrival.rs` (deciding, when a session arrives, that
//! its id is due), `request/rotation.rs` (the move, and the retired id's record) and
//! `request/retired.rs` (a request that comes with a retired id).

use super::commit::Save;
use super::live::decode;
use super::state::Current;
use crate::builtin::owner::owner_of;
use crate::encryption::Encryption;
use crate::error::Error;
use crate::id::{SessionId, StorageKey};
use crate::observe::{self, ObservedStore};
use crate::record::Record;
use crate::store::StoredRecord;
use crate::time::unix_ms;
use crate::typed::Dirty;
use std::time::{Duration, SystemTime};

/// How many ids a chain of retired ids is followed through at most.
const CHAIN_MAX: usize = 16;

/// The record `old` leaves when it is retired for `successor`, leading to it until
/// `grace_until` (authenticated with it: a store cannot stretch the window).
pub(super) fn retirement(
    old: &SessionId,
    successor: &SessionId,
    grace_until: SystemTime,
) -> Vec<u8> {
    old.seal_successor(successor, unix_ms(grace_until).to_le_bytes())
}

/// The end of the grace window and the successor, if `record` is one `old` left.
fn open(old: &SessionId, record: &[u8]) -> Option<(u64, SessionId)> {
    let (grace, successor) = old.open_successor(record)?;
    Some((u64::from_le_bytes(grace), successor))
}

/// What a request with an id whose record is gone found.
pub(super) enum Followed {
    /// Nothing was retired under it.
    Nothing,
    /// Within the grace window: the session under its new id.
    Successor {
        id: SessionId,
        key: StorageKey,
        stored: StoredRecord,
    },
    /// After the grace window: the session was ended under every id it had.
    Replayed,
}

/// What an id sent after its grace window means.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Late {
    /// A request came with it: a replay, which ends the session under every id.
    Replay,
    /// A request that had it before it was retired is saving: the session is gone for it.
    Gone,
}

/// Follows `id`, whose record is gone, through the records retired ids left.
pub(super) async fn follow(
    store: &ObservedStore,
    encryption: Option<&Encryption>,
    id: SessionId,
    late: Late,
) -> Result<Followed, Error> {
    let mut current = id;
    for _ in 0..CHAIN_MAX {
        let retired = StorageKey::of_retired(&current);
        let Some(left) = store.load(&retired).await? else {
            return Ok(Followed::Nothing);
        };
        let Some((grace_until_ms, successor)) = open(&current, &left.data) else {
            return Ok(Followed::Nothing);
        };
        if unix_ms(SystemTime::now()) >= grace_until_ms {
            if late == Late::Gone {
                return Ok(Followed::Nothing);
            }
            end_every_id(store, encryption, id).await?;
            return Ok(Followed::Replayed);
        }
        let key = successor.storage_key();
        if let Some(stored) = store.load(&key).await? {
            return Ok(Followed::Successor {
                id: successor,
                key,
                stored,
            });
        }
        current = successor;
    }
    Ok(Followed::Nothing)
}

/// A request in flight when a periodic rotation retired `id`: rebases `save` on the session
/// under its new id, if the grace window is still open. `false`: the session is gone for
/// it. A save late past the window is no replay (the request had the id before it was
/// retired), and ends nothing.
pub(super) async fn rebase_on_successor(
    store: &ObservedStore,
    encryption: Option<&Encryption>,
    save: &mut Save,
    dirty: &Dirty,
    id: SessionId,
) -> Result<bool, Error> {
    let Followed::Successor { id, key, stored } = follow(store, encryption, id, Late::Gone).await?
    else {
        return Ok(false);
    };
    let Some((stored, version)) = decode(encryption, (&id, &key), stored) else {
        return Ok(false);
    };
    tracing::debug!("session moved to a new id while this request ran; saving it there");
    save.rebase_on(&stored, Some(Current { id, key, version }), dirty)?;
    Ok(true)
}

/// Ends the session that `first` began, under every id it had since: each one's record,
/// and each record a retired one left.
async fn end_every_id(
    store: &ObservedStore,
    encryption: Option<&Encryption>,
    first: SessionId,
) -> Result<(), Error> {
    tracing::warn!(
        "a retired session id was sent after its grace window: a copy of it exists, so the session is ended under every id"
    );
    observe::count(observe::names::REPLAYS, store.name());
    let mut current = first;
    for _ in 0..CHAIN_MAX {
        let key = current.storage_key();
        if let Some(stored) = store.load(&key).await? {
            let directory = crate::encryption::directory_bytes(encryption, &key, &stored.data);
            let owner = directory
                .and_then(|bytes| Record::decode_vec(bytes.into_owned()).ok())
                .and_then(|record| owner_of(&record));
            store.delete(&key, owner.as_ref()).await?;
        }
        let retired = StorageKey::of_retired(&current);
        let Some(left) = store.load(&retired).await? else {
            break;
        };
        store.delete(&retired, None).await?;
        let Some((_, successor)) = open(&current, &left.data) else {
            break;
        };
        current = successor;
    }
    Ok(())
}

/// How long the record a retired id leaves is kept: as long as the new record lives from
/// the rotation, and at least the grace window.
pub(super) fn kept_until(new_expires_at: SystemTime, grace_until: SystemTime) -> SystemTime {
    new_expires_at.max(grace_until + Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_id_opens_only_its_own_record() {
        let (old, new, other) = (
            SessionId::random(),
            SessionId::random(),
            SessionId::random(),
        );
        let until = SystemTime::now() + Duration::from_secs(10);
        let record = retirement(&old, &new, until);
        assert_eq!(open(&old, &record), Some((unix_ms(until), new)));
        assert_eq!(open(&other, &record), None, "another id opens nothing");
        let mut stretched = record.clone();
        stretched[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(
            open(&old, &stretched),
            None,
            "the window cannot be stretched"
        );
        assert_eq!(open(&old, &record[..record.len() - 1]), None);
        assert!(
            !record.windows(16).any(|window| window == new.as_bytes()),
            "sealed"
        );
    }
}
