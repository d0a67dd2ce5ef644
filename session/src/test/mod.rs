//! Unit-testing handlers that take [`Session<T>`], with no server, router or store; and
//! the browser's side of DBSC ([`DbscDevice`]), for tests of device-bound sessions.
//!
//! [`TestSession`] hands out the same extractor a request would get, holding the field values
//! you give it; after the handler ran it tells which fields changed and what the layer
//! would do at the end of the request: save, delete, start afresh, or move to a new id.
//!
//! ```
//! use typed_sessions::test::TestSession;
//! use typed_sessions::Session;
//!
//! #[derive(Session, Default)]
//! struct Cart {
//!     items: Vec<String>,
//!     coupon: Option<String>,
//! }
//!
//! async fn add(cart: Session<Cart>, item: String) -> usize {
//!     // `move` and a clone: an update may run again, on the value another request saved.
//!     cart.update_items(move |items| {
//!         items.push(item.clone());
//!         items.len()
//!     })
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), typed_sessions::Error> {
//! let cart = TestSession::existing(Cart {
//!     items: vec!["tea".into()],
//!     coupon: None,
//! })?;
//! assert_eq!(add(cart.session(), "milk".into()).await, 2);
//! assert_eq!(cart.changed_fields(), ["items"]);
//! assert!(cart.will_save());
//! assert_eq!(cart.session().items(), ["tea", "milk"]);
//! # Ok(())
//! # }
//! ```
//!
//! [`Session<T>`]: struct@crate::Session

mod dbsc;
pub use dbsc::{DbscDevice, challenge_of, registration_offer, response_header};

use crate::backend::BackendKind;
use crate::config::Config;
use crate::config::SaveMode;
use crate::crypto::Key;
use crate::csrf::CsrfToken;
use crate::error::Error;
use crate::extract::{Flash, Session};
use crate::record::{FieldChanges, Record};
use crate::request::csrf::token_matches;
use crate::request::{Decision, Ending, Inspection, Phase, RequestSession};
use crate::store::MemoryStore;
use crate::typed::Changes;
use crate::typed::SessionData;
use http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::SystemTime;

/// One request's session, for calling a handler directly in a test.
///
/// Every [`session()`](Self::session) of one `TestSession` is the same session, as every
/// extractor of one request is. Nothing is stored anywhere: the questions below answer
/// what the layer would do when the request ends.
pub struct TestSession<T: SessionData> {
    request: Arc<RequestSession>,
    /// The stored session the request came with, if any.
    initial: Option<Record>,
    _session: PhantomData<fn() -> T>,
}

impl<T: SessionData> TestSession<T> {
    /// A new visitor: no session yet, every field at its default.
    #[must_use]
    pub fn new() -> Self {
        Self::with(SaveMode::default(), None)
    }

    /// A visitor whose session exists and holds `value`.
    ///
    /// # Errors
    /// [`Error::Encode`] when a field of `value` cannot be encoded.
    pub fn existing(value: T) -> Result<Self, Error> {
        Ok(Self::with(SaveMode::default(), Some(stored(None, value)?)))
    }

    /// The same session under another [`SaveMode`]. Call it before [`session`](Self::session):
    /// extractors handed out earlier keep the earlier session.
    #[must_use]
    pub fn with_save_mode(self, mode: SaveMode) -> Self {
        Self::with(mode, self.initial)
    }

    fn with(mode: SaveMode, record: Option<Record>) -> Self {
        // The layer needs a backend; nothing ever reaches this one.
        let kind = BackendKind::Server(Arc::new(MemoryStore::new()));
        let mut config = Config::new(kind, &Key::generate());
        config.save_mode = mode;
        Self {
            request: Arc::new(RequestSession::loaded(Arc::new(config), record.clone())),
            initial: record,
            _session: PhantomData,
        }
    }

    /// The extractor to pass to the handler.
    pub fn session(&self) -> Session<T> {
        Session::of(Arc::clone(&self.request))
    }

    /// The extractor of another session struct, `U`, on this same session: for a handler
    /// that takes several (`Session<Auth>` and `Session<Cart>`), as one request's
    /// extractors share one session. Give `U` stored values with
    /// [`with_existing`](Self::with_existing).
    pub fn session_of<U: SessionData>(&self) -> Session<U> {
        Session::of(Arc::clone(&self.request))
    }

    /// The session's flash messages of type `M`, for a handler that takes [`Flash<M>`]; a
    /// later `flash::<M>().take()` tells what the handler set.
    pub fn flash<M: Serialize + DeserializeOwned>(&self) -> Flash<M> {
        Flash::of(Arc::clone(&self.request))
    }

    /// A CSRF token of this session, for a handler that takes [`CsrfToken`]: one a page of
    /// it would show, which [`CsrfLayer`](crate::CsrfLayer) accepts from it.
    pub fn csrf_token(&self) -> CsrfToken {
        CsrfToken::new(self.request.csrf_token(&HeaderMap::new()))
    }

    /// Whether [`CsrfLayer`](crate::CsrfLayer) would accept `token` from this session.
    #[must_use]
    pub fn accepts_csrf_token(&self, token: &str) -> bool {
        self.request
            .csrf_secret(&HeaderMap::new())
            .is_some_and(|secret| token_matches(&secret, token))
    }

    /// The same session, with `value` stored for another session struct `U` too (a
    /// visitor whose session holds both `Auth` and `Cart`). Call it before
    /// [`session`](Self::session): extractors handed out earlier keep the earlier session.
    ///
    /// # Errors
    /// [`Error::Encode`] when a field of `value` cannot be encoded.
    pub fn with_existing<U: SessionData>(self, value: U) -> Result<Self, Error> {
        let record = stored(self.initial, value)?;
        Ok(Self::with(self.request.config.save_mode, Some(record)))
    }

    /// The storage names of the fields changed and not saved (the field's name, or its
    /// `#[session(rename = "..")]`), in declaration order.
    #[must_use]
    pub fn changed_fields(&self) -> Vec<&'static str> {
        self.inspect()
            .changed
            .into_iter()
            .map(|key| key.split_once('.').map_or(key, |(_, name)| name))
            .collect()
    }

    /// Whether the layer would write the session at the end of the request, under its
    /// [`SaveMode`].
    #[must_use]
    pub fn will_save(&self) -> bool {
        self.inspect().decision == Decision::Save
    }

    /// Whether the handler called [`Session::save`].
    #[must_use]
    pub fn save_requested(&self) -> bool {
        self.inspect().save_requested
    }

    /// Whether the handler called [`Session::delete`].
    #[must_use]
    pub fn deleted(&self) -> bool {
        self.inspect().phase == Phase::Ended(Ending::Deleted)
    }

    /// Whether the handler called [`Session::invalidate`] (and not `delete` after it).
    #[must_use]
    pub fn invalidated(&self) -> bool {
        self.inspect().phase == Phase::Ended(Ending::Invalidated)
    }

    /// Whether the handler called [`Session::cycle_id`] on an existing session.
    #[must_use]
    pub fn id_cycled(&self) -> bool {
        self.inspect().rotate
    }

    fn inspect(&self) -> Inspection {
        self.request.inspect()
    }
}

/// `base` (or a new record) with every field of `value` stored.
fn stored<U: SessionData>(base: Option<Record>, value: U) -> Result<Record, Error> {
    let mut changes = Changes::<U>::new(FieldChanges::default());
    value.encode_dirty(u64::MAX, &mut changes)?;
    let base = base.unwrap_or_else(|| Record::new(SystemTime::now()));
    Ok(base.with(changes.into_fields().iter()))
}

impl<T: SessionData> Default for TestSession<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: SessionData> fmt::Debug for TestSession<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestSession")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}
