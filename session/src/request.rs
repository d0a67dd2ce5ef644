//! One request's session: loaded on first use, written back once at the end (or on
//! `persist()`), shared by every extractor in the request.

use crate::config::{Config, CookieChange, SaveMode};
use crate::data::SessionData;
use crate::record::Record;
use crate::store::{SaveOutcome, StoredRecord, Version};
use crate::typed::{Fields, Typed, View};
use crate::{Error, SessionId};
use http::HeaderMap;
use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// Saves that lose a compare-and-swap race are retried this many times in all.
const MAX_ATTEMPTS: u32 = 8;

pub(crate) struct RequestSession {
    pub(crate) config: Arc<Config>,
    loaded: tokio::sync::OnceCell<()>,
    /// Serializes `persist()` calls and the final commit.
    commit: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

struct ViewEntry {
    type_id: TypeId,
    view: Arc<dyn View>,
    any: Arc<dyn Any + Send + Sync>,
}

struct State {
    /// The id in the request's cookie, signature verified.
    client_id: Option<SessionId>,
    /// The live record this session is, if any.
    id: Option<SessionId>,
    version: Option<Version>,
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

/// What a commit does, worked out under the state lock and carried out without it.
struct Plan {
    doomed: Vec<SessionId>,
    action: Action,
}

enum Action {
    None,
    Touch(SessionId, SystemTime),
    Save(Save),
}

struct Save {
    id: Option<SessionId>,
    version: Option<Version>,
    base: Record,
    changes: Vec<(&'static str, Vec<u8>)>,
    dirty: Vec<(Arc<dyn View>, u64)>,
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
            state: Mutex::new(State::fresh(SystemTime::now())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether any extractor asked for the session.
    pub(crate) fn is_used(&self) -> bool {
        self.loaded.initialized()
    }

    /// Loads the session named by the request's cookie, once per request. No cookie, or a
    /// cookie whose tag does not verify, costs no store I/O.
    pub(crate) async fn ready(&self, headers: &HeaderMap) -> Result<(), Error> {
        self.loaded
            .get_or_try_init(|| async {
                let client_id = self.config.signer.find(&self.config.cookie.name, headers);
                let stored = match &client_id {
                    Some(id) => self.config.store.load(id).await?,
                    None => None,
                };
                let mut state = self.lock();
                state.client_id = client_id;
                if let (Some(id), Some(stored)) = (client_id, stored) {
                    state.adopt(&self.config, id, stored);
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
        if let Some(entry) = state.views.iter().find(|entry| entry.type_id == type_id) {
            if let Ok(typed) = Arc::clone(&entry.any).downcast::<Typed<T>>() {
                return typed.fields();
            }
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
        state.rotate = state.id.is_some();
    }

    /// Writes what the request did to the store now.
    pub(crate) async fn commit(&self) -> Result<(), Error> {
        let _serial = self.commit.lock().await;
        let now = SystemTime::now();
        let plan = self.lock().plan(&self.config, now)?;
        for id in &plan.doomed {
            self.config.store.delete(id).await?;
        }
        match plan.action {
            Action::None => {}
            Action::Touch(id, expires_at) => {
                if self.config.store.touch(&id, expires_at).await? {
                    let mut state = self.lock();
                    state.expires_at = Some(expires_at);
                    state.refreshed = true;
                }
            }
            Action::Save(save) => {
                let dirty = save.dirty.clone();
                let written = self.write(save, now).await?;
                self.lock().written(written, &dirty);
            }
        }
        Ok(())
    }

    async fn write(&self, save: Save, now: SystemTime) -> Result<Written, Error> {
        let store = &*self.config.store;
        let Save {
            mut id,
            mut version,
            mut base,
            changes,
            rotate,
            ..
        } = save;
        if rotate && let Some(old) = id.take() {
            // Start from the record as it is now, and only if this request is the one that
            // kills the old id: a logout that won the race stays a logout.
            let Some(current) = store.load(&old).await?.and_then(decode) else {
                return Ok(Written::Gone);
            };
            if !store.delete(&old).await? {
                return Ok(Written::Gone);
            }
            base = current.0;
            version = None;
        }
        for _ in 0..MAX_ATTEMPTS {
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
                    // Another request saved first: re-apply only our changes to its record.
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

    /// The Set-Cookie the response needs, if any.
    pub(crate) fn cookie_change(&self) -> Option<CookieChange> {
        let state = self.lock();
        if state.gone {
            return None;
        }
        match state.id {
            Some(id) if Some(id) != state.client_id => Some(CookieChange::Set(id)),
            Some(id) if state.refreshed && self.config.cookie.max_age.is_some() => {
                Some(CookieChange::Set(id))
            }
            None if state.ended && state.client_id.is_some() => Some(CookieChange::Expire),
            _ => None,
        }
    }
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
            client_id: None,
            id: None,
            version: None,
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
        self.expires_at = None;
        self.base = Record::new(SystemTime::now());
        for entry in &self.views {
            entry.view.reset(&self.base);
        }
        self.save_requested = false;
        self.rotate = false;
        self.ended = true;
    }

    fn plan(&mut self, config: &Config, now: SystemTime) -> Result<Plan, Error> {
        let doomed = std::mem::take(&mut self.doomed);
        if self.deleted {
            return Ok(Plan {
                doomed,
                action: Action::None,
            });
        }
        let mode = config.save_mode;
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
        let auto = mode == SaveMode::Auto && self.id.is_some();
        if self.rotate || self.save_requested || !changes.is_empty() || auto {
            let save = Save {
                id: self.id,
                version: self.version,
                base: self.base.clone(),
                changes,
                dirty,
                rotate: self.rotate,
            };
            return Ok(Plan {
                doomed,
                action: Action::Save(save),
            });
        }
        let action = match (self.id, self.expires_at) {
            (Some(id), Some(current)) => {
                let renewed = config.expiry(self.base.created(), now);
                if renewed >= current + config.refresh_interval() {
                    Action::Touch(id, renewed)
                } else {
                    Action::None
                }
            }
            _ => Action::None,
        };
        Ok(Plan { doomed, action })
    }

    fn written(&mut self, written: Written, dirty: &[(Arc<dyn View>, u64)]) {
        match written {
            Written::Saved {
                id,
                version,
                record,
                expires_at,
            } => {
                for (view, bits) in dirty {
                    view.saved(*bits);
                }
                self.id = Some(id);
                self.version = Some(version);
                self.base = record;
                self.expires_at = Some(expires_at);
                self.save_requested = false;
                self.rotate = false;
                self.refreshed = true;
            }
            Written::Gone => {
                tracing::debug!(
                    "session was ended by another request; dropping this request's changes"
                );
                self.id = None;
                self.version = None;
                self.rotate = false;
                self.save_requested = false;
                self.gone = true;
                for (view, bits) in dirty {
                    view.saved(*bits);
                }
            }
        }
    }
}
