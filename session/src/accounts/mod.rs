//! An owner's sessions: listed, and revoked one at a time, all at once ("log out
//! everywhere"), or all but the current one ("log out other devices"). From a handler
//! through [`Session`](struct@crate::Session), or from anywhere else (an admin route, a
//! background job) through [`Accounts`].
//!
//! A server store lists an owner's sessions from its index ([`Store::owned`]) and revokes
//! one by deleting its record: a request of that session still in flight then loses its
//! compare-and-swap and saves nothing. Cookie sessions have no server-side record; they are
//! revoked by a time per owner kept in a revocation store: a cookie bound to its owner
//! before that time is refused ([`revocations`]).
//!
//! The owner feature lives where the layering puts each part: `id/owner.rs` (the `Owner`
//! type and its check), `builtin/owner.rs` (the owner, kept in the record),
//! `request/owner.rs` (binding, listing and revoking from a request), `extract/owner.rs`
//! (the same on the extractor) and `accounts/mod.rs`
//! (listing and revoking from anywhere).

pub(crate) mod revocations;

pub(crate) use revocations::{bump, is_revoked};

use revocations::epoch;

use crate::backend::KeyedBackend;
use crate::builtin::label::label_of;
use crate::builtin::owner::{bound, owner_of};
use crate::config::Config;
use crate::error::Error;
use crate::hub::EndReason;
use crate::id::Fingerprint;
use crate::id::Owner;
use crate::id::StorageKey;
use crate::observe::ObservedStore;
use crate::record::Record;
use crate::store::{OwnedRecord, StoreError};
use std::sync::Arc;
use std::time::SystemTime;

/// Lists and revokes the sessions of any owner, outside a request: from an admin route or a
/// background job. Made by [`SessionLayer::accounts`](crate::SessionLayer::accounts), for
/// the layer's store.
///
/// ```
/// use typed_sessions::{Key, MemoryStore, Owner, SessionLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = SessionLayer::new(MemoryStore::new(), &Key::generate());
/// let accounts = layer.accounts();
/// // A ban: every session of user 42 ends now, on every instance sharing the store.
/// let user = Owner::new("42")?;
/// accounts.revoke_all(&user).await?;
/// assert!(accounts.sessions(&user).await?.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Accounts {
    config: Arc<Config>,
}

/// One of an owner's live sessions, as [`Accounts::sessions`] and
/// [`Session::sessions`](crate::Session::sessions) list it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActiveSession {
    /// Names the session without being a credential: show it, and revoke by it.
    pub fingerprint: Fingerprint,
    /// When the session began.
    pub created: SystemTime,
    /// When it was last used, to within the layer's refresh interval: a read renews the
    /// session's expiry at most once per interval, and this is worked out from that expiry.
    pub last_seen: SystemTime,
    /// When it expires unless it is used again.
    pub expires: SystemTime,
    /// It is the session of the request that asked.
    pub current: bool,
    /// What the application called the session
    /// ([`Session::set_device_label`](crate::Session::set_device_label)), such as a summary
    /// of the browser's user agent.
    pub label: Option<String>,
}

impl Accounts {
    pub(crate) fn new(config: Arc<Config>) -> Self {
        Self { config }
    }

    /// `owner`'s live sessions, oldest first.
    ///
    /// # Errors
    /// When the store fails, or keeps no index by owner ([`StoreError::NoOwnerIndex`]: the
    /// cookie stores, whose sessions the server does not keep, and third-party stores that
    /// do not implement [`Store::owned`](crate::Store::owned)).
    pub async fn sessions(&self, owner: &Owner) -> Result<Vec<ActiveSession>, Error> {
        sessions(&self.config, owner, None).await
    }

    /// Revokes `owner`'s session with this fingerprint; `false` if `owner` has no such live
    /// session. A fingerprint of another owner's session revokes nothing.
    ///
    /// # Errors
    /// As [`sessions`](Self::sessions).
    pub async fn revoke(&self, owner: &Owner, fingerprint: Fingerprint) -> Result<bool, Error> {
        revoke(&self.config, owner, fingerprint).await
    }

