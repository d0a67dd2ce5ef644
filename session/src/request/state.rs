//! What one request has done to its session, and the synchronous decisions made from it:
//! whether to save, touch or leave the record, and which cookie the response carries. No
//! I/O here: [`super::server`] and [`super::seal`] carry the decisions out.

pub(super) use super::phase::Stored;
pub(crate) use super::phase::{Ending, Phase};
use crate::backend::{KeyedBackend, ServerBackend};
use crate::builtin::csrf::CsrfSecret;
use crate::builtin::owner::owner_of;
use crate::builtin::rotation::IdIssued;
use crate::config::{Config, SaveMode};
use crate::cookie::codec::CookieCodec;
use crate::error::Error;
use crate::id::Fingerprint;
use crate::id::{Owner, SessionId, StorageKey};
use crate::record::{FieldChanges, Record};
use crate::store::Version;
use crate::transport::Via;
use crate::typed::SessionData;
use crate::typed::{Dirty, View};
use http::HeaderValue;
use smallvec::SmallVec;
use std::any::{Any, TypeId};
use std::sync::Arc;
use std::time::SystemTime;

pub(super) struct ViewEntry {
    type_id: TypeId,
    pub(super) view: Arc<dyn View>,
    any: Arc<dyn Any + Send + Sync>,
}

pub(super) struct State {
    /// The record the fields were decoded from: as loaded, last written, or fresh.
    pub(super) base: Record,
    /// When that record expires in the store or its cookie, once it exists.
    pub(super) expires_at: Option<SystemTime>,
    /// One per session struct the request extracted: nearly always one, kept inline.
    views: SmallVec<[ViewEntry; 2]>,
    /// `save()` was called since the last commit.
    pub(super) save_requested: bool,
    /// `cycle_id()` was called on an existing session since the last commit.
    pub(super) rotate: bool,
    /// The move to a new id is a periodic one: the old id leads to the new one for the
    /// layer's grace window (a request in flight with it), and is a replay after.
    pub(super) grace: bool,
    /// Where the request is with its session: open, ended by the handler, or refused.
    pub(super) phase: Phase,
    /// The request's cookie was made with a previous key: re-issue it with the current one.
    pub(super) old_key: bool,
    /// The request came with a live session (loaded from the store, or opened from its
    /// cookie).
    pub(super) arrived: bool,
    /// `remember()` was called: the cookie is sent again with its new `Max-Age`.
    pub(super) remember_changed: bool,
    /// How the request's token came (the cookie, or a header): its answer goes back that way.
    pub(super) via: Via,
    pub(super) kind: Kind,
}

/// What differs by where the session lives.
pub(super) enum Kind {
    /// A record in a store, named by a signed id cookie.
    Server(ServerSession),
    /// The whole record in a sealed or signed cookie.
    Cookie(CookieSession),
}

pub(super) struct ServerSession {
    pub(super) backend: Arc<ServerBackend>,
    /// The id in the request's cookie, if it verified.
    pub(super) client_id: Option<SessionId>,
    /// The live record this session is.
    pub(super) stored: Stored<Current>,
    /// Records to delete at the next commit.
    pub(super) doomed: Vec<Doomed>,
    /// Saved or touched in this request: a cookie with `Max-Age` is re-sent.
    pub(super) refreshed: bool,
}

/// A record to delete: its storage key, and its owner, whose index it leaves.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Doomed {
    pub(super) key: StorageKey,
    pub(super) owner: Option<Owner>,
}

/// A stored record: its id, the key the store keeps it under, and the version a
/// compare-and-swap save expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Current {
    pub(super) id: SessionId,
    /// `id`'s storage key, worked out once per request.
    pub(super) key: StorageKey,
    pub(super) version: Version,
}

pub(super) struct CookieSession {
    pub(super) codec: Arc<CookieCodec>,
    /// The request carried an authentic session cookie.
    pub(super) from_client: bool,
    /// The session exists (`Live`): it came in the cookie, or was sealed in this request.
    pub(super) stored: Stored<()>,
    /// The sealed cookie to send.
    pub(super) sealed: Option<HeaderValue>,
    /// The session's id, sealed with it: from the cookie, or drawn when first sealed (and
    /// again on `cycle_id()`, or after `invalidate()`).
    pub(super) id: Option<SessionId>,
}

