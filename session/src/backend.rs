//! Where a layer keeps sessions: a server-side [`Store`] behind a signed id cookie, or the
//! cookie itself ([`CookieBackend`]).

use crate::cookie::codec::CookieCodec;
use crate::cookie::signed_id::IdSigner;
use crate::cookie::{CookieBackend, Sealing};
use crate::crypto::key::Key;
use crate::observe::ObservedStore;
use crate::store::Store;
use std::sync::Arc;

/// What [`SessionLayer::new`](crate::SessionLayer::new) takes: any [`Store`] (the cookie
/// then holds a signed id), or a [`CookieBackend`] (the cookie holds the session). Sealed:
/// a new kind of storage is a new `Store`.
pub trait Backend: sealed::Sealed + Send + Sync + 'static {}

mod sealed {
    /// How each backend becomes a [`super::BackendKind`].
    pub trait Sealed {
        fn into_kind(self) -> super::BackendKind;
    }
}

impl<S: Store> Backend for S {}
impl<S: Store> sealed::Sealed for S {
    fn into_kind(self) -> BackendKind {
        BackendKind::Server(Arc::new(self))
    }
}

impl Backend for CookieBackend {}
impl sealed::Sealed for CookieBackend {
    fn into_kind(self) -> BackendKind {
        BackendKind::Cookie(self.sealing)
    }
}

/// The backend as chosen, before keys are applied.
#[derive(Clone, Debug)]
pub enum BackendKind {
    Server(Arc<dyn Store>),
    Cookie(Sealing),
}

impl BackendKind {
    pub(crate) fn of(backend: impl Backend) -> Self {
        sealed::Sealed::into_kind(backend)
    }
}

/// The backend with its keys derived. Each request's session state holds the part of its
/// kind (an `Arc` clone, no allocation).
#[derive(Clone, Debug)]
pub(crate) enum KeyedBackend {
    Server(Arc<ServerBackend>),
    Cookie(Arc<CookieCodec>),
}

/// A server-side store and the signer of its id cookies.
#[derive(Debug)]
pub(crate) struct ServerBackend {
    pub(crate) store: ObservedStore,
    pub(crate) ids: IdSigner,
}

impl KeyedBackend {
    /// The store's kind, as metrics label it (`cookie`, `signed_cookie` for cookies).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Server(backend) => backend.store.name(),
            Self::Cookie(codec) => codec.name(),
        }
    }

    /// `keys[0]` is the current key; the rest are accepted when reading.
    pub(crate) fn new(kind: &BackendKind, keys: &[Key]) -> Self {
        match kind {
            BackendKind::Server(store) => Self::Server(Arc::new(ServerBackend {
                store: ObservedStore::sessions(Arc::clone(store)),
                ids: IdSigner::new(keys),
            })),
            BackendKind::Cookie(Sealing::Sealed) => {
                Self::Cookie(Arc::new(CookieCodec::sealed(keys)))
            }
            BackendKind::Cookie(Sealing::Signed) => {
                Self::Cookie(Arc::new(CookieCodec::signed(keys)))
            }
        }
    }
}