    /// Revokes every session of `owner` ("log out everywhere"). Once this returns, no
    /// request of those sessions gets their data, on any instance sharing the store.
    ///
    /// Returns how many sessions ended: `None` where the store cannot count them (cookie
    /// sessions, which the server does not keep, and a store without an owner index); they
    /// are refused all the same.
    ///
    /// # Errors
    /// When the store (or, for cookie sessions, the revocation store) fails, or cookie
    /// sessions have no revocation store
    /// ([`SessionLayer::with_revocation_store`](crate::SessionLayer::with_revocation_store)).
    pub async fn revoke_all(&self, owner: &Owner) -> Result<Option<u64>, Error> {
        let revoked = revoke_all_but(&self.config, owner, None).await?;
        Ok(revoked.ended)
    }
}

/// `owner`'s live sessions, oldest first, with `current` marked.
pub(crate) async fn sessions(
    config: &Config,
    owner: &Owner,
    current: Option<Fingerprint>,
) -> Result<Vec<ActiveSession>, Error> {
    let now = SystemTime::now();
    let mut listed: Vec<ActiveSession> = owned(config, owner)
        .await?
        .iter()
        .map(|listed| {
            let (record, expires) = (&listed.record, listed.expires_at);
            let fingerprint = Fingerprint::of_storage_key(&listed.key);
            // The expiry is the last use plus the idle timeout (the session's own when it
            // is remembered), unless the absolute lifetime came first.
            let idle = config.remembered(record).unwrap_or(config.idle_timeout);
            let last_seen = expires
                .checked_sub(idle)
                .unwrap_or(record.created())
                .clamp(record.created(), now.max(record.created()));
            let is_current = current == Some(fingerprint);
            ActiveSession {
                fingerprint,
                created: record.created(),
                // This request is using it now.
                last_seen: if is_current { now } else { last_seen },
                expires,
                current: is_current,
                label: label_of(record),
            }
        })
        .collect();
    listed.sort_by_key(|session| session.created);
    Ok(listed)
}

/// Revokes `owner`'s session with `fingerprint`, if it has one.
pub(crate) async fn revoke(
    config: &Config,
    owner: &Owner,
    fingerprint: Fingerprint,
) -> Result<bool, Error> {
    let store = server_store(config)?;
    for listed in owned(config, owner).await? {
        if Fingerprint::of_storage_key(&listed.key) == fingerprint {
            let deleted = store.delete(&listed.key, Some(owner)).await?;
            if deleted {
                crate::announce::ended(config, &listed.key, Some(owner), EndReason::Revoked);
            }
            return Ok(deleted);
        }
    }
    Ok(false)
}

/// What revoking an owner's sessions did.
pub(crate) struct Revoked {
    /// The owner's new revocation epoch, which a kept session must be stamped with to stay.
    pub(crate) epoch: u64,
    /// How many records were deleted; `None` where the store cannot tell (cookie sessions,
    /// a store without an owner index).
    pub(crate) ended: Option<u64>,
}

/// Revokes every session of `owner` but the one stored under `keep`.
///
/// The epoch is raised first, then the owner's sessions are deleted, in one round trip where
/// the store can ([`Store::delete_owned`](crate::Store::delete_owned)). A session moving to
/// a new id meanwhile, whose new record the deletion may miss, finds the epoch once it has
/// written that record and deletes it ([`crate::request`]'s rotation); and any record
/// stamped before the epoch that turns up later (a restored backup) is refused when loaded.
pub(crate) async fn revoke_all_but(
    config: &Config,
    owner: &Owner,
    keep: Option<&StorageKey>,
) -> Result<Revoked, Error> {
    // The sessions the revocation ends, for their events: listed only for an event sink,
    // and before the epoch is raised (which leaves every one of them out of a listing).
    let listed = match (&config.events, &config.backend) {
        (Some(_), KeyedBackend::Server(_)) => listed_keys(config, owner, keep).await,
        _ => Vec::new(),
    };
    let epoch = bump(config, owner).await?;
    let KeyedBackend::Server(backend) = &config.backend else {
        crate::announce::owner_revoked(config, owner, keep, &[]);
        return Ok(Revoked { epoch, ended: None });
    };
    let revoked = match backend.store.delete_owned(owner, keep).await {
        Ok(ended) => Revoked {
            epoch,
            ended: Some(ended),
        },
        // Without an index the records stay until they expire, refused by the epoch.
        Err(StoreError::NoOwnerIndex) => Revoked { epoch, ended: None },
        Err(error) => return Err(error.into()),
    };
    crate::announce::owner_revoked(config, owner, keep, &listed);
    crate::announce::expired_owned(config);
    Ok(revoked)
}

