//! A request made up around a session, and a look at what its handler did: what
//! [`crate::test`] (feature `test-util`) builds on.

use super::RequestSession;
use super::arrival;
use super::state::{Decision, Phase};
use crate::backend::KeyedBackend;
use crate::config::Config;
use crate::record::Record;
use crate::transport::Via;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

impl RequestSession {
    /// A request whose session is already loaded: `record` is a live stored session (with a
    /// made-up id), or `None` for a new visitor. For [`crate::test`].
    #[cfg(feature = "test-util")]
    pub(crate) fn loaded(config: Arc<Config>, record: Option<Record>) -> Self {
        let now = SystemTime::now();
        let session = Self::new(config);
        let _ = session.loaded.set(());
        session.asked.store(true, Ordering::Relaxed);
        let Some(record) = record else {
            session.arrive(arrival::Arrival::none(Via::Cookie), now);
            return session;
        };
        let id = crate::id::SessionId::random();
        let token = match &session.config.backend {
            KeyedBackend::Server(_) => arrival::Token::Server {
                id,
                key: id.storage_key(),
            },
            KeyedBackend::Cookie(_) => arrival::Token::Cookie { id: Some(id) },
        };
        let live = arrival::Live {
            expires_at: session.config.expiry(&record, now),
            record,
            version: Some(crate::store::Version::new(1)),
        };
        let arrival = arrival::Arrival {
            live: Some(live),
            token,
            ..arrival::Arrival::none(Via::Cookie)
        };
        session.arrive(arrival, now);
        session
    }

    /// What the handler has done to the session so far. For [`crate::test`].
    #[cfg(feature = "test-util")]
    pub(crate) fn inspect(&self) -> Inspection {
        let state = self.lock();
        let mut changed = Vec::new();
        for view in state.views() {
            let dirty = view.dirty();
            let keys = view.keys().iter().enumerate();
            changed.extend(
                keys.filter(|(bit, _)| dirty & (1 << bit) != 0)
                    .map(|(_, key)| *key),
            );
        }
        Inspection {
            changed,
            decision: state.decide(&self.config, SystemTime::now()),
            save_requested: state.save_requested,
            rotate: state.rotate,
            phase: state.phase,
        }
    }
}

/// A snapshot of a request's session, for [`crate::test`].
#[cfg(feature = "test-util")]
pub(crate) struct Inspection {
    /// Storage keys (`namespace.field`) of the fields changed and not saved yet.
    pub(crate) changed: Vec<&'static str>,
    pub(crate) decision: Decision,
    pub(crate) save_requested: bool,
    pub(crate) rotate: bool,
    pub(crate) phase: Phase,
}
