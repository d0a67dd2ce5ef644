//! A store's calls, each in a span inside the request's, timed, and counted by outcome.

#[cfg(feature = "metrics")]
use super::names;
use crate::id::{Fingerprint, Owner, StorageKey};
use crate::store::{
    BoxFuture, CreateOutcome, OwnedRecord, ReplaceOutcome, SaveOutcome, Store, StoreError,
    StoredRecord, Version,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::SystemTime;
use tracing::field::Empty;

mod outcome;
pub(crate) use outcome::Outcome;

/// A store with its calls observed. Methods of the store's names return the store's own
/// boxed future inside a small [`StoreCall`]: observing adds no allocation, and little to
/// the size of the commit's future (which must fit the allocator's per-thread cache).
#[derive(Clone, Debug)]
pub(crate) struct ObservedStore {
    store: Arc<dyn Store>,
    name: &'static str,
    /// Counts session metrics (creates, saves, touches, deletes): not for revocation times.
    sessions: bool,
    /// The `operation` labels of its calls.
    operations: &'static Operations,
}

/// The `operation` label of each call.
#[derive(Debug)]
struct Operations {
    load: &'static str,
    save: &'static str,
    touch: &'static str,
    delete: &'static str,
    owned: &'static str,
    delete_owned: &'static str,
}

const SESSION_OPERATIONS: Operations = Operations {
    load: "load",
    save: "save",
    touch: "touch",
    delete: "delete",
    owned: "owned",
    delete_owned: "delete_owned",
};

const REVOCATION_OPERATIONS: Operations = Operations {
    load: "revocation_load",
    save: "revocation_save",
    touch: "revocation_touch",
    delete: "revocation_delete",
    owned: "revocation_owned",
    delete_owned: "revocation_delete_owned",
};

impl ObservedStore {
    /// The store of a layer's sessions.
    pub(crate) fn sessions(store: Arc<dyn Store>) -> Self {
        let name = store.name();
        Self {
            store,
            name,
            sessions: true,
            operations: &SESSION_OPERATIONS,
        }
    }

    /// The store of cookie sessions' revocation epochs: its calls are traced, timed and
    /// their errors counted (as `revocation_load`, ...), but not as sessions.
    pub(crate) fn revocations(store: Arc<dyn Store>) -> Self {
        Self::sessions(store).for_revocations()
    }

    /// This store, for calls on revocation records (of a server store, which keeps them
    /// beside the sessions): labelled `revocation_*`, not counted as sessions, and their
    /// spans name no key (a revocation record's key is a hash of its owner).
    pub(crate) fn for_revocations(&self) -> Self {
        Self {
            sessions: false,
            operations: &REVOCATION_OPERATIONS,
            ..self.clone()
        }
    }

    /// Where the store reports the owners' sessions it found expired, if it does.
    pub(crate) fn expired_owned(&self) -> Option<&crate::store::ExpiredOwned> {
        self.store.expired_owned()
    }

    /// The store's channel between instances, if it has one.
    pub(crate) fn broadcast(&self) -> Option<Arc<dyn crate::store::Broadcast>> {
        self.store.broadcast()
    }

    /// The store's kind, as metrics and spans label it.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn load<'a>(&'a self, key: &'a StorageKey) -> StoreCall<'a, Option<StoredRecord>> {
        StoreCall::new(self, Op::Load, Some(key), 0, self.store.load(key))
    }

    pub(crate) fn save<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&'a Owner>,
    ) -> StoreCall<'a, SaveOutcome> {
        let op = if expected.is_some() {
            Op::Save
        } else {
            Op::Create
        };
        let call = self.store.save(key, data, expires_at, expected, owner);
        StoreCall::new(self, op, Some(key), data.len(), call)
    }

    /// A replace, which answers the record stored now when it loses.
    pub(crate) fn replace<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> StoreCall<'a, ReplaceOutcome> {
        let call = self.store.replace(key, data, expires_at, expected, owner);
        StoreCall::new(self, Op::Save, Some(key), data.len(), call)
    }

    /// A replace whose version is known before it is sent, where the store pipelines them:
    /// that version, and the call.
    pub(crate) fn replace_pipelined<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> Option<(Version, StoreCall<'a, ReplaceOutcome>)> {
        let pipelined = self
            .store
            .replace_pipelined(key, data, expires_at, expected, owner)?;
        let call = StoreCall::new(self, Op::Save, Some(key), data.len(), pipelined.replace);
        Some((pipelined.version, call))
    }

    /// A create within `owner`'s session limit.
    pub(crate) fn create_owned<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        owner: &'a Owner,
        max: usize,
    ) -> StoreCall<'a, CreateOutcome> {
        let call = self.store.create_owned(key, data, expires_at, owner, max);
        StoreCall::new(self, Op::Create, Some(key), data.len(), call)
    }

    pub(crate) fn touch<'a>(
        &'a self,
        key: &'a StorageKey,
        expires_at: SystemTime,
        owner: Option<&'a Owner>,
    ) -> StoreCall<'a, bool> {
        let call = self.store.touch(key, expires_at, owner);
        StoreCall::new(self, Op::Touch, Some(key), 0, call)
    }

    pub(crate) fn delete<'a>(
        &'a self,
        key: &'a StorageKey,
        owner: Option<&'a Owner>,
    ) -> StoreCall<'a, bool> {
        StoreCall::new(
            self,
            Op::Delete,
            Some(key),
            0,
            self.store.delete(key, owner),
        )
    }

    /// An owner's sessions. Their span names no session.
    pub(crate) fn owned<'a>(&'a self, owner: &'a Owner) -> StoreCall<'a, Vec<OwnedRecord>> {
        StoreCall::new(self, Op::Owned, None, 0, self.store.owned(owner))
    }

    /// Removes an owner's sessions but `except`. Its span names no session.
    pub(crate) fn delete_owned<'a>(
        &'a self,
        owner: &'a Owner,
        except: Option<&'a StorageKey>,
    ) -> StoreCall<'a, u64> {
        let call = self.store.delete_owned(owner, except);
        StoreCall::new(self, Op::DeleteOwned, None, 0, call)
    }

    fn count(&self, counter: &'static str) {
        if self.sessions {
            super::count(counter, self.name);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Load,
    /// A save that creates (no version expected).
    Create,
    Save,
    Touch,
    Delete,
    Owned,
    DeleteOwned,
}

impl Op {
    fn label(self, operations: &Operations) -> &'static str {
        match self {
            Self::Load => operations.load,
            Self::Create | Self::Save => operations.save,
            Self::Touch => operations.touch,
            Self::Delete => operations.delete,
            Self::Owned => operations.owned,
            Self::DeleteOwned => operations.delete_owned,
        }
    }
}