/// The keys of `owner`'s live sessions but `keep`; none when they cannot be listed.
async fn listed_keys(config: &Config, owner: &Owner, keep: Option<&StorageKey>) -> Vec<StorageKey> {
    match owned(config, owner).await {
        Ok(listed) => listed
            .into_iter()
            .map(|listed| listed.key)
            .filter(|key| Some(key) != keep)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Ends `owner`'s session that began first, if they have one: a record the listing would
/// leave out (corrupt, revoked, of another owner) goes before any.
pub(crate) async fn end_oldest(config: &Config, owner: &Owner) -> Result<(), Error> {
    let store = server_store(config)?;
    let revoked = epoch(store, owner).await?;
    let began = |listed: &OwnedRecord| {
        let record = directory(config, listed)?;
        is_owners(&record, owner, revoked).then(|| record.created())
    };
    let oldest = store
        .owned(owner)
        .await?
        .into_iter()
        .min_by_key(|listed| began(listed).unwrap_or(SystemTime::UNIX_EPOCH));
    if let Some(oldest) = oldest
        && store.delete(&oldest.key, Some(owner)).await?
    {
        crate::announce::ended(config, &oldest.key, Some(owner), EndReason::Revoked);
    }
    Ok(())
}

fn server_store(config: &Config) -> Result<&ObservedStore, Error> {
    match &config.backend {
        KeyedBackend::Server(backend) => Ok(&backend.store),
        KeyedBackend::Cookie(_) => Err(StoreError::NoOwnerIndex.into()),
    }
}

/// One of an owner's sessions, decoded.
struct Listed {
    key: StorageKey,
    expires_at: SystemTime,
    record: Record,
}

/// Whether `record` is a session of `owner` that their epoch `revoked` has not revoked: what
/// the index names may be another owner's (an index that lags, a hash that collides), or a
/// record the revocation did not delete (a restored backup, a store without an index).
fn is_owners(record: &Record, owner: &Owner, revoked: u64) -> bool {
    owner_of(record).as_ref() == Some(owner) && bound(record) >= revoked
}

/// `owner`'s live sessions in the store, decoded: corrupt records, records of another
/// owner (an index that lags, or a hash that collides), records revoked but not deleted
/// (a restored backup, a store without an index) and sessions past their absolute
/// lifetime are left out.
async fn owned(config: &Config, owner: &Owner) -> Result<Vec<Listed>, Error> {
    let now = SystemTime::now();
    let store = server_store(config)?;
    let owned = store.owned(owner).await?;
    // Reading the index may have dropped expired sessions of the owner.
    crate::announce::expired_owned(config);
    let revoked = epoch(store, owner).await?;
    Ok(owned
        .into_iter()
        .filter_map(|listed| {
            let record = directory(config, &listed)?;
            (is_owners(&record, owner, revoked) && !config.past_lifetime(&record, now)).then_some(
                Listed {
                    key: listed.key,
                    expires_at: listed.record.expires_at,
                    record,
                },
            )
        })
        .collect())
}

/// What listing reads of `listed`'s record: its directory when it is sealed at rest
/// ([`crate::encryption`]), else the record.
fn directory(config: &Config, listed: &OwnedRecord) -> Option<Record> {
    let encryption = config.encryption.as_deref();
    let bytes = crate::encryption::directory_bytes(encryption, &listed.key, &listed.record.data)?;
    Record::decode_vec(bytes.into_owned()).ok()
}
