//! Pipelined saves of a hot session: the request that holds the session's turn sends its
//! replace, then lets go of the turn without waiting for the answer, leaving the next save
//! the version this one writes ([`Store::replace_pipelined`]). With N requests writing one
//! session, two saves are in flight instead of one per round trip: the one sent ahead, and
//! one that keeps the turn until its answer, so that saves arriving meanwhile queue and go
//! together (group commit) instead of one by one ([`MAX_AHEAD`]).
//!
//! Only the version check keeps updates: a save sent behind one that loses expects a version
//! that is never written, so it loses too, and each retries on the record that won (taking
//! the turn again). Saves of other requests gathered into a pipelined one wait for its
//! outcome even when they get the turn first ([`QueuedSave::gathered`]).
//!
//! [`Store::replace_pipelined`]: crate::store::Store::replace_pipelined
//! [`QueuedSave::gathered`]: crate::config::turns::QueuedSave

use super::commit::Save;
use super::turn::{TurnGuard, is_hot, last_save};
use crate::config::Config;
use crate::config::turns::Turns;
use crate::error::Error;
use crate::id::{Owner, SessionId, StorageKey};
use crate::observe::{ObservedStore, StoreCall};
use crate::store::{BoxFuture, ReplaceOutcome, Version};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::SystemTime;

/// Saves of a stripe sent ahead at most (letting go of the turn before their answer). More
/// measured no faster on Redis over loopback at 4 connections, and 10% slower at 32: each
/// save sent ahead is one fewer that saves queued ride on.
const MAX_AHEAD: usize = 1;

/// What a replace writes: the key, the stored bytes, the expiry, the version it expects, and
/// the session's owner.
pub(super) type Replace<'a> = (
    &'a StorageKey,
    &'a [u8],
    SystemTime,
    Version,
    Option<&'a Owner>,
);

/// Replaces `save`'s record (session `id`) as `replace` says; pipelined when this request
/// holds the session's turn (`held`), the session is hot, and the store pipelines replaces.
pub(super) fn replace<'a>(
    (config, store): (&'a Config, &'a ObservedStore),
    (key, bytes, expires_at, expected, owner): Replace<'a>,
    (id, save): (SessionId, &'a Save),
    held: Option<&'a mut Option<TurnGuard<'_>>>,
) -> Replacing<'a> {
    if let Some(turn) = held.filter(|_| is_hot(save))
        && let Some(sent) = store.replace_pipelined(key, bytes, expires_at, expected, owner)
    {
        // Boxed: only a hot session's saves on a store that pipelines, and inline it would
        // make every save's future larger.
        let pipelined = pipelined(sent, (id, save), (turn, config.turns(&id)));
        return Replacing::Pipelined(Box::pin(pipelined));
    }
    Replacing::Plain(store.replace(key, bytes, expires_at, expected, owner))
}

/// A replace under way: a plain store call, or a pipelined one (boxed). A future of its
/// own rather than an `async fn`, which would keep its arguments beside the call, in every
/// save's future.
pub(super) enum Replacing<'a> {
    Plain(StoreCall<'a, ReplaceOutcome>),
    Pipelined(BoxFuture<'a, Result<ReplaceOutcome, Error>>),
}

impl Future for Replacing<'_> {
    type Output = Result<ReplaceOutcome, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Self::Plain(call) => Pin::new(call).poll(cx).map_err(Error::from),
            Self::Pipelined(call) => call.as_mut().poll(cx),
        }
    }
}

/// A pipelined replace (`version`, `call`) while this request holds the session's turn
/// (`turn`). Where none of the stripe's saves is ahead (`ahead`), the turn is let go as soon
/// as the replace is sent, holding this save as the process's last (its version and
/// record, for the next save to build on).
async fn pipelined(
    (version, call): (Version, StoreCall<'_, ReplaceOutcome>),
    (id, save): (SessionId, &Save),
    (turn, turns): (&mut Option<TurnGuard<'_>>, &Turns),
) -> Result<ReplaceOutcome, Error> {
    let ahead = &turns.ahead;
    if ahead.load(Ordering::Acquire) >= MAX_AHEAD {
        // Enough are on their way: this one keeps the turn until its answer.
        return Ok(call.await?);
    }
    let mut call = std::pin::pin!(call);
    // Polled once: the replace is on its way (queued on the connection), or answered.
    let first = std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await;
    if let Poll::Ready(outcome) = first {
        return Ok(outcome?);
    }
    let Some(mut guard) = turn.take() else {
        return Ok(call.await?);
    };
    // With the record (the save is hot): the next builds on it without a load, which would
    // find the version before this one and be sure to lose.
    *guard = Some(last_save(save, id, version));
    ahead.fetch_add(1, Ordering::AcqRel);
    let _answered = Answered(ahead);
    drop(guard);
    Ok(call.await?)
}

/// Counts a save sent ahead off once it is answered, or its request cancelled.
struct Answered<'a>(&'a AtomicUsize);

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
