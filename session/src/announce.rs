//! What the library's write path announces, once the store has acknowledged a change: the
//! event to the layer's sink ([`crate::events`]), and the notice to the live sessions of
//! every instance (`crate::hub`, for [`crate::live`]). Synchronous: a request that
//! announces waits for no one. Called from `request/server.rs` (creates, moves, logouts),
//! `request/mod.rs` (a cookie session's logout) and `accounts/mod.rs` (revocations).
//!
//! The live-session feature lives where the layering puts each part: `live/` (the
//! extractor), `hub/` (this process's live sessions), `announce.rs` (what the write path
//! tells them), `request/socket.rs` (a request's session handed on to a socket) and
//! `store/broadcast.rs` (the channel between instances).

use crate::backend::KeyedBackend;
use crate::builtin::owner::owner_of;
use crate::config::Config;
use crate::events::{EventKind, SessionEvent};
use crate::hub::{EndReason, Notice};
use crate::id::{Fingerprint, Owner, SessionId, StorageKey};
use crate::record::Record;
use std::time::SystemTime;

/// Tells the live sessions of this process and the other instances' of `notice`, made
/// only if someone can hear it.
fn announce(config: &Config, notice: impl FnOnce() -> Notice) {
    config.live.announce(notice, || config.broadcast());
}

fn tell(config: &Config, kind: EventKind, key: &StorageKey, owner: Option<&Owner>) {
    tell_moved(config, kind, key, None, owner);
}

fn tell_moved(
    config: &Config,
    kind: EventKind,
    key: &StorageKey,
    previous: Option<&StorageKey>,
    owner: Option<&Owner>,
) {
    if let Some(events) = &config.events {
        let event = SessionEvent {
            kind,
            fingerprint: Fingerprint::of_storage_key(key),
            previous: previous.map(Fingerprint::of_storage_key),
            owner: owner.cloned(),
            at: SystemTime::now(),
        };
        events.tell(config.backend.name(), event);
    }
}

/// A new session, `record`, was written under `key`: bound to its owner if it has one.
/// Nothing to do (not even reading the owner) without an event sink.
pub(crate) fn created(config: &Config, key: &StorageKey, record: &Record) {
    if config.events.is_none() {
        return;
    }
    let owner = owner_of(record);
    tell(config, EventKind::Created, key, owner.as_ref());
    if owner.is_some() {
        tell(config, EventKind::Bound, key, owner.as_ref());
    }
}

/// The session under `old` moved to `new`; `bound` if it was bound to `owner` with it.
pub(crate) fn rotated(
    config: &Config,
    (old, from): (&SessionId, StorageKey),
    (new, to): (&SessionId, StorageKey),
    owner: Option<&Owner>,
    bound: bool,
) {
    tell_moved(config, EventKind::Rotated, &to, Some(&from), owner);
    if bound {
        tell(config, EventKind::Bound, &to, owner);
    }
    announce(config, || Notice::Rotated {
        from,
        successor: old.seal_successor(new, [0; 8]),
    });
}

/// The session under `key` ended: `reason` says how, and which event it is.
pub(crate) fn ended(config: &Config, key: &StorageKey, owner: Option<&Owner>, reason: EndReason) {
    let kind = match reason {
        EndReason::Deleted => EventKind::Deleted,
        EndReason::Revoked => EventKind::Revoked,
        EndReason::Expired => EventKind::Expired,
    };
    tell(config, kind, key, owner);
    announce(config, || Notice::Ended { key: *key, reason });
}

/// A live session found its session expired: the other live sessions of it are told, and
/// the event too unless the store reports the expiry itself (an owner's session, on a
/// store that reports them: it is told once, when the store drops it).
pub(crate) fn expiry_seen(config: &Config, key: &StorageKey, owner: Option<&Owner>) {
    let reported = owner.is_some()
        && matches!(&config.backend, KeyedBackend::Server(backend) if backend.store.expired_owned().is_some());
    if !reported {
        tell(config, EventKind::Expired, key, owner);
    }
    let reason = EndReason::Expired;
    announce(config, || Notice::Ended { key: *key, reason });
}

/// Tells `Expired` for each session of an owner the store found expired since it was last
/// asked: after each of the layer's calls that write, or read an owner's index.
pub(crate) fn expired_owned(config: &Config) {
    let KeyedBackend::Server(backend) = &config.backend else {
        return;
    };
    let Some(expired) = backend.store.expired_owned() else {
        return;
    };
    for (key, owner) in expired.take() {
        ended(config, &key, Some(&owner), EndReason::Expired);
    }
}

/// Every session of `owner` but the one under `except` was revoked; `listed` are those the
/// revocation is known to have ended (for their events).
pub(crate) fn owner_revoked(
    config: &Config,
    owner: &Owner,
    except: Option<&StorageKey>,
    listed: &[StorageKey],
) {
    for key in listed {
        tell(config, EventKind::Revoked, key, Some(owner));
    }
    announce(config, || Notice::OwnerRevoked {
        owner: StorageKey::of_revocation(owner),
        except: except.copied(),
    });
}