/// Whether the session must be written back, as far as the request's changes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Nothing,
    /// Keep the record, renewing its expiry to this: a store touches it, a cookie is sealed
    /// again.
    Touch(SystemTime),
    Save,
}

impl State {
    /// A request's state before anything is known of its cookie.
    pub(super) fn fresh(base: Record, backend: &KeyedBackend, via: Via) -> Self {
        let kind = match backend {
            KeyedBackend::Server(backend) => Kind::Server(ServerSession {
                backend: Arc::clone(backend),
                client_id: None,
                stored: Stored::Nothing,
                doomed: Vec::new(),
                refreshed: false,
            }),
            KeyedBackend::Cookie(codec) => Kind::Cookie(CookieSession {
                codec: Arc::clone(codec),
                from_client: false,
                stored: Stored::Nothing,
                sealed: None,
                id: None,
            }),
        };
        Self {
            base,
            expires_at: None,
            views: SmallVec::new(),
            save_requested: false,
            rotate: false,
            grace: false,
            phase: Phase::Open,
            old_key: false,
            arrived: false,
            remember_changed: false,
            via,
            kind,
        }
    }

    /// The view of `T`, made from the base record on first use.
    pub(super) fn view<T: SessionData>(&mut self) -> Arc<crate::typed::Typed<T>> {
        let type_id = TypeId::of::<crate::typed::Typed<T>>();
        if let Some(entry) = self.views.iter().find(|entry| entry.type_id == type_id)
            && let Ok(typed) = Arc::clone(&entry.any).downcast::<crate::typed::Typed<T>>()
        {
            return typed;
        }
        let typed = crate::typed::Typed::<T>::new(&self.base);
        let view: Arc<dyn View> = typed.clone();
        let any = Arc::clone(&view).as_any();
        self.views.push(ViewEntry { type_id, view, any });
        typed
    }

    pub(super) fn views(&self) -> impl Iterator<Item = &Arc<dyn View>> {
        self.views.iter().map(|entry| &entry.view)
    }

    /// The session has a record: stored, or in a cookie.
    pub(super) fn exists(&self) -> bool {
        match &self.kind {
            Kind::Server(server) => server.stored.live().is_some(),
            Kind::Cookie(cookie) => cookie.stored.live().is_some(),
        }
    }

    /// The session this request uses did not exist before it: the request came without a
    /// live one, or ended the one it came with.
    pub(super) fn is_new(&self) -> bool {
        !self.arrived || matches!(self.phase, Phase::Ended(_))
    }

    /// The fingerprint of the record this session is, while its id stays: `None` before it
    /// is first written, and from `cycle_id()` until the new id is written.
    pub(super) fn fingerprint(&self) -> Option<Fingerprint> {
        if self.rotate {
            return None;
        }
        self.stored_key().as_ref().map(Fingerprint::of_storage_key)
    }

    /// The storage key of the record this session is now, a rotation pending or not.
    pub(super) fn stored_key(&self) -> Option<StorageKey> {
        match &self.kind {
            Kind::Server(server) => server.stored.live().map(|current| current.key),
            Kind::Cookie(cookie) => cookie
                .id
                .filter(|_| cookie.stored.live().is_some())
                .map(|id| id.storage_key()),
        }
    }

    /// Moves the session to a new id at the next commit, as a layer with a rotation
    /// interval does once its id is older: the CSRF secret stays (forms open in other tabs
    /// keep working), the old id leads to the new one for the grace window. With `now` as
    /// when the new id is issued.
    pub(super) fn rotate_periodically(&mut self, now_us: u64) {
        self.rotate = self.exists();
        self.grace = self.rotate;
        self.mark_issued(now_us);
    }

    /// The session's id is issued at `now_us` (when it is written): what a rotation
    /// interval counts from.
    pub(super) fn mark_issued(&mut self, now_us: u64) {
        let issued = self.view::<IdIssued>().fields();
        issued.write(0, |issued| issued.issued_us = now_us);
    }

