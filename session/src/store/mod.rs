//! Where session records live between requests.

mod broadcast;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod conformance;
mod expired;
mod file;
mod memory;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod replace;
mod scan;
mod shared;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod sql;

pub(crate) use broadcast::unless;
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) use broadcast::unless_closed;
pub use broadcast::{Broadcast, Subscription, Topics};
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "redis"))]
mod outbox;
pub use expired::ExpiredOwned;
pub use file::FileStore;
pub use memory::MemoryStore;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "redis"))]
pub(crate) use outbox::OutboxRow;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use replace::{Pipelined, ReplaceOutcome};
pub use scan::{ScanCursor, ScanPage};
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use sql::InvalidTableNameError;
#[cfg(feature = "postgres")]
pub use sql::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sql::SqliteStore;
#[cfg(all(
    feature = "tower-sessions-import",
    any(feature = "postgres", feature = "sqlite")
))]
pub(crate) use sql::Table;

use crate::id::Owner;
pub use crate::id::StorageKey;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

/// A boxed future, so that [`Store`] stays dyn-compatible.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A record's version, for compare-and-swap saves. Opaque: stores choose the numbers, callers
/// only hand back what [`Store::load`] gave them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(u64);

impl Version {
    /// Wraps a store's version number.
    #[must_use]
    pub const fn new(version: u64) -> Self {
        Self(version)
    }

    /// The store's version number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// A live record, as [`Store::load`] returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// The bytes given to [`Store::save`].
    pub data: Vec<u8>,
    /// Changes on every successful save.
    pub version: Version,
    /// When the store stops returning the record.
    pub expires_at: SystemTime,
}

/// A live record and the key it is stored under, as [`Store::owned`] finds it under its
/// owner and [`Store::scan`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRecord {
    /// The key it is stored under.
    pub key: StorageKey,
    /// The record.
    pub record: StoredRecord,
}

/// The result of a conditional [`Store::save`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a save can lose a race; the outcome says whether it did"]
pub enum SaveOutcome {
    /// Written; the record now has this version.
    Saved(Version),
    /// Nothing written: the record is not in the expected state (another version is stored,
    /// or, for a create, a live record already has this id).
    Conflict,
    /// Nothing written: a version was expected but no live record has this id (it was
    /// deleted, rotated away or expired).
    Missing,
}

/// The result of [`Store::create_owned`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a create can be refused; the outcome says whether it was"]
pub enum CreateOutcome {
    /// Written; the record has this version.
    Created(Version),
    /// Nothing written: a live record already has this id.
    Taken,
    /// Nothing written: the owner already has as many live sessions as allowed, or more.
    Full,
}

impl CreateOutcome {
    /// What a create (`save` with no version expected) answered, as a create within a
    /// limit: `None` when the owner was full.
    pub(crate) fn of_create(saved: Option<SaveOutcome>) -> Self {
        match saved {
            Some(SaveOutcome::Saved(version)) => Self::Created(version),
            Some(SaveOutcome::Conflict | SaveOutcome::Missing) => Self::Taken,
            None => Self::Full,
        }
    }
}

/// A session store's failure. The underlying error is kept as the `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The filesystem failed.
    #[error("session store I/O failed")]
    Io(#[from] std::io::Error),
    /// Any other backend failure (network, database, a task that died).
    #[error("session store backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store keeps no index of sessions by owner ([`Store::owned`]).
    #[error("this session store keeps no index of sessions by owner")]
    NoOwnerIndex,
    /// The store cannot list its records ([`Store::scan`]).
    #[error("this session store cannot list its records")]
    NoScan,
    /// The store cannot keep an outbox in the same step as each change (a Redis Cluster:
    /// one stream cannot share every session's slot). Use a single Redis server or
    /// Sentinel, or PostgreSQL, for an audit trail; or the in-process events.
    #[error(
        "this session store cannot keep an outbox (on a Redis Cluster, use one server, Sentinel or PostgreSQL)"
    )]
    NoOutbox,
    /// A [`ScanCursor`] this store did not make (or made for another scan).
    #[error("the scan cursor {0:?} is not one of this store's")]
    InvalidCursor(String),
}

