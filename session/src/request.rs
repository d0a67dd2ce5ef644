//! One request's session: loaded on first use, written back once at the end (or on
//! `persist()`), shared by every extractor in the request.

use crate::backend::Backend;
use crate::config::{Config, SaveMode};
use crate::cookie_store::CookieCodec;
use crate::data::SessionData;
use crate::id_cookie::cookie_values;
use crate::record::{FieldChanges, Record, from_unix_ms, unix_ms};
use crate::store::{SaveOutcome, Store, StoredRecord, Version};
use crate::typed::{Fields, Typed, View};
use crate::{Error, SessionId};
use http::{HeaderMap, HeaderValue};
use smallvec::SmallVec;
use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::SystemTime;

/// Saves that lose a compare-and-swap race are retried this many times in all.
const MAX_ATTEMPTS: u32 = 10;

pub(crate) struct RequestSession {
    pub(crate) config: Arc<Config>,
    loaded: tokio::sync::OnceCell<()>,
    /// Serializes `persist()` calls and the final commit.
    commit: tokio::sync::Mutex<()>,
    /// Built on first use: a request that never extracts its session pays nothing for it.
    state: OnceLock<Mutex<State>>,
}

struct ViewEntry {
    type_id: TypeId,
    view: Arc<dyn View>,
    any: Arc<dyn Any + Send + Sync>,
}

type Dirty = SmallVec<[(Arc<dyn View>, u64); 2]>;

struct State {
    /// The request carried a valid session cookie (a verified id, or an authentic seal).
    client_present: bool,
    /// That cookie was made with a previous key: re-issue it with the current one.
    old_key: bool,
    /// Server stores: the id in the request's cookie.
    client_id: Option<SessionId>,
    /// Server stores: the live record this session is.
    id: Option<SessionId>,
    version: Option<Version>,
    /// Cookie stores: the session exists (came in a cookie, or was sealed in this request).
    present: bool,
    /// Cookie stores: the sealed cookie to send.
    sealed: Option<HeaderValue>,
    base: Record,
    expires_at: Option<SystemTime>,
    /// One per session struct the request extracted: nearly always one, kept inline.
    views: SmallVec<[ViewEntry; 2]>,
    save_requested: bool,
    rotate: bool,
    /// Records to delete at the next commit.
    doomed: Vec<SessionId>,
    /// `delete()` or `invalidate()` ended the client's session: expire its cookie unless a
    /// new session replaces it.
    ended: bool,
    /// `delete()`: nothing more is saved in this request.
    deleted: bool,
    /// Another request deleted or rotated the session first: send no cookie at all.
    gone: bool,
    /// Saved or touched in this request (a cookie with Max-Age is re-sent).
    refreshed: bool,
}

/// Whether the session must be written back, as far as the request's changes go.
enum Decision {
    Nothing,
    /// Renew the record's expiry to this, without writing the record.
    Touch(SessionId, SystemTime),
    Save,
}

/// What a server-side commit does, worked out under the state lock, carried out without it.
// Made once per commit and moved straight into the write: boxing `Save` would cost an
// allocation per save to spare a few hundred bytes of stack.
#[allow(clippy::large_enum_variant)]
enum Action {
    None,
    Touch(SessionId, SystemTime),
    Save(Save),
}

struct Save {
    id: Option<SessionId>,
    version: Option<Version>,
    /// The record to write: the loaded one with `changes` applied.
    record: Record,
    /// Re-applied to the current record when the save loses a race.
    changes: FieldChanges,
    rotate: bool,
}

/// A loaded record that is still the session: it decodes, and is within its lifetime.
struct Live {
    record: Record,
    version: Version,
    expires_at: SystemTime,
}

enum Written {
    Saved {
        id: SessionId,
        version: Version,
        record: Record,
        expires_at: SystemTime,
    },
    Gone,
}