/// One store call under way: the store's future, polled inside the call's span; when it
/// is done, its outcome is recorded on the span and counted.
#[must_use = "a store call does nothing until awaited"]
pub(crate) struct StoreCall<'a, T> {
    call: BoxFuture<'a, Result<T, StoreError>>,
    span: tracing::Span,
    store: &'a ObservedStore,
    op: Op,
    /// The bytes a save writes (a record is far below 4 GiB; larger counts as that).
    bytes: u32,
    /// When it started, in nanoseconds of [`super::clock`]: half an `Instant`, as this
    /// future is part of the commit's.
    #[cfg(feature = "metrics")]
    started: u64,
}

impl<'a, T: Outcome> StoreCall<'a, T> {
    fn new(
        store: &'a ObservedStore,
        op: Op,
        key: Option<&StorageKey>,
        bytes: usize,
        call: BoxFuture<'a, Result<T, StoreError>>,
    ) -> Self {
        // No span at all below the subscriber's level: a disabled one still goes through
        // `log` on creation, entry and each record when tracing's `log` feature is on (axum's
        // default `tower-log` turns it on), about 450 instructions a request for nothing.
        let span = if tracing::level_enabled!(tracing::Level::DEBUG) {
            tracing::debug_span!(
                "session.store",
                store = store.name,
                operation = op.label(store.operations),
                outcome = Empty,
                bytes = Empty,
                records = Empty,
                session = Empty,
            )
        } else {
            tracing::Span::none()
        };
        if !span.is_disabled() {
            if let Some(key) = key.filter(|_| store.sessions) {
                // Hashed only for a span someone listens to.
                span.record(
                    "session",
                    tracing::field::display(Fingerprint::of_storage_key(key)),
                );
            }
            if bytes > 0 {
                span.record("bytes", bytes);
            }
        }
        Self {
            call,
            span,
            store,
            op,
            bytes: u32::try_from(bytes).unwrap_or(u32::MAX),
            #[cfg(feature = "metrics")]
            started: super::clock(),
        }
    }

    fn end(&self, result: &Result<T, StoreError>) {
        let outcome = match result {
            Ok(value) => value.outcome(self),
            Err(_) => "error",
        };
        self.span.record("outcome", outcome);
        #[cfg(feature = "metrics")]
        {
            let (name, operation) = (self.store.name, self.op.label(self.store.operations));
            #[allow(clippy::cast_precision_loss)] // nanoseconds of one call, far below 2^52
            let seconds = super::clock().saturating_sub(self.started) as f64 / 1e9;
            let by = Some(("operation", operation));
            super::recorded::histogram(names::STORE_CALL_SECONDS, name, by, seconds);
            if result.is_err() {
                super::recorded::counter(names::STORE_ERRORS, name, by);
            }
        }
    }
}

impl<T: Outcome> Future for StoreCall<'_, T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let result = {
            let _entered = this.span.enter();
            ready!(this.call.as_mut().poll(cx))
        };
        this.end(&result);
        Poll::Ready(result)
    }
}
