//! One request's session: loaded on first use, written back once at the end (or on
//! `persist()`), shared by every extractor in the request.

use crate::backend::Backend;
use crate::config::{Config, SaveMode};
use crate::cookie_store::CookieCodec;
use crate::data::SessionData;
use crate::id_cookie::cookie_values;
use crate::record::{Record, from_unix_ms, unix_ms};
use crate::store::{SaveOutcome, Store, StoredRecord, Version};
use crate::typed::{Fields, Typed, View};
use crate::{Error, SessionId};
use http::{HeaderMap, HeaderValue};
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
    state: OnceLock<Box<Mutex<State>>>,
}

struct ViewEntry {
    type_id: TypeId,
    view: Arc<dyn View>,
    any: Arc<dyn Any + Send + Sync>,
}

type Changes = Vec<(&'static str, Vec<u8>)>;
type Dirty = Vec<(Arc<dyn View>, u64)>;

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
    views: Vec<ViewEntry>,
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

/// What a server-side commit does, worked out under the state lock, carried out without it.
enum Action {
    None,
    Touch(SessionId, SystemTime),
    Save(Save),
}

struct Save {
    id: Option<SessionId>,
    version: Option<Version>,
    base: Record,
    changes: Changes,
    rotate: bool,
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
        self.state
            .get_or_init(|| Box::new(Mutex::new(State::fresh(SystemTime::now()))))
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
                        let mut state = self.lock();
                        state.client_present = true;
                        state.client_id = Some(verified.id);
                        state.old_key = verified.old_key;
                        if let Some(stored) = stored {
                            state.adopt(&self.config, verified.id, stored);
                        }
                    }
                    Backend::Cookie(codec) => {
                        let now = SystemTime::now();
                        let now_ms = unix_ms(now);
                        let opened = cookie_values(name, headers)
                            .find_map(|value| codec.open(name, value, now_ms));
                        let Some(opened) = opened else { return Ok(()) };
                        let mut state = self.lock();
                        state.client_present = true;
                        if !self.config.past_lifetime(opened.record.created(), now) {
                            state.present = true;
                            state.old_key = opened.old_key;
                            state.base = opened.record;
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

    /// Writes what the request did now.
    pub(crate) async fn commit(&self) -> Result<(), Error> {
        let _serial = self.commit.lock().await;
        match &self.config.backend {
            Backend::Server { store, .. } => self.commit_to_store(&**store).await,
            Backend::Cookie(codec) => self.lock().seal(&self.config, codec),
        }
    }

    async fn commit_to_store(&self, store: &dyn Store) -> Result<(), Error> {
        let now = SystemTime::now();
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
                let written = self.write(store, save, now).await?;
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
            mut base,
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
            base = current;
            version = None;
        }
        for attempt in 0..MAX_ATTEMPTS {
            let mut record = base.clone();
            record.apply(&changes);
            let expires_at = self.config.expiry(record.created(), now);
            let target = id.unwrap_or_else(SessionId::random);
            match store
                .save(&target, &record.encode(), expires_at, version)
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
                    base = current;
                    version = Some(current_version);
                }
            }
        }
        Err(Error::Contention {
            attempts: MAX_ATTEMPTS,
        })
    }

    /// The `Set-Cookie` the response needs, if any.
    pub(crate) fn set_cookie(&self) -> Option<HeaderValue> {
        let state = self.lock();
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
            Backend::Cookie(_) => match &state.sealed {
                Some(sealed) => Some(sealed.clone()),
                None if expire => Some(config.set_cookie(None)),
                None => None,
            },
        }
    }
}

/// Sleeps a random 0 to 2^attempt milliseconds, at most 64 (full jitter).
async fn backoff(attempt: u32) {
    let ceiling = 1u64 << attempt.min(6);
    let micros = crate::random::u64() % (ceiling * 1000);
    tokio::time::sleep(std::time::Duration::from_micros(micros)).await;
}

fn decode(stored: StoredRecord) -> Option<(Record, Version)> {
    match Record::decode(&stored.data) {
        Ok(record) => Some((record, stored.version)),
        Err(error) => {
            tracing::warn!(%error, "corrupt session record; treating it as no session");
            None
        }
    }
}

impl State {
    fn fresh(now: SystemTime) -> Self {
        Self {
            client_present: false,
            old_key: false,
            client_id: None,
            id: None,
            version: None,
            present: false,
            sealed: None,
            base: Record::new(now),
            expires_at: None,
            views: Vec::new(),
            save_requested: false,
            rotate: false,
            doomed: Vec::new(),
            ended: false,
            deleted: false,
            gone: false,
            refreshed: false,
        }
    }

    /// Takes a loaded record as this request's session, unless it is corrupt or too old.
    fn adopt(&mut self, config: &Config, id: SessionId, stored: StoredRecord) {
        let expires_at = stored.expires_at;
        let Some((record, version)) = decode(stored) else {
            return;
        };
        if config.past_lifetime(record.created(), SystemTime::now()) {
            return;
        }
        self.id = Some(id);
        self.version = Some(version);
        self.base = record;
        self.expires_at = Some(expires_at);
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

    /// The encoded changes to save, and which dirty bits they cover. With
    /// [`SaveMode::Explicit`], changes count only once `save()` was called.
    fn changes(&self, mode: SaveMode) -> Result<(Changes, Dirty), Error> {
        let mut changes = Vec::new();
        let mut dirty = Vec::new();
        if mode != SaveMode::Explicit || self.save_requested {
            for entry in &self.views {
                let bits = entry.view.changes(&mut changes)?;
                if bits != 0 {
                    dirty.push((Arc::clone(&entry.view), bits));
                }
            }
        }
        Ok((changes, dirty))
    }

    /// Whether the record must be written, given its changes and whether it exists.
    fn must_write(&self, mode: SaveMode, changes: &Changes, exists: bool) -> bool {
        self.rotate
            || self.save_requested
            || !changes.is_empty()
            || (mode == SaveMode::Auto && exists)
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
        if self.deleted {
            return Ok((doomed, Action::None, Vec::new()));
        }
        let (changes, dirty) = self.changes(config.save_mode)?;
        if self.must_write(config.save_mode, &changes, self.id.is_some()) {
            let save = Save {
                id: self.id,
                version: self.version,
                base: self.base.clone(),
                changes,
                rotate: self.rotate,
            };
            return Ok((doomed, Action::Save(save), dirty));
        }
        let action = match (self.id, self.refresh_due(config, now)) {
            (Some(id), Some(renewed)) => Action::Touch(id, renewed),
            _ => Action::None,
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
    fn seal(&mut self, config: &Config, codec: &CookieCodec) -> Result<(), Error> {
        if self.deleted {
            self.sealed = None;
            return Ok(());
        }
        let now = SystemTime::now();
        let (changes, dirty) = self.changes(config.save_mode)?;
        let reissue = self.present && (self.old_key || self.refresh_due(config, now).is_some());
        if !self.must_write(config.save_mode, &changes, self.present) && !reissue {
            return Ok(());
        }
        let mut record = self.base.clone();
        record.apply(&changes);
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