impl RequestSession {
    pub(crate) fn new(config: Arc<Config>) -> Self {
        Self {
            config,
            loaded: tokio::sync::OnceCell::new(),
            commit: tokio::sync::Mutex::new(()),
            state: OnceLock::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.lock_with(|| Record::new(SystemTime::now()))
    }

    /// The state, with `record` as its base: built around it on first use, else given it.
    fn lock_around(&self, record: Record) -> MutexGuard<'_, State> {
        let mut record = Some(record);
        let mut state = self.lock_with(|| record.take().unwrap_or_default());
        if let Some(record) = record {
            state.base = record;
        }
        state
    }

    /// The state, built around `base` if this is its first use.
    fn lock_with(&self, base: impl FnOnce() -> Record) -> MutexGuard<'_, State> {
        self.state
            .get_or_init(|| Mutex::new(State::fresh(base())))
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether any extractor asked for the session.
    pub(crate) fn is_used(&self) -> bool {
        self.loaded.initialized()
    }

    /// Loads the session named by the request's cookie, once per request. No cookie, or a
    /// cookie that does not verify, costs no store I/O.
    pub(crate) async fn ready(&self, headers: &HeaderMap) -> Result<(), Error> {
        self.loaded
            .get_or_try_init(|| async {
                let name = &self.config.cookie.name;
                match &self.config.backend {
                    Backend::Server { store, ids } => {
                        let Some(verified) = ids.find(name, headers) else {
                            return Ok(());
                        };
                        let stored = store.load(&verified.id).await?;
                        let now = SystemTime::now();
                        let mut state =
                            match stored.and_then(|stored| live(&self.config, stored, now)) {
                                Some(live) => {
                                    let mut state = self.lock_around(live.record);
                                    state.id = Some(verified.id);
                                    state.version = Some(live.version);
                                    state.expires_at = Some(live.expires_at);
                                    state
                                }
                                None => self.lock_with(|| Record::new(now)),
                            };
                        state.client_present = true;
                        state.client_id = Some(verified.id);
                        state.old_key = verified.old_key;
                    }
                    Backend::Cookie(codec) => {
                        let now = SystemTime::now();
                        let now_ms = unix_ms(now);
                        let opened = cookie_values(name, headers)
                            .find_map(|value| codec.open(name, value, now_ms));
                        let Some(opened) = opened else { return Ok(()) };
                        if self.config.past_lifetime(opened.record.created(), now) {
                            self.lock_with(|| Record::new(now)).client_present = true;
                        } else {
                            let mut state = self.lock_around(opened.record);
                            state.client_present = true;
                            state.present = true;
                            state.old_key = opened.old_key;
                            state.expires_at = Some(from_unix_ms(opened.idle_deadline_ms));
                        }
                    }
                }
                Ok(())
            })
            .await
            .map(|&()| ())
    }

    /// The request's shared state for `T`, created from the loaded record on first use.
    pub(crate) fn fields<T: SessionData>(&self) -> Fields<T> {
        let mut state = self.lock();
        let type_id = TypeId::of::<Typed<T>>();
        if let Some(entry) = state.views.iter().find(|entry| entry.type_id == type_id)
            && let Ok(typed) = Arc::clone(&entry.any).downcast::<Typed<T>>()
        {
            return typed.fields();
        }
        let typed = Typed::<T>::new(&state.base);
        let view: Arc<dyn View> = typed.clone();
        let any = Arc::clone(&view).as_any();
        state.views.push(ViewEntry { type_id, view, any });
        typed.fields()
    }

    pub(crate) fn save(&self) {
        self.lock().save_requested = true;
    }

    pub(crate) fn delete(&self) {
        let mut state = self.lock();
        state.end();
        state.deleted = true;
    }

    pub(crate) fn invalidate(&self) {
        let mut state = self.lock();
        state.end();
        state.deleted = false;
    }

    pub(crate) fn cycle_id(&self) {
        let mut state = self.lock();
        state.rotate = state.id.is_some() || state.present;
    }

