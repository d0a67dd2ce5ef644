//! Where a layer keeps sessions: a server-side [`Store`] behind a signed id cookie, or the
//! cookie itself.

use crate::Key;
use crate::cookie_store::{CookieCodec, CookieStore, SignedCookieStore};
use crate::id_cookie::IdSigner;
use crate::store::Store;
use std::sync::Arc;

/// What [`SessionLayer::new`](crate::SessionLayer::new) takes: any [`Store`], a
/// [`CookieStore`] or a [`SignedCookieStore`]. Sealed.
pub trait SessionBackend: sealed::Sealed + Send + Sync + 'static {}

mod sealed {
    /// How each backend becomes a [`super::BackendKind`].
    pub trait Sealed {
        fn into_kind(self) -> super::BackendKind;
    }
}

impl<S: Store> SessionBackend for S {}
impl<S: Store> sealed::Sealed for S {
    fn into_kind(self) -> BackendKind {
        BackendKind::Server(Arc::new(self))
    }
}

impl SessionBackend for CookieStore {}
impl sealed::Sealed for CookieStore {
    fn into_kind(self) -> BackendKind {
        BackendKind::Sealed
    }
}

impl SessionBackend for SignedCookieStore {}
impl sealed::Sealed for SignedCookieStore {
    fn into_kind(self) -> BackendKind {
        BackendKind::Signed
    }
}

/// The backend as chosen, before keys are applied.
#[derive(Clone, Debug)]
pub enum BackendKind {
    Server(Arc<dyn Store>),
    Sealed,
    Signed,
}

impl BackendKind {
    pub(crate) fn of(backend: impl SessionBackend) -> Self {
        sealed::Sealed::into_kind(backend)
    }
}

/// The backend with its keys derived.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Server {
        store: Arc<dyn Store>,
        ids: IdSigner,
    },
    Cookie(CookieCodec),
}

impl Backend {
    /// `keys[0]` is the current key; the rest are accepted when reading.
    pub(crate) fn new(kind: &BackendKind, keys: &[Key]) -> Self {
        match kind {
            BackendKind::Server(store) => Self::Server {
                store: Arc::clone(store),
                ids: IdSigner::new(keys),
            },
            BackendKind::Sealed => Self::Cookie(CookieCodec::sealed(keys)),
            BackendKind::Signed => Self::Cookie(CookieCodec::signed(keys)),
        }
    }
}
