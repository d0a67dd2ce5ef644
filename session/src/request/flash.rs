//! The session's flash message, from a request: set for the next request, taken once.
//!
//! The flash feature lives where the layering puts each part: `extract/flash.rs` (the
//! `Flash<M>` extractor), `builtin/flash.rs` (the message, kept in the record) and
//! `request/flash.rs` (setting and taking it, under the request's state lock).

use super::RequestSession;
use super::state::{Ending, Kind, Phase};
use crate::builtin::flash::{FlashSlot, Flashed};
use crate::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

impl RequestSession {
    /// Sets the message (postcard bytes) for the next request that takes it. After
    /// `delete()`, the message starts a fresh session of its own, as after `invalidate()`.
    pub(crate) fn set_flash(&self, message: Vec<u8>, type_tag: u64) {
        let mut state = self.lock();
        if state.phase == Phase::Ended(Ending::Deleted) {
            state.phase = Phase::Ended(Ending::Invalidated);
        }
        let slot = state.view::<FlashSlot>().fields();
        let nonce = crate::crypto::random::u64();
        let flashed = Flashed {
            nonce,
            type_tag,
            message,
        };
        slot.write(0, |slot| slot.flashed = Some(flashed));
        // Saved whatever the save mode: a message set is a message to deliver.
        state.save_requested = true;
    }

    /// The message waiting, if any, without taking it.
    pub(crate) fn peek_flash(&self) -> Option<Flashed> {
        let mut state = self.lock();
        let slot = state.view::<FlashSlot>().fields();
        slot.read(|slot| slot.flashed.clone())
    }

    /// Takes `flashed` (as [`peek_flash`](Self::peek_flash) gave it): `true` if this
    /// request took it, `false` if another request did first. In a store, the take is
    /// written at once (as by `persist()`), so that two requests cannot both take it.
    pub(crate) async fn take_flash(&self, flashed: &Flashed) -> Result<bool, Error> {
        let taken = Arc::new(AtomicBool::new(false));
        let server = {
            let mut state = self.lock();
            let slot = state.view::<FlashSlot>().fields();
            let nonce = flashed.nonce;
            let ours = Arc::clone(&taken);
            // Run again on the stored slot if another request saved meanwhile: only the
            // request that still finds this message there takes it.
            slot.update(0, move |slot| {
                let found = slot.flashed.as_ref().is_some_and(|f| f.nonce == nonce);
                if found {
                    slot.flashed = None;
                }
                ours.store(found, Ordering::Relaxed);
            });
            state.save_requested = true;
            matches!(state.kind, Kind::Server(_))
        };
        if server {
            self.commit(SystemTime::now()).await?;
        }
        Ok(taken.load(Ordering::Relaxed))
    }
}