    /// Moves the session to a new id at the next commit; a CSRF secret it has is renewed
    /// with it, so that tokens of the old id stop working too.
    pub(super) fn cycle_id(&mut self) {
        self.rotate = self.exists();
        if self.rotate {
            let csrf = self.view::<CsrfSecret>().fields();
            if csrf.read(|csrf| csrf.secret.is_some()) {
                csrf.write(0, |csrf| csrf.secret = Some(CsrfSecret::generate()));
            }
        }
    }

    /// Ends the current session: its record is deleted at commit (a cookie is expired), and
    /// the request continues with a fresh one holding defaults.
    pub(super) fn end(&mut self, ending: Ending, now: SystemTime) {
        match &mut self.kind {
            Kind::Server(server) => {
                if let Some(current) = server.stored.live() {
                    server.stored = Stored::Nothing;
                    server.doomed.push(Doomed {
                        key: current.key,
                        owner: owner_of(&self.base),
                    });
                }
            }
            Kind::Cookie(cookie) => {
                cookie.stored = Stored::Nothing;
                cookie.sealed = None;
                cookie.id = None;
            }
        }
        self.expires_at = None;
        self.base = Record::new(now);
        for entry in &self.views {
            entry.view.reset(&self.base);
        }
        self.save_requested = false;
        self.rotate = false;
        self.grace = false;
        if self.phase != Phase::Refused {
            self.phase = Phase::Ended(ending);
        }
    }

    /// Whether changed fields are to be saved: with [`SaveMode::Explicit`], only once
    /// `save()` was called.
    fn changes_count(&self, mode: SaveMode) -> bool {
        mode != SaveMode::Explicit || self.save_requested
    }

    /// The encoded changes to save, and which dirty bits they cover.
    pub(super) fn changes(&self, mode: SaveMode) -> Result<(FieldChanges, Dirty), Error> {
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

    /// The fields in `dirty` are stored now, in `written` if the save rebased them on
    /// another request's record; what the handler asked for is done.
    pub(super) fn saved(&mut self, dirty: &Dirty, written: Option<&Record>) {
        for (view, bits) in dirty {
            view.saved(*bits, written);
        }
        self.rotate = false;
        self.grace = false;
        self.save_requested = false;
    }

    /// Whether the record must be written: a change that counts, or a reason to save anyway.
    /// The commit will write a session that did not exist: a new visitor's first save.
    pub(super) fn will_create(&self, mode: SaveMode) -> bool {
        !self.exists()
            && !matches!(self.phase, Phase::Ended(Ending::Deleted) | Phase::Refused)
            && self.must_write(mode)
    }

    fn must_write(&self, mode: SaveMode) -> bool {
        let changed = self.changes_count(mode) && self.views().any(|view| view.dirty() != 0);
        self.rotate || self.save_requested || changed || (mode == SaveMode::Auto && self.exists())
    }

    /// What a commit must do with the session record, deletions aside.
    pub(crate) fn decide(&self, config: &Config, now: SystemTime) -> Decision {
        if matches!(self.phase, Phase::Ended(Ending::Deleted) | Phase::Refused) {
            return Decision::Nothing;
        }
        if self.must_write(config.save_mode) {
            return Decision::Save;
        }
        if !self.exists() {
            return Decision::Nothing;
        }
        let renewed = self.refresh_due(config, now);
        match (&self.kind, renewed) {
            (_, Some(renewed)) => Decision::Touch(renewed),
            // A cookie made with a previous key is sealed again under the current one; a
            // server store's id cookie is re-signed without touching the record.
            (Kind::Cookie(_), None) if self.old_key => {
                Decision::Touch(config.expiry(&self.base, now))
            }
            _ => Decision::Nothing,
        }
    }

    /// The renewed expiry, if reads have moved it far enough to be worth writing.
    fn refresh_due(&self, config: &Config, now: SystemTime) -> Option<SystemTime> {
        let current = self.expires_at?;
        let renewed = config.expiry(&self.base, now);
        (renewed >= current + config.refresh_interval()).then_some(renewed)
    }
}
