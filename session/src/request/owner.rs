//! The session's owner, and the owner's other sessions, from a request: binding on login,
//! listing, revoking.
//!
//! The owner feature lives where the layering puts each part: `id/owner.rs` (the `Owner`
//! type and its check), `builtin/owner.rs` (the owner, kept in the record),
//! `request/owner.rs` (binding, listing and revoking from a request) and `accounts/mod.rs`
//! (listing and revoking from anywhere).

use super::RequestSession;
use super::state::{Ending, Kind};
use crate::accounts::{self, ActiveSession};
use crate::builtin::owner::{self, Ownership};
use crate::error::Error;
use crate::id::{Fingerprint, Owner};
use crate::time::unix_us;
use std::time::SystemTime;

impl RequestSession {
    /// Binds the session to `owner`, with a new id unless it already was. A session bound
    /// to another owner ends first: `owner` starts afresh, with none of the other's data.
    pub(crate) fn bind_owner(&self, owner: &Owner) {
        let mut state = self.lock();
        let ownership = state.view::<Ownership>().fields();
        let bound = ownership.read(|ownership| ownership.owner.clone());
        match bound {
            Some(bound) if bound == owner.as_str() => return,
            Some(_) => state.end(Ending::Invalidated, SystemTime::now()),
            None => {}
        }
        let now_us = unix_us(SystemTime::now());
        ownership.write(0, |ownership| {
            ownership.owner = Some(owner.as_str().to_owned())
        });
        ownership.write(1, |ownership| ownership.bound_us = now_us);
        // A new id: against session fixation, and because a stored id's owner never
        // changes (its key is in its owner's shard).
        state.cycle_id();
        state.save_requested = true;
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
        let state = self.lock();
        let now = SystemTime::now();
        Some(ActiveSession {
            fingerprint: fingerprint?,
            created: state.base.created(),
            last_seen: now,
            expires: state.expires_at?,
            current: true,
        })
    }

    /// Revokes every session of the owner, this one with them.
    pub(crate) async fn log_out_everywhere(&self) -> Result<(), Error> {
        let Some(owner) = self.owner() else {
            return Ok(());
        };
        accounts::revoke_all_but(&self.config, &owner, None).await?;
        self.lock().end(Ending::Deleted, SystemTime::now());
        Ok(())
    }

    /// Revokes every session of the owner but this one.
    pub(crate) async fn log_out_others(&self) -> Result<(), Error> {
        let Some(owner) = self.owner() else {
            return Ok(());
        };
        // The record as stored: a login that binds and logs out the others in one request
        // keeps the session it is moving to a new id.
        let keep = self.lock().stored_fingerprint();
        let revoked_us = accounts::revoke_all_but(&self.config, &owner, keep).await?;
        // This session stays by being bound after the revocation: a cookie is then not
        // refused, and its move to a new id in flight keeps its new record.
        let mut state = self.lock();
        let ownership = state.view::<Ownership>().fields();
        ownership.write(1, |ownership| {
            ownership.bound_us = revoked_us.saturating_add(1)
        });
        state.save_requested = true;
        Ok(())
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

    /// A cookie session whose owner revoked it since it was bound is no session: the
    /// request goes on with a fresh one, and the cookie is expired.
    pub(super) async fn refuse_if_revoked(&self) -> Result<(), Error> {
        if self.config.revocations.is_none() {
            return Ok(());
        }
        let bound = {
            let state = self.lock();
            owner::owner_of(&state.base).map(|owner| (owner, owner::bound_us(&state.base)))
        };
        let Some((owner, bound_us)) = bound else {
            return Ok(());
        };
        if accounts::is_revoked(&self.config, &owner, bound_us).await? {
            tracing::debug!("cookie session was revoked by its owner; starting a fresh one");
            self.lock().end(Ending::Invalidated, SystemTime::now());
        }
        Ok(())
    }
}
