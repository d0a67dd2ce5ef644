//! Saves of one session in this process take turns ([`crate::config::turns::Turns`]). The turn
//! remembers the process's last save of the session: a save whose load is older rebases
//! on it before writing, instead of sending a save sure to lose ([`RequestSession::catch_up`]).
//!
//! And group commit: saves of one hot session that wait for its turn are made together by
//! the request that takes it, in one store write, instead of one write each.
//!
//! A save that finds the turn taken queues its changes (the views to ask, and their dirty
//! bits) and waits for the turn or its outcome. The request that takes the turn next
//! rebases every queued change of its session on its own record, saves once, and leaves
//! each waiting request the outcome. A waiting request whose changes were taken waits for
//! that outcome even if it gets the turn first (a pipelined save lets go of the turn once
//! sent, [`super::pipeline`]); told there is none (the request that took its save failed
//! or was cancelled), it makes its save itself, with whatever queued since.

use super::RequestSession;
use super::commit::{Save, Written, rebased};
use super::live::decode;
use super::state::Current;
use crate::config::turns::{Combined, LastSave, QueuedSave, Turns};
use crate::error::Error;
use crate::id::SessionId;
use crate::observe::ObservedStore;
use crate::store::Version;
use crate::typed::Dirty;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub(super) type TurnGuard<'a> = tokio::sync::MutexGuard<'a, Option<LastSave>>;

/// How waiting for a session's turn ended.
pub(super) enum Turn<'a> {
    /// This request holds the turn and makes its save.
    Held(TurnGuard<'a>),
    /// Another request made this one's save.
    Done(Written),
}

impl RequestSession {
    /// Takes the turn of `current`'s session for `save`. When another request holds it,
    /// queues `save`'s changes for that one to make and waits.
    pub(super) async fn take_turn(
        &self,
        current: Current,
        save: &mut Save,
        dirty: &Dirty,
    ) -> Result<Turn<'_>, Error> {
        let turns = self.config.turns(&current.id);
        // A rotation writes a new id: it cannot ride on a save of the old one.
        if save.rotate {
            return Ok(Turn::Held(turns.turn.lock().await));
        }
        if let Ok(turn) = turns.turn.try_lock() {
            return Ok(Turn::Held(turn));
        }
        // Boxed: only a hot session waits, and the wait inline would make every save's
        // future larger.
        Box::pin(self.wait_in_line(turns, current, save, dirty)).await
    }

    /// Queues `save`'s changes for the request that holds the turn of `current`'s session,
    /// and waits for the turn or the outcome of the save that made them.
    async fn wait_in_line<'a>(
        &'a self,
        turns: &'a Turns,
        current: Current,
        save: &mut Save,
        dirty: &Dirty,
    ) -> Result<Turn<'a>, Error> {
        let queued = Arc::new(QueuedSave {
            id: current.id,
            dirty: dirty.clone(),
            gathered: AtomicBool::new(false),
            outcome: Mutex::new(None),
            settled: tokio::sync::Notify::new(),
        });
        lock(&turns.queued).push(Arc::clone(&queued));
        let unqueue = Unqueue {
            turns,
            queued: &queued,
        };
        // Whichever comes first: the outcome of a save that made this one (without waiting
        // for the turn, so that the next request to save need not wait behind those that
        // are done), or the turn.
        let mut settled = std::pin::pin!(queued.settled.notified());
        let turn = {
            // In a block: a wait for the turn that lost to the outcome leaves the lock's
            // queue here, or the turn would be handed to it and never taken.
            let mut taken = std::pin::pin!(turns.turn.lock());
            std::future::poll_fn(|cx| {
                if settled.as_mut().poll(cx).is_ready() {
                    return std::task::Poll::Ready(None);
                }
                taken.as_mut().poll(cx).map(Some)
            })
            .await
        };
        drop(unqueue);
        let outcome = lock(&queued.outcome).take();
        let outcome = match (outcome, turn) {
            (Some(outcome), _) => outcome,
            (None, Some(turn)) if !queued.gathered.load(Ordering::Acquire) => {
                return Ok(Turn::Held(turn));
            }
            (None, Some(turn)) => {
                // In a save that let go of the turn once sent: its outcome is on its way.
                drop(turn);
                settled.as_mut().await;
                let outcome = lock(&queued.outcome).take();
                match outcome {
                    Some(outcome) => outcome,
                    None => return Ok(Turn::Held(turns.turn.lock().await)),
                }
            }
            // The save that took this one's changes failed or was cancelled: this request
            // makes its own.
            (None, None) => return Ok(Turn::Held(turns.turn.lock().await)),
        };
        tracing::debug!("session saved together with another request's save of it");
        Ok(Turn::Done(match outcome {
            Combined::Saved {
                version,
                expires_at,
                record,
            } => {
                let current = Current { version, ..current };
                save.record = record;
                save.rebased = true;
                save.current = Some(current);
                Written::Saved {
                    current,
                    expires_at,
                }
            }
            Combined::Gone => Written::Gone,
            Combined::Contention { attempts } => return Err(Error::Contention { attempts }),
        }))
    }

    /// Before a save of `save`'s session: if this process saved the session since this
    /// request loaded it (`last`), rebase on that save, from the record it kept or from a
    /// load, instead of sending a save that is sure to lose.
    pub(super) async fn catch_up(
        &self,
        store: &ObservedStore,
        save: &mut Save,
        dirty: &Dirty,
        last: &LastSave,
    ) -> Result<(), Error> {
        // A block, so that only the key is kept across the load: this future is part of
        // every save's.
        let (id, key) = {
            let Some(current) = save.current else {
                return Ok(());
            };
            if last.id != current.id || last.version == current.version {
                return Ok(());
            }
            tracing::debug!("session changed since it was loaded; rebasing this request's changes");
            if let Some(record) = &last.record {
                let at = Some(Current {
                    version: last.version,
                    ..current
                });
                return save.rebase_on(record, at, dirty);
            }
            (current.id, current.key)
        };
        let loaded = store.load(&key).await?;
        let encryption = self.config.encryption.as_deref();
        let decoded = loaded.and_then(|stored| decode(encryption, (&id, &key), stored));
        let Some((stored, version)) = decoded else {
            // Gone: the save below finds out and answers `Missing`.
            return Ok(());
        };
        let at = save.current.map(|current| Current { version, ..current });
        save.rebase_on(&stored, at, dirty)
    }
}

