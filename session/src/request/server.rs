//! A session kept in a server-side store, committed (its load is `load.rs`):
//! worked out under the state lock
//! ([`State::plan`]), carried out without it, and folded back in ([`State::written`]).

use super::RequestSession;
use super::commit::{Action, Attempt, Followers, Plan, Replaced, Rotation, Save, Written};
use super::limit;
use super::pipeline;
use super::retired;
use super::rotation::{Retiring, begin_rotation, retire};
use super::state::{Current, Decision, Kind, State, Stored};
use super::turn::{self, Turn, TurnGuard, last_save};
use crate::builtin::owner::owner_of;
use crate::config::Config;
use crate::error::Error;
use crate::hub::EndReason;
use crate::id::{Owner, SessionId, StorageKey};
use crate::observe::{self, ObservedStore};
use crate::record::Record;
use crate::store::{ReplaceOutcome, SaveOutcome};
use crate::typed::Dirty;
use std::sync::PoisonError;
use std::time::SystemTime;

/// How long a save goes on retrying compare-and-swap races lost to other processes before
/// the request answers 503. A time, not a count: two processes writing one session without
/// pause make a retry lose about half the time, and 10 attempts then failed a few writes in
/// ten thousand (BENCHMARKS.md, hot sessions).
const CONTENTION_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

impl RequestSession {
    /// Deletes, touches or saves as planned, then records the outcome in the state. The plan
    /// is worked on in place, where the caller keeps it.
    pub(super) async fn carry_out(&self, plan: &mut Plan, now: SystemTime) -> Result<(), Error> {
        for doomed in &plan.doomed {
            let owner = doomed.owner.as_ref();
            if plan.store.delete(&doomed.key, owner).await? {
                crate::announce::ended(&self.config, &doomed.key, owner, EndReason::Deleted);
            }
        }
        match &mut plan.action {
            Action::None => {}
            Action::Touch(key, expires_at, owner) => {
                let expires_at = *expires_at;
                if plan.store.touch(key, expires_at, owner.as_ref()).await? {
                    let mut state = self.lock();
                    state.expires_at = Some(expires_at);
                    if let Kind::Server(server) = &mut state.kind {
                        server.refreshed = true;
                    }
                }
            }
            Action::Save(save) => {
                let written = self.write(&plan.store, save, &plan.dirty, now).await?;
                // The record that was written becomes the base, moved (not copied) out.
                if let Action::Save(save) = std::mem::replace(&mut plan.action, Action::None) {
                    self.lock()
                        .written(written, save.record, save.rebased, &plan.dirty);
                }
            }
        }
        // The store's sweep, or its index, may have dropped expired sessions meanwhile.
        crate::announce::expired_owned(&self.config);
        Ok(())
    }

    /// Saves `save.record`, retrying on lost races with this request's changes (`dirty`)
    /// rebased on the record as it now is; on success `save.record` is what was stored.
    ///
    /// Saves of one session in this process take turns, and the one that takes the turn
    /// makes the saves waiting for it too ([`super::turn`]). Each first catches up with
    /// the process's last save of it, so a lost race is against another process (or a save
    /// of this one that its stripe no longer remembers): retried at once, backing off only
    /// after several ([`super::contention`]), for at most [`CONTENTION_BUDGET`].
    async fn write(
        &self,
        store: &ObservedStore,
        save: &mut Save,
        dirty: &Dirty,
        now: SystemTime,
    ) -> Result<Written, Error> {
        let Some(current) = save.current else {
            return self.write_turn(store, save, dirty, now, None).await;
        };
        let mut turn = match self.take_turn(current, save, dirty).await? {
            Turn::Held(turn) => Some(turn),
            Turn::Done(written) => return Ok(written),
        };
        let result = self
            .write_turn(store, save, dirty, now, Some((current.id, &mut turn)))
            .await;
        // Before the turn is let go, if it is still held: the next holder finds its own
        // outcome set.
        turn::settle(save, &result);
        result
    }

