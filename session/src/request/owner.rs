//! The session's owner, and the owner's other sessions, from a request: binding on login,
//! listing, revoking.
//!
//! The owner feature lives where the layering puts each part: `id/owner.rs` (the `Owner`
//! type and its check), `builtin/owner.rs` (the owner, kept in the record),
//! `request/owner.rs` (binding, listing and revoking from a request), `extract/owner.rs`
//! (the same on the extractor) and `accounts/mod.rs`
//! (listing and revoking from anywhere). Recording when the user last authenticated is
//! here too: `builtin/owner.rs` keeps it, `extract/fresh.rs` asks it.

use super::RequestSession;
use super::state::{Ending, Kind};
use crate::accounts::{self, ActiveSession, revocations};
use crate::builtin::label::{self, DeviceLabel};
use crate::builtin::owner::{self, Ownership};
use crate::error::Error;
use crate::id::{Fingerprint, Owner, StorageKey};
use crate::time::unix_us;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

impl RequestSession {
    /// Binds the session to `owner`, with a new id unless it already was. A session bound
    /// to another owner ends first: `owner` starts afresh, with none of the other's data.
    /// Either way the user has just authenticated.
    pub(crate) fn bind_owner(&self, owner: &Owner) {
        let mut state = self.lock();
        let ownership = state.view::<Ownership>().fields();
        let bound = ownership.read(|ownership| ownership.owner.clone());
        let now_us = unix_us(SystemTime::now());
        match bound {
            Some(bound) if bound == owner.as_str() => {
                ownership.write(2, |ownership| ownership.authenticated_us = now_us);
                state.save_requested = true;
                return;
            }
            Some(_) => state.end(Ending::Invalidated, SystemTime::now()),
            None => {}
        }
        ownership.write(0, |ownership| {
            ownership.owner = Some(owner.as_str().to_owned())
        });
        // Stamped with the owner's revocation epoch before it is written; 0 until then,
        // which any revocation has passed.
        ownership.write(1, |ownership| ownership.bound = 0);
        ownership.write(2, |ownership| ownership.authenticated_us = now_us);
        // Where there are epochs, the session keeps where its owner's is: a request then
        // finds it without hashing the owner.
        let revocable = revocations::location(&self.config).is_some();
        if revocable {
            let key = *StorageKey::of_revocation(owner).as_bytes();
            ownership.write(3, |ownership| ownership.revocation_key = Some(key));
        }
        self.stamp_pending.store(revocable, Ordering::Relaxed);
        state.save_requested = true;
        // A new id: against session fixation, and because a stored id's owner never
        // changes (its key is in its owner's shard).
        self.cycle(&mut state);
    }

    /// Stamps a session bound in this request with its owner's revocation epoch, read now:
    /// before its record is first written, so that a revocation after this read ends it.
    pub(super) async fn stamp_bound(&self) -> Result<(), Error> {
        if !self.stamp_pending.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        // Kept by `bind_owner` beside the owner, whenever a stamp is pending.
        let key = {
            let mut state = self.lock();
            let ownership = state.view::<Ownership>().fields();
            ownership.read(|ownership| ownership.revocation_key)
        };
        let Some(key) = key.map(StorageKey::from_bytes) else {
            return Ok(());
        };
        let epoch = match revocations::current(&self.config, &key).await {
            Ok(epoch) => epoch,
            Err(error) => {
                // Tried again by a later commit (a `persist()` then the response's).
                self.stamp_pending.store(true, Ordering::Relaxed);
                return Err(error);
            }
        };
        let mut state = self.lock();
        let ownership = state.view::<Ownership>().fields();
        ownership.write(1, |ownership| ownership.bound = epoch);
        Ok(())
    }

    /// The user has just proved who they are again (a password, a second factor).
    pub(crate) fn reauthenticated(&self) {
        let mut state = self.lock();
        let ownership = state.view::<Ownership>().fields();
        if ownership.read(|ownership| ownership.owner.is_none()) {
            return;
        }
        let now_us = unix_us(SystemTime::now());
        ownership.write(2, |ownership| ownership.authenticated_us = now_us);
        state.save_requested = true;
    }

    /// When the session's user last authenticated: bound it to its owner, or
    /// [`reauthenticated`](Self::reauthenticated). `None` without an owner.
    pub(crate) fn authenticated_at(&self) -> Option<SystemTime> {
        let mut state = self.lock();
        let ownership = state.view::<Ownership>().fields();
        let (owner, at_us) =
            ownership.read(|ownership| (ownership.owner.is_some(), ownership.authenticated_us));
        owner.then(|| crate::time::from_unix_us(at_us))
    }

