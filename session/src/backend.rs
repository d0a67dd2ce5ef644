//! Where a layer keeps sessions: a server-side [`Store`] behind a signed id cookie, or the
//! cookie itself.

use crate::Key;
use crate::cookie::codec::CookieCodec;
use crate::cookie::signed_id::IdSigner;
use crate::cookie::{CookieStore, SignedCookieStore};
use crate::observe::ObservedStore;
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

/// The backend with its keys derived. Each request's session state holds the part of its
/// kind (an `Arc` clone, no allocation).
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Server(Arc<ServerBackend>),
    Cookie(Arc<CookieCodec>),
}

/// A server-side store and the signer of its id cookies.
#[derive(Debug)]
pub(crate) struct ServerBackend {
    pub(crate) store: ObservedStore,
    pub(crate) ids: IdSigner,
}

impl Backend {
    /// `keys[0]` is the current key; the rest are accepted when reading.
    pub(crate) fn new(kind: &BackendKind, keys: &[Key]) -> Self {
        match kind {
            BackendKind::Server(store) => Self::Server(Arc::new(ServerBackend {
                store: ObservedStore::sessions(Arc::clone(store)),
                ids: IdSigner::new(keys),
            })),
            BackendKind::Sealed => Self::Cookie(Arc::new(CookieCodec::sealed(keys))),
            BackendKind::Signed => Self::Cookie(Arc::new(CookieCodec::signed(keys))),
        }
    }
}
