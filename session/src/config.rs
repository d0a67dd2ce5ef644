//! Layer settings: cookie attributes, expiry, save mode.

use crate::backend::{Backend, BackendKind};
use crate::cookie::CookieConfig;
use crate::error::Statuses;
use crate::record::Record;
use crate::store::Version;
use crate::{Key, SessionId};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// When a request's session is written back to the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaveMode {
    /// Save when a field was set or updated (or on `save()`). The default.
    #[default]
    Changed,
    /// Save only when the handler called `save()` (Beaker's default); changes made without
    /// it are dropped at the end of the request.
    Explicit,
    /// Save every existing session the request extracted, changed or not (Beaker's `auto`).
    /// A new visitor's session is still only created once a field changes.
    Auto,
}

/// The last save of a session that this process made.
#[derive(Debug)]
pub(crate) struct LastSave {
    pub(crate) id: SessionId,
    pub(crate) version: Version,
    /// The record written, kept while the session is hot (that save had lost a race) and
    /// small: the next save of it then needs no load.
    pub(crate) record: Option<Record>,
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) kind: BackendKind,
    /// Current key first, then previous keys still accepted.
    pub(crate) keys: Vec<Key>,
    /// `kind` with `keys` derived.
    pub(crate) backend: Backend,
    pub(crate) cookie: CookieConfig,
    /// The longest `Set-Cookie` value a cookie store may send.
    pub(crate) cookie_size_limit: usize,
    pub(crate) statuses: Statuses,
    /// Saves of one session within this process take turns (see [`Config::save_lock`]).
    save_locks: Arc<[tokio::sync::Mutex<Option<LastSave>>]>,
    pub(crate) save_mode: SaveMode,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_lifetime: Option<Duration>,
    /// `None`: a quarter of the idle timeout, at most a minute.
    pub(crate) refresh_interval: Option<Duration>,
}

impl Config {
    pub(crate) fn new(kind: BackendKind, key: &Key) -> Self {
        let keys = vec![key.clone()];
        Self {
            backend: Backend::new(&kind, &keys),
            kind,
            keys,
            cookie_size_limit: 4096,
            statuses: Statuses::default(),
            save_locks: (0..1024).map(|_| tokio::sync::Mutex::new(None)).collect(),
            cookie: CookieConfig::default(),
            save_mode: SaveMode::Changed,
            idle_timeout: Duration::from_secs(30 * 60),
            max_lifetime: None,
            refresh_interval: None,
        }
    }

    /// When a record saved or touched `now` expires: after the idle timeout, but never past
    /// the absolute lifetime counted from `created`.
    pub(crate) fn expiry(&self, created: SystemTime, now: SystemTime) -> SystemTime {
        let idle = now + self.idle_timeout;
        match self.max_lifetime {
            Some(lifetime) => idle.min(created + lifetime),
            None => idle,
        }
    }

    pub(crate) fn past_lifetime(&self, created: SystemTime, now: SystemTime) -> bool {
        self.max_lifetime
            .is_some_and(|lifetime| created + lifetime <= now)
    }

    /// The lock a save of `id` holds. Without it, two requests of one session that write
    /// back to back in this process can keep winning each other's compare-and-swap window,
    /// so that one never gets through; with it, only other processes race, and they back
    /// off. 1024 stripes: with 64, unrelated sessions shared a lock under load and waited on
    /// each other's store round trips (BENCHMARKS.md).
    ///
    /// The lock holds the last save this process made of a session in its stripe, so that a
    /// save whose load is older starts from it instead of losing a race it cannot win.
    pub(crate) fn save_lock(&self, id: &SessionId) -> &tokio::sync::Mutex<Option<LastSave>> {
        let [a, b, ..] = *id.as_bytes();
        &self.save_locks[usize::from(u16::from_le_bytes([a, b])) % self.save_locks.len()]
    }

    pub(crate) fn refresh_interval(&self) -> Duration {
        self.refresh_interval
            .unwrap_or_else(|| (self.idle_timeout / 4).min(Duration::from_secs(60)))
    }

    /// Sets the keys: `current` signs and seals, `previous` are still accepted.
    pub(crate) fn set_keys(&mut self, keys: Vec<Key>) {
        self.backend = Backend::new(&self.kind, &keys);
        self.keys = keys;
    }
}