    /// [`Self::write`] once this request holds the turn of session `id`, if the session
    /// exists: a rotation begun, the turn's last save caught up with and the saves queued
    /// for it gathered, then attempts until one is done or the contention budget is spent.
    async fn write_turn<'s>(
        &'s self,
        store: &ObservedStore,
        save: &mut Save,
        dirty: &Dirty,
        now: SystemTime,
        mut turn: Option<(SessionId, &mut Option<TurnGuard<'s>>)>,
    ) -> Result<Written, Error> {
        let encryption = self.config.encryption.as_deref();
        let replaced = match begin_rotation(store, encryption, save, dirty).await? {
            Rotation::None => None,
            Rotation::Replacing(replaced) => Some(replaced),
            Rotation::Gone => return Ok(Written::Gone),
        };
        if let Some((id, turn)) = &turn {
            if let Some(last) = turn.as_ref().and_then(|turn| turn.as_ref()) {
                self.catch_up(store, save, dirty, last).await?;
            }
            if !save.rotate {
                turn::gather(self.config.turns(id), *id, save);
            }
        }
        let deadline = std::time::Instant::now() + CONTENTION_BUDGET;
        let mut attempt = 0;
        loop {
            if let Some((id, turn)) = &mut turn
                && turn.is_none()
            {
                // A pipelined save let go of the turn once sent, and lost: the retry takes
                // it again (boxed: rare, and inline it would make every save's future larger).
                **turn = Some(Box::pin(self.config.turns(id).turn.lock()).await);
            }
            attempt += 1;
            let held = turn.as_mut().map(|(_, turn)| &mut **turn);
            let outcome = self
                .attempt(store, save, now, replaced.as_deref(), held)
                .await?;
            let lost = match outcome {
                Attempt::Done(written) => return Ok(written),
                _ if std::time::Instant::now() >= deadline => {
                    // No rebase follows: a record a loss brought back must not outlive it.
                    self.won
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .take();
                    observe::count(observe::names::CONTENTION_FAILURES, store.name());
                    return Err(Error::Contention { attempts: attempt });
                }
                Attempt::Collided => continue,
                Attempt::Retired(id) => {
                    // Boxed: rare, and inline it would make every save's future larger.
                    let encryption = self.config.encryption.as_deref();
                    let rebased = retired::rebase_on_successor(store, encryption, save, dirty, id);
                    if Box::pin(rebased).await? {
                        continue;
                    }
                    return Ok(Written::Gone);
                }
                Attempt::Lost { id, key } => (id, key),
            };
            if !self
                .rebase_after_loss(store, save, dirty, attempt, lost)
                .await?
            {
                return Ok(Written::Gone);
            }
        }
    }

    /// One compare-and-swap save of `save.record` (under a new id if it has none), and on
    /// success what follows it: the replaced id retired, the save remembered in the turn
    /// (`held`) if this request still holds it.
    async fn attempt(
        &self,
        store: &ObservedStore,
        save: &mut Save,
        now: SystemTime,
        replaced: Option<&Replaced>,
        mut held: Option<&mut Option<TurnGuard<'_>>>,
    ) -> Result<Attempt, Error> {
        let expires_at = self.config.expiry(&save.record, now);
        let owner = owner_of(&save.record);
        let (id, key) = save.current.map_or_else(
            || new_id(owner.as_ref()),
            |current| (current.id, current.key),
        );
        let expected = save.current.map(|current| current.version);
        let encryption = self.config.encryption.as_deref();
        let bytes = crate::encryption::stored_bytes(encryption, &id, &key, &save.record);
        let limit = self.config.session_limit;
        let outcome = match (new_session_of(save, replaced, owner.as_ref()), limit) {
            // Boxed: once per login, and inline it would make every save's future larger.
            (Some(owner), Some(limit)) => {
                Box::pin(limit::create(
                    &self.config,
                    store,
                    &key,
                    &bytes,
                    expires_at,
                    owner,
                    limit,
                ))
                .await?
            }
            _ => match expected {
                // A lost replace answers the record that won: the retry reads nothing.
                Some(expected) => {
                    let replace = (&key, &*bytes, expires_at, expected, owner.as_ref());
                    let on = (&*self.config, store);
                    let replaced = pipeline::replace(on, replace, (id, save), held.as_deref_mut());
                    // Awaited first: the receiver would otherwise be kept across the await.
                    let replaced = replaced.await?;
                    self.keeping_the_winner(replaced)
                }
                None => {
                    store
                        .save(&key, &bytes, expires_at, None, owner.as_ref())
                        .await?
                }
            },
        };
        let version = match outcome {
            SaveOutcome::Saved(version) => version,
            SaveOutcome::Missing if self.config.rotation_interval.is_some() => {
                return Ok(Attempt::Retired(id));
            }
            SaveOutcome::Missing => return Ok(Attempt::Done(Written::Gone)),
            SaveOutcome::Conflict if save.current.is_none() => return Ok(Attempt::Collided),
            SaveOutcome::Conflict => return Ok(Attempt::Lost { id, key }),
        };
        if let Some(replaced) = replaced {
            // The owner moves into the boxed future: not kept across it here.
            let check = crate::builtin::owner::revocation_check(&save.record);
            let retiring = save.grace.then(|| self.retiring(now, expires_at));
            let retire = retire(store, replaced, (id, key), owner, check, retiring);
            if !Box::pin(retire).await? {
                return Ok(Attempt::Done(Written::Gone));
            }
            observe::count(observe::names::ROTATIONS, store.name());
            self.announce_move(replaced, (id, key), &save.record);
        } else if save.current.is_none() {
            crate::announce::created(&self.config, &key, &save.record);
        }
        if let Some(Some(turn)) = held {
            **turn = Some(last_save(save, id, version));
        }
        Ok(Attempt::Done(Written::Saved {
            current: Current { id, key, version },
            expires_at,
        }))
    }