    /// Commits without waiting, when that needs no store I/O: always for cookie stores
    /// (sealing is computation), and for server stores when nothing is to be written, as
    /// on a request that only reads. `None`: the commit needs [`commit`](Self::commit).
    pub(crate) fn commit_now(&self, now: SystemTime) -> Option<Result<(), Error>> {
        // A `persist()` still running in a task the handler spawned: wait for it.
        let _serial = self.commit.try_lock().ok()?;
        match &self.config.backend {
            Backend::Cookie(codec) => Some(self.lock().seal(&self.config, codec, now)),
            Backend::Server { .. } => {
                let state = self.lock();
                let idle = state.doomed.is_empty()
                    && matches!(state.decide(&self.config, now), Decision::Nothing);
                idle.then_some(Ok(()))
            }
        }
    }

    /// Writes what the request did, as of `now`.
    pub(crate) async fn commit(&self, now: SystemTime) -> Result<(), Error> {
        let _serial = self.commit.lock().await;
        match &self.config.backend {
            Backend::Server { store, .. } => self.commit_to_store(&**store, now).await,
            Backend::Cookie(codec) => self.lock().seal(&self.config, codec, now),
        }
    }

    async fn commit_to_store(&self, store: &dyn Store, now: SystemTime) -> Result<(), Error> {
        let (doomed, action, dirty) = self.lock().plan(&self.config, now)?;
        for id in &doomed {
            store.delete(id).await?;
        }
        match action {
            Action::None => {}
            Action::Touch(id, expires_at) => {
                if store.touch(&id, expires_at).await? {
                    let mut state = self.lock();
                    state.expires_at = Some(expires_at);
                    state.refreshed = true;
                }
            }
            Action::Save(save) => {
                // Boxed: inline, its state would make every commit's future too big for
                // the allocator's per-thread cache (over 1 KiB: a slower path in glibc).
                let written = Box::pin(self.write(store, save, now)).await?;
                self.lock().written(written, &dirty);
            }
        }
        Ok(())
    }

    async fn write(
        &self,
        store: &dyn Store,
        save: Save,
        now: SystemTime,
    ) -> Result<Written, Error> {
        let Save {
            mut id,
            mut version,
            mut record,
            changes,
            rotate,
        } = save;
        let _turn = match &id {
            Some(id) => Some(self.config.save_lock(id).lock().await),
            None => None,
        };
        if rotate && let Some(old) = id.take() {
            // Start from the record as it is now, and only if this request is the one that
            // kills the old id: a logout that won the race stays a logout.
            let Some((current, _)) = store.load(&old).await?.and_then(decode) else {
                return Ok(Written::Gone);
            };
            if !store.delete(&old).await? {
                return Ok(Written::Gone);
            }
            record = current.with(changes.iter());
            version = None;
        }
        for attempt in 0..MAX_ATTEMPTS {
            let expires_at = self.config.expiry(record.created(), now);
            let target = id.unwrap_or_else(SessionId::random);
            match store
                .save(&target, record.as_bytes(), expires_at, version)
                .await?
            {
                SaveOutcome::Saved(version) => {
                    return Ok(Written::Saved {
                        id: target,
                        version,
                        record,
                        expires_at,
                    });
                }
                SaveOutcome::Missing => return Ok(Written::Gone),
                // A new random id collided with a live one: draw another.
                SaveOutcome::Conflict if id.is_none() => {}
                SaveOutcome::Conflict => {
                    // Another request saved first. Back off a random while, so that two
                    // requests in lockstep stop winning each other's window, then re-apply
                    // only our changes to its record.
                    backoff(attempt).await;
                    let Some((current, current_version)) =
                        store.load(&target).await?.and_then(decode)
                    else {
                        return Ok(Written::Gone);
                    };
                    record = current.with(changes.iter());
                    version = Some(current_version);
                }
            }
        }
        Err(Error::Contention {
            attempts: MAX_ATTEMPTS,
        })
    }