impl StoreError {
    /// Wraps a backend's own error.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend(error.into())
    }
}

/// Storage for session records, keyed by [`StorageKey`].
///
/// # Contract
/// Every method is atomic for its id. A record is *live* until its `expires_at` has passed;
/// an expired record behaves exactly like an absent one, whether or not it has been swept.
///
/// - [`load`](Store::load) returns the live record, or `None`.
/// - [`save`](Store::save) with `expected: None` creates: if a live record has the id it
///   writes nothing and returns [`SaveOutcome::Conflict`]. With `expected: Some(v)` it
///   replaces the live record only if its version is `v`; otherwise it returns
///   [`SaveOutcome::Conflict`], or [`SaveOutcome::Missing`] when no live record exists (a
///   save must never bring a deleted session back). A successful save returns a version that
///   differs from every earlier version of that id, and the whole record is replaced at once:
///   a reader sees the old record or the new one, never a mix.
/// - [`touch`](Store::touch) moves a live record's expiry, keeping its data and version;
///   `false` if there is no live record.
/// - [`delete`](Store::delete) removes the record; `true` if a live record was removed.
///
/// # Owners
/// A session may have an owner (a user id), given with every save, refresh and delete of
/// it. The owner of a key never changes (a session bound to another owner gets a new id),
/// and its key's first two bytes are the owner's shard, the same for all of an owner's
/// sessions. A store that keeps an index of sessions by owner
/// ([`owned`](Store::owned)) updates it in the same atomic step as the record: after a
/// save of a record with an owner returns, the record is found under its owner, and it
/// stops being found once it is deleted or expired. The index must not grow without bound:
/// expired entries leave it without the application doing anything.
///
/// Stores are not expected to validate keys: they only ever see keys of ids this crate
/// generated or whose signature it verified. And they never see the id a cookie holds: the
/// layer keeps each session under its id's [`StorageKey`], so that nothing a store holds or
/// logs opens a session.
///
/// # Sweeping
/// A store that keeps expired records until they are removed (memory, file, SQL) removes
/// them on its own every [sweep interval](MemoryStore::with_sweep_interval) (each store's
/// `with_sweep_interval`), and at once on [`sweep_expired`](Store::sweep_expired). One that
/// expires records itself (Redis) sweeps nothing.
pub trait Store: std::fmt::Debug + Send + Sync + 'static {
    /// The live record stored under `key`.
    fn load<'a>(
        &'a self,
        key: &'a StorageKey,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>>;

    /// Creates (`expected: None`) or replaces (`expected: Some(version)`) the record of
    /// `owner`'s session (`None`: a session without an owner).
    fn save<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>>;

    /// Replaces the live record under `key` if its version is still `expected`, as
    /// [`save`](Store::save) does; when it is not, answers the record stored now, read in
    /// the same step where the store can (Redis: the save's script returns it), so that a
    /// lost race costs no second round trip before the retry. The default saves, then
    /// loads after a lost race.
    fn replace<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<ReplaceOutcome, StoreError>> {
        Box::pin(replace::save_then_load(
            self, key, data, expires_at, expected, owner,
        ))
    }

    /// A [`replace`](Store::replace) whose new version is known before it is sent, or
    /// `None` (the default) where it is not, or where versions may repeat (a counter).
    ///
    /// A hot session's next save is then sent expecting that version before this one's
    /// answer (`guide::saving`). Only the version check keeps updates safe: a save behind
    /// one that lost expects a version that is never written, so it loses too, and both
    /// retry on the record that won. A save that overtakes the one it expects loses the
    /// same way, and is made again: a store whose connection keeps its commands in order
    /// (Redis's does) never makes it.
    fn replace_pipelined<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> Option<Pipelined<'a>> {
        let _ = (key, data, expires_at, expected, owner);
        None
    }

    /// Sets a live record's expiry.
    fn touch<'a>(
        &'a self,
        key: &'a StorageKey,
        expires_at: SystemTime,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Removes the record.
    fn delete<'a>(
        &'a self,
        key: &'a StorageKey,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// The kind of store, as metrics and traces label its calls: `memory`, `file`, `redis`,
    /// `postgres`, `sqlite`; the default `custom`. A short constant, never anything of a
    /// session.
    fn name(&self) -> &'static str {
        "custom"
    }

    /// The live records of `owner`'s sessions. The default keeps no index, and answers
    /// [`StoreError::NoOwnerIndex`]: sessions can then have owners, but not be listed or
    /// revoked by owner.
    fn owned<'a>(
        &'a self,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Vec<OwnedRecord>, StoreError>> {
        let _ = owner;
        Box::pin(std::future::ready(Err(StoreError::NoOwnerIndex)))
    }

    /// Creates the record of a new session of `owner`, as [`save`](Store::save) with
    /// `expected: None`, unless `owner` already has `max` live sessions or more: then it
    /// writes nothing and answers [`CreateOutcome::Full`]. What a layer with a
    /// [session limit](crate::SessionLayer::with_session_limit) runs on login.
    ///
    /// The count and the write are one atomic step against every other `create_owned` of
    /// the owner, so that logins in parallel, on any instance, never leave more than `max`.
    /// The default counts with [`owned`](Store::owned) and then saves: not atomic, so
    /// parallel logins can exceed `max` on a store that does not override it.
    fn create_owned<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        owner: &'a Owner,
        max: usize,
    ) -> BoxFuture<'a, Result<CreateOutcome, StoreError>> {
        Box::pin(async move {
            if self.owned(owner).await?.len() >= max {
                return Ok(CreateOutcome::Full);
            }
            let saved = self.save(key, data, expires_at, None, Some(owner)).await?;
            Ok(CreateOutcome::of_create(Some(saved)))
        })
    }

    /// Removes every live record of `owner`'s sessions but the one under `except`; returns
    /// how many it removed. What "log out everywhere" runs: a store that can should do it
    /// in one round trip (or one per batch), however many sessions the owner has. The
    /// default lists them ([`owned`](Store::owned)) and deletes them one by one.
    fn delete_owned<'a>(
        &'a self,
        owner: &'a Owner,
        except: Option<&'a StorageKey>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut removed = 0;
            for listed in self.owned(owner).await? {
                if Some(&listed.key) != except && self.delete(&listed.key, Some(owner)).await? {
                    removed += 1;
                }
            }
            Ok(removed)
        })
    }

    /// One page of the store's live records: at most about `limit` of them (a store may
    /// return fewer, or a few more), starting at `cursor` (`None`: the first page). What
    /// operators' tools use to count, copy or re-encrypt every record; requests never call
    /// it.
    ///
    /// A scan that runs while sessions change sees each record that stays live throughout
    /// at least once; records created or deleted meanwhile may or may not appear. The
    /// default cannot list, and answers [`StoreError::NoScan`].
    fn scan<'a>(
        &'a self,
        cursor: Option<&'a ScanCursor>,
        limit: usize,
    ) -> BoxFuture<'a, Result<ScanPage, StoreError>> {
        let _ = (cursor, limit);
        Box::pin(std::future::ready(Err(StoreError::NoScan)))
    }

    /// Removes every expired record now; returns how many. Expired records are never
    /// returned anyway: this only reclaims space. The default, for a store that expires
    /// records itself, removes none.
    fn sweep_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(std::future::ready(Ok(0)))
    }

    /// A channel among every instance sharing this store, over which a session ended on
    /// one reaches the live sessions of the others ([`crate::live`]). The default has
    /// none: a store that lives in one process (memory, a file on one machine) needs none.
    fn broadcast(&self) -> Option<std::sync::Arc<dyn crate::store::Broadcast>> {
        None
    }

    /// Where this store reports the sessions of owners it found expired and dropped from
    /// their owner's index (by its sweep, or as it read the index), each once: its layer
    /// tells them as `Expired` events ([`crate::events`]). The default reports none: the
    /// layer then tells `Expired` only for a session a live socket watched.
    fn expired_owned(&self) -> Option<&ExpiredOwned> {
        None
    }
}