    /// `replaced` as a save's outcome; the record that won, when it lost, kept for the
    /// rebase.
    fn keeping_the_winner(&self, replaced: ReplaceOutcome) -> SaveOutcome {
        match replaced {
            ReplaceOutcome::Saved(version) => SaveOutcome::Saved(version),
            ReplaceOutcome::Missing => SaveOutcome::Missing,
            ReplaceOutcome::Lost(won) => {
                *self.won.lock().unwrap_or_else(PoisonError::into_inner) = Some(won);
                SaveOutcome::Conflict
            }
        }
    }

    /// The session `replaced` was moved to `id` (stored under `key`), with `record`: bound
    /// to its owner with it if it had none, or another.
    fn announce_move(
        &self,
        replaced: &Replaced,
        (id, key): (SessionId, StorageKey),
        record: &Record,
    ) {
        let owner = owner_of(record);
        let bound = owner.is_some() && owner != replaced.owner;
        let old = (&replaced.old.id, replaced.old.key);
        crate::announce::rotated(&self.config, old, (&id, key), owner.as_ref(), bound);
    }

    /// What a periodic rotation at `now` leaves under the old id, for a new record that
    /// expires at `expires_at`.
    fn retiring(&self, now: SystemTime, expires_at: SystemTime) -> Retiring {
        let grace_until = now + self.config.rotation_grace;
        Retiring {
            grace_until,
            kept_until: retired::kept_until(expires_at, grace_until),
        }
    }
}

/// A new id, and its storage key: in `owner`'s shard (one Redis Cluster slot for all of an
/// owner's sessions), else anywhere.
fn new_id(owner: Option<&Owner>) -> (SessionId, StorageKey) {
    let id = owner.map_or_else(SessionId::random, |owner| {
        SessionId::random_in(owner.shard())
    });
    (id, id.storage_key())
}

/// The owner of the session `save` creates, if it is a new session of theirs (a login),
/// not one of theirs moving to a new id: what a session limit counts.
fn new_session_of<'a>(
    save: &Save,
    replaced: Option<&Replaced>,
    owner: Option<&'a Owner>,
) -> Option<&'a Owner> {
    let moving = replaced.is_some_and(|replaced| replaced.owner.as_ref() == owner);
    owner.filter(|_| save.current.is_none() && !moving)
}

impl State {
    /// The part of a commit done under the lock: all of it for a cookie-stored session
    /// (sealing is computation); for a store, the plan, taking the deletions and changes it
    /// covers. `None`: nothing is left to do.
    pub(super) fn prepare(
        &mut self,
        config: &Config,
        now: SystemTime,
    ) -> Result<Option<Plan>, Error> {
        let decision = self.decide(config, now);
        let Kind::Server(server) = &mut self.kind else {
            return self.seal(decision, config, now).map(|()| None);
        };
        if server.doomed.is_empty() && decision == Decision::Nothing {
            return Ok(None);
        }
        let store = server.backend.store.clone();
        let doomed = std::mem::take(&mut server.doomed);
        let current = server.stored.live();
        let base = &self.base;
        let (action, dirty) = match (decision, current) {
            (Decision::Save, _) => {
                let (changes, dirty) = self.changes(config.save_mode)?;
                let save = Save {
                    current,
                    record: self.base.with(changes.iter()),
                    rotate: self.rotate,
                    grace: self.grace,
                    rebased: false,
                    followers: Followers::default(),
                };
                (Action::Save(save), dirty)
            }
            (Decision::Touch(renewed), Some(current)) => {
                let owner = owner_of(base);
                (Action::Touch(current.key, renewed, owner), Dirty::new())
            }
            _ => (Action::None, Dirty::new()),
        };
        Ok(Some(Plan {
            store,
            doomed,
            action,
            dirty,
        }))
    }

    /// The outcome of a save of `record`, `rebased` on another request's.
    fn written(&mut self, written: Written, record: Record, rebased: bool, dirty: &Dirty) {
        self.saved(dirty, rebased.then_some(&record));
        let Kind::Server(server) = &mut self.kind else {
            return;
        };
        match written {
            Written::Saved {
                current,
                expires_at,
            } => {
                server.stored = Stored::Live(current);
                server.refreshed = true;
                self.base = record;
                self.expires_at = Some(expires_at);
            }
            Written::Gone => {
                tracing::debug!(
                    "session was ended by another request; dropping this request's changes"
                );
                server.stored = Stored::Gone;
            }
        }
    }
}