    /// The `Set-Cookie` the response needs, if any. Called once, as the response leaves.
    pub(crate) fn set_cookie(&self) -> Option<HeaderValue> {
        let mut state = self.lock();
        let config = &self.config;
        let expire = state.ended && state.client_present;
        match &config.backend {
            _ if state.gone => None,
            Backend::Server { ids, .. } => {
                let sign =
                    |id: SessionId| config.set_cookie(Some(&ids.sign(&config.cookie.name, &id)));
                match state.id {
                    Some(id) if Some(id) != state.client_id || state.old_key => Some(sign(id)),
                    Some(id) if state.refreshed && config.cookie.max_age.is_some() => {
                        Some(sign(id))
                    }
                    None if expire => Some(config.set_cookie(None)),
                    _ => None,
                }
            }
            Backend::Cookie(_) => state
                .sealed
                .take()
                .or_else(|| expire.then(|| config.set_cookie(None))),
        }
    }
}

/// Sleeps a random 0 to 2^attempt milliseconds, at most 64 (full jitter).
async fn backoff(attempt: u32) {
    let ceiling = 1u64 << attempt.min(6);
    let micros = crate::random::u64() % (ceiling * 1000);
    tokio::time::sleep(std::time::Duration::from_micros(micros)).await;
}

/// The loaded record as this request's session, unless it is corrupt or too old.
fn live(config: &Config, stored: StoredRecord, now: SystemTime) -> Option<Live> {
    let expires_at = stored.expires_at;
    let (record, version) = decode(stored)?;
    (!config.past_lifetime(record.created(), now)).then_some(Live {
        record,
        version,
        expires_at,
    })
}

fn decode(stored: StoredRecord) -> Option<(Record, Version)> {
    match Record::decode_vec(stored.data) {
        Ok(record) => Some((record, stored.version)),
        Err(error) => {
            tracing::warn!(%error, "corrupt session record; treating it as no session");
            None
        }
    }
}

impl State {
    fn fresh(base: Record) -> Self {
        Self {
            client_present: false,
            old_key: false,
            client_id: None,
            id: None,
            version: None,
            present: false,
            sealed: None,
            base,
            expires_at: None,
            views: SmallVec::new(),
            save_requested: false,
            rotate: false,
            doomed: Vec::new(),
            ended: false,
            deleted: false,
            gone: false,
            refreshed: false,
        }
    }

    /// Ends the current session: its record is deleted at commit, and the request continues
    /// with a fresh one holding defaults.
    fn end(&mut self) {
        if let Some(id) = self.id.take() {
            self.doomed.push(id);
        }
        self.version = None;
        self.present = false;
        self.sealed = None;
        self.expires_at = None;
        self.base = Record::new(SystemTime::now());
        for entry in &self.views {
            entry.view.reset(&self.base);
        }
        self.save_requested = false;
        self.rotate = false;
        self.ended = true;
    }

    /// Whether changed fields are to be saved: with [`SaveMode::Explicit`], only once
    /// `save()` was called.
    fn changes_count(&self, mode: SaveMode) -> bool {
        mode != SaveMode::Explicit || self.save_requested
    }

    /// The encoded changes to save, and which dirty bits they cover.
    fn changes(&self, mode: SaveMode) -> Result<(FieldChanges, Dirty), Error> {
        let mut changes = FieldChanges::default();
        let mut dirty = Dirty::new();
        if self.changes_count(mode) {
            for entry in &self.views {
                let bits = entry.view.changes(&mut changes)?;
                if bits != 0 {
                    dirty.push((Arc::clone(&entry.view), bits));
                }
            }
        }
        Ok((changes, dirty))
    }