/// The largest record a turn lock keeps for the next save of a hot session.
const HOT_RECORD_MAX: usize = 16 * 1024;

/// What this process keeps of `save`, written as `id` at `version`: a hot session's
/// record, for the next save of it to build on without a read.
pub(super) fn last_save(save: &Save, id: SessionId, version: Version) -> LastSave {
    LastSave {
        id,
        version,
        record: is_hot(save).then(|| save.record.clone()),
    }
}

/// `save` was rebased on another save of its session (it is hot) and its record is small
/// enough to keep for the next.
pub(super) fn is_hot(save: &Save) -> bool {
    save.rebased && save.record.as_bytes().len() <= HOT_RECORD_MAX
}

/// Takes the saves of session `id` queued in `turns` into `save`, each rebased on the
/// record as `save` and those before it leave it. A queued save whose changes do not
/// encode is left out: it makes its own save, and meets its own error.
pub(super) fn gather(turns: &Turns, id: SessionId, save: &mut Save) {
    let queued: Vec<_> = {
        let mut queue = lock(&turns.queued);
        if queue.is_empty() {
            return;
        }
        queue.extract_if(.., |queued| queued.id == id).collect()
    };
    for queued in queued {
        if let Ok(record) = rebased(&save.record, &queued.dirty) {
            save.record = record;
            save.rebased = true;
            queued.gathered.store(true, Ordering::Release);
            save.followers.0.push(queued);
        }
    }
}

/// Leaves each save made together with `save` its outcome, `result`. On a store error they
/// are left none: each makes its own save.
pub(super) fn settle(save: &mut Save, result: &Result<Written, Error>) {
    for queued in std::mem::take(&mut save.followers.0) {
        let outcome = match result {
            Ok(Written::Saved {
                current,
                expires_at,
            }) => Combined::Saved {
                version: current.version,
                expires_at: *expires_at,
                record: save.record.clone(),
            },
            Ok(Written::Gone) => Combined::Gone,
            &Err(Error::Contention { attempts }) => Combined::Contention { attempts },
            Err(_) => {
                queued.settled.notify_one();
                continue;
            }
        };
        *lock(&queued.outcome) = Some(outcome);
        queued.settled.notify_one();
    }
}

/// Takes a waiting save out of the queue when its request stops waiting: it got the turn,
/// or it was cancelled (a cancelled request's save is not made after the fact).
struct Unqueue<'a> {
    turns: &'a Turns,
    queued: &'a Arc<QueuedSave>,
}

impl Drop for Unqueue<'_> {
    fn drop(&mut self) {
        lock(&self.turns.queued).retain(|queued| !Arc::ptr_eq(queued, self.queued));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