    pub(crate) fn owner(&self) -> Option<Owner> {
        let mut state = self.lock();
        let ownership = state.view::<Ownership>().fields();
        ownership
            .read(|ownership| ownership.owner.clone())
            .and_then(|owner| Owner::new(owner).ok())
    }

    /// The owner's live sessions, this one marked; none without an owner. A cookie store
    /// keeps no list: its answer is this session alone.
    pub(crate) async fn sessions(&self) -> Result<Vec<ActiveSession>, Error> {
        let Some(owner) = self.owner() else {
            return Ok(Vec::new());
        };
        let current = self.fingerprint();
        if matches!(self.lock().kind, Kind::Cookie(_)) {
            return Ok(self.this_session(current).into_iter().collect());
        }
        accounts::sessions(&self.config, &owner, current).await
    }

    /// This session as a listing shows it.
    fn this_session(&self, fingerprint: Option<Fingerprint>) -> Option<ActiveSession> {
        let now = SystemTime::now();
        let label = self.device_label();
        let state = self.lock();
        Some(ActiveSession {
            fingerprint: fingerprint?,
            created: state.base.created(),
            last_seen: now,
            expires: state.expires_at?,
            current: true,
            label,
        })
    }

    /// Names the session in its owner's list of devices; saved with the session.
    pub(crate) fn set_device_label(&self, label: &str) {
        let label = label::clean(label);
        let mut state = self.lock();
        let fields = state.view::<DeviceLabel>().fields();
        if fields.read(|kept| kept.label.as_deref() != Some(label.as_str())) {
            fields.write(0, |kept| kept.label = Some(label));
            state.save_requested = true;
        }
    }

    pub(crate) fn device_label(&self) -> Option<String> {
        let mut state = self.lock();
        let fields = state.view::<DeviceLabel>().fields();
        fields.read(|kept| kept.label.clone())
    }

    /// Revokes every session of the owner, this one with them.
    pub(crate) async fn log_out_everywhere(&self) -> Result<Option<u64>, Error> {
        let Some(owner) = self.owner() else {
            return Ok(Some(0));
        };
        let revoked = accounts::revoke_all_but(&self.config, &owner, None).await?;
        self.lock().end(Ending::Deleted, SystemTime::now());
        Ok(revoked.ended)
    }

    /// Revokes every session of the owner but this one.
    pub(crate) async fn log_out_others(&self) -> Result<Option<u64>, Error> {
        Ok(self.revoke_others().await?.map_or(Some(0), |ended| ended))
    }

    /// Revokes every session of the owner but this one, which goes on under a new id:
    /// after a change of password, whoever had a copy of its id has nothing.
    pub(crate) async fn credentials_changed(&self) -> Result<Option<u64>, Error> {
        let Some(ended) = self.revoke_others().await? else {
            return Ok(Some(0));
        };
        self.cycle(&mut self.lock());
        Ok(ended)
    }

    /// Revokes every session of the owner but this one; how many ended (`None`: the store
    /// cannot count them), or `None` without an owner.
    async fn revoke_others(&self) -> Result<Option<Option<u64>>, Error> {
        let Some(owner) = self.owner() else {
            return Ok(None);
        };
        // The record as stored: a login that binds and logs out the others in one request
        // keeps the session it is moving to a new id.
        let keep = self.lock().stored_key();
        let revoked = accounts::revoke_all_but(&self.config, &owner, keep.as_ref()).await?;
        let epoch = revoked.epoch;
        // This session stays by being stamped with the new epoch: a cookie is then not
        // refused, and its move to a new id in flight keeps its new record.
        self.stamp_pending.store(false, Ordering::Relaxed);
        let mut state = self.lock();
        let ownership = state.view::<Ownership>().fields();
        ownership.write(1, |ownership| ownership.bound = epoch);
        state.save_requested = true;
        Ok(Some(revoked.ended))
    }

    /// Revokes the owner's session with `fingerprint`: this one ends like on `delete()`.
    pub(crate) async fn revoke(&self, fingerprint: Fingerprint) -> Result<bool, Error> {
        let Some(owner) = self.owner() else {
            return Ok(false);
        };
        if self.fingerprint() == Some(fingerprint) {
            self.delete();
            return Ok(true);
        }
        accounts::revoke(&self.config, &owner, fingerprint).await
    }

    /// A session whose owner revoked it since it was bound is no session: the request goes
    /// on with a fresh one, and the cookie is expired (a stored record is deleted).
    pub(super) async fn refuse_if_revoked(&self) -> Result<(), Error> {
        let check = owner::revocation_check(&self.lock().base);
        let Some((key, bound)) = check else {
            return Ok(());
        };
        if accounts::is_revoked(&self.config, &key, bound).await? {
            tracing::debug!("session was revoked by its owner; starting a fresh one");
            self.lock().end(Ending::Invalidated, SystemTime::now());
        }
        Ok(())
    }
}