    /// Whether the record must be written, given whether it exists: a change that counts,
    /// or a reason to save anyway.
    fn must_write(&self, mode: SaveMode, exists: bool) -> bool {
        let changed =
            self.changes_count(mode) && self.views.iter().any(|entry| entry.view.is_dirty());
        self.rotate || self.save_requested || changed || (mode == SaveMode::Auto && exists)
    }

    /// Server stores: what a commit must do with the session record, deletions aside.
    fn decide(&self, config: &Config, now: SystemTime) -> Decision {
        if self.deleted {
            Decision::Nothing
        } else if self.must_write(config.save_mode, self.id.is_some()) {
            Decision::Save
        } else if let (Some(id), Some(renewed)) = (self.id, self.refresh_due(config, now)) {
            Decision::Touch(id, renewed)
        } else {
            Decision::Nothing
        }
    }

    /// The renewed expiry, if reads have moved it far enough to be worth writing.
    fn refresh_due(&self, config: &Config, now: SystemTime) -> Option<SystemTime> {
        let current = self.expires_at?;
        let renewed = config.expiry(self.base.created(), now);
        (renewed >= current + config.refresh_interval()).then_some(renewed)
    }

    fn plan(
        &mut self,
        config: &Config,
        now: SystemTime,
    ) -> Result<(Vec<SessionId>, Action, Dirty), Error> {
        let doomed = std::mem::take(&mut self.doomed);
        let (action, dirty) = match self.decide(config, now) {
            Decision::Save => {
                let (changes, dirty) = self.changes(config.save_mode)?;
                let save = Save {
                    id: self.id,
                    version: self.version,
                    record: self.base.with(changes.iter()),
                    changes,
                    rotate: self.rotate,
                };
                (Action::Save(save), dirty)
            }
            Decision::Touch(id, renewed) => (Action::Touch(id, renewed), Dirty::new()),
            Decision::Nothing => (Action::None, Dirty::new()),
        };
        Ok((doomed, action, dirty))
    }

    fn written(&mut self, written: Written, dirty: &Dirty) {
        for (view, bits) in dirty {
            view.saved(*bits);
        }
        self.rotate = false;
        self.save_requested = false;
        match written {
            Written::Saved {
                id,
                version,
                record,
                expires_at,
            } => {
                self.id = Some(id);
                self.version = Some(version);
                self.base = record;
                self.expires_at = Some(expires_at);
                self.refreshed = true;
            }
            Written::Gone => {
                tracing::debug!(
                    "session was ended by another request; dropping this request's changes"
                );
                self.id = None;
                self.version = None;
                self.gone = true;
            }
        }
    }

    /// Cookie stores: seals the session into the cookie to send, when it changed, must be
    /// refreshed, or was made with an old key. Over the size limit nothing is sent.
    fn seal(&mut self, config: &Config, codec: &CookieCodec, now: SystemTime) -> Result<(), Error> {
        if self.deleted {
            self.sealed = None;
            return Ok(());
        }
        let reissue = self.present && (self.old_key || self.refresh_due(config, now).is_some());
        if !self.must_write(config.save_mode, self.present) && !reissue {
            return Ok(());
        }
        let (changes, dirty) = self.changes(config.save_mode)?;
        let record = self.base.with(changes.iter());
        let created = record.created();
        let expires_at = config.expiry(created, now);
        let absolute = config
            .max_lifetime
            .map(|lifetime| unix_ms(created + lifetime));
        let value = codec.seal(&config.cookie.name, &record, unix_ms(expires_at), absolute);
        let header = config.set_cookie(Some(&value));
        let size = header.len();
        if size > config.cookie_size_limit {
            return Err(Error::SessionTooLarge {
                size,
                limit: config.cookie_size_limit,
            });
        }
        for (view, bits) in &dirty {
            view.saved(*bits);
        }
        self.base = record;
        self.expires_at = Some(expires_at);
        self.present = true;
        self.old_key = false;
        self.rotate = false;
        self.save_requested = false;
        self.sealed = Some(header);
        Ok(())
    }
}
