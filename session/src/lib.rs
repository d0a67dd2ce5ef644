//! Typed, lazy, signed sessions for axum.
#![cfg_attr(docsrs, feature(doc_cfg))]
//!
//! Derive [`Session`](macro@Session) on a plain struct, add a [`SessionLayer`] to the
//! router, and extract [`Session<T>`] in handlers:
//!
//! ```
//! use axum::{Router, routing::get};
//! use session::{FileStore, Key, Session, SessionLayer};
//!
//! #[derive(Session, Default)]
//! struct Visit {
//!     count: u64,
//!     user: Option<String>,
//! }
//!
//! async fn index(visit: Session<Visit>) -> String {
//!     let n = visit.count() + 1;
//!     visit.set_count(n);
//!     format!("visits: {n}")
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join("session-doc-example");
//! let key = Key::from_secret(&[42; 64])?; // at least 64 bytes of secret
//! let store = FileStore::new(dir)?;
//! let app: Router = Router::new()
//!     .route("/", get(index))
//!     .layer(SessionLayer::new(store, &key));
//! # Ok(())
//! # }
//! ```
//!
//! - Each field is stored on its own (postcard bytes under a stable key), so adding,
//!   removing or retyping a field in a deploy keeps every other field of every session.
//! - Nothing is read from the store until a handler extracts the session, nothing is written
//!   unless it changed (see [`SaveMode`]), and a visitor who only reads gets no cookie.
//! - Id cookies are HMAC-SHA256 signed and checked before any store lookup; ids are 128
//!   random bits.
//! - Saves are compare-and-swap: two requests changing different fields both win, and a
//!   request that finishes after a logout cannot bring the session back.

mod backend;
mod config;
mod cookie_store;
mod data;
mod error;
mod extract;
mod id;
mod id_cookie;
mod key;
mod layer;
mod record;
mod request;
pub mod store;
mod typed;
mod xchacha;

#[cfg(test)]
mod proptests;
mod random;

pub use backend::SessionBackend;
pub use config::SaveMode;
pub use cookie::SameSite;
pub use cookie_store::{CookieStore, SignedCookieStore};
pub use data::SessionData;
pub use error::Error;
pub use extract::{Session, SessionRejection};
pub use id::SessionId;
pub use key::{Key, KeyError};
pub use layer::{ResponseFuture, SessionLayer, SessionService};
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
#[cfg(feature = "redis")]
pub use store::RedisStore;
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
pub use store::{FileStore, MemoryStore, Store, StoreError};

/// Derives [`SessionData`], making a struct usable as [`Session<T>`].
///
/// For each field `name: Ty` the handle behind `Session<T>` gets, with the field's own
/// visibility:
///
/// | method | does |
/// |---|---|
/// | `name(&self) -> Ty` | a clone of the value (only for `Ty: Clone`) |
/// | `set_name(&self, value: Ty)` | replaces it and marks the field changed |
/// | `update_name(&self, f: impl FnOnce(&mut Ty) -> R) -> R` | changes it in place, marks it changed |
/// | `with_name(&self, f: impl FnOnce(&Ty) -> R) -> R` | borrows it |
///
/// Every field type must be `Serialize + DeserializeOwned` (values are stored with postcard,
/// each field under its own key). A field missing from the stored session, or one that no
/// longer decodes because its type changed, takes its default: from the struct's `Default`
/// impl unless the field says otherwise.
///
/// # Attributes
/// - `#[session(namespace = "auth")]` on the struct: the prefix of its storage keys (default:
///   the struct's name). Structs with different namespaces share one session without
///   colliding; set it to keep sessions across a rename of the struct.
/// - `#[session(rename = "name")]` on a field: the name it is stored under (default: the
///   field's name), to keep stored sessions across a rename of the field.
/// - `#[session(default)]` on a field: its type's `Default`, instead of the struct's.
/// - `#[session(default = path::to::function)]` on a field: `function()` gives its default.
///
/// Storage names and namespaces use ASCII letters, digits, `_` and `-`.
///
/// # Rules
/// The derive takes structs with named fields (up to 64), `pub` or private, generic over
/// types, declared anywhere, including inside functions. It rejects, pointing at the
/// offending tokens: enums, unions, tuple and unit structs, lifetimes and const generics,
/// unknown, misplaced or repeated `#[session(..)]` keys (suggesting the closest valid one),
/// invalid or duplicate storage names, fields named after `Session`'s own methods (`save`,
/// `persist`, `delete`, `invalidate`, `cycle_id`), fields whose accessors would clash, field
/// types that are not `Serialize + DeserializeOwned`, and fields without a default when the
/// struct has no `Default`.
///
/// Every instantiation of a generic struct shares its namespace: use one instantiation per
/// session, or wrap each in its own struct.
///
/// ```
/// use session::Session;
///
/// fn guest() -> String {
///     "guest".to_owned()
/// }
///
/// #[derive(Session)]
/// #[session(namespace = "auth")]
/// struct Auth {
///     #[session(default = guest)]
///     user: String,
///     #[session(default, rename = "roles")]
///     permissions: Vec<String>,
/// }
/// ```
pub use session_derive::Session;

#[doc(hidden)]
#[path = "fuzz_checks.rs"]
pub mod __fuzz;

#[doc(hidden)]
pub mod __private {
    pub use crate::record::{Changes, Record, decode_field};
    pub use crate::typed::Fields;
    pub use serde;

    /// The struct's `Default`, for fields that take their default from it.
    #[must_use]
    pub fn struct_default<T: Default>() -> T {
        T::default()
    }

    /// The handle of a struct whose derive failed: it has no accessors.
    #[derive(Debug)]
    pub struct Unavailable;

    /// What a [`CookieStore`](crate::CookieStore) or
    /// [`SignedCookieStore`](crate::SignedCookieStore) does to a record, for benchmarks.
    #[derive(Debug)]
    pub struct CookieSealer(crate::cookie_store::CookieCodec);

    impl CookieSealer {
        /// Seals like [`CookieStore`](crate::CookieStore).
        #[must_use]
        pub fn sealed(key: &crate::Key) -> Self {
            Self(crate::cookie_store::CookieCodec::sealed(
                std::slice::from_ref(key),
            ))
        }

        /// Signs like [`SignedCookieStore`](crate::SignedCookieStore).
        #[must_use]
        pub fn signed(key: &crate::Key) -> Self {
            Self(crate::cookie_store::CookieCodec::signed(
                std::slice::from_ref(key),
            ))
        }

        /// The cookie value for `record`, valid for a minute.
        #[must_use]
        pub fn seal(&self, name: &str, record: &Record) -> String {
            let deadline = crate::record::unix_ms(std::time::SystemTime::now()) + 60_000;
            self.0.seal(name, record, deadline, None)
        }

        /// The record in `value`, if authentic and live.
        #[must_use]
        pub fn open(&self, name: &str, value: &str) -> Option<Record> {
            let now = crate::record::unix_ms(std::time::SystemTime::now());
            self.0.open(name, value, now).map(|opened| opened.record)
        }
    }

    /// Signs and verifies session-id cookies like a server-side store's layer, for
    /// benchmarks.
    #[derive(Debug)]
    pub struct IdCookie(crate::id_cookie::IdSigner);

    impl IdCookie {
        /// A signer for `key`.
        #[must_use]
        pub fn new(key: &crate::Key) -> Self {
            Self(crate::id_cookie::IdSigner::new(std::slice::from_ref(key)))
        }

        /// The cookie value for `id`.
        #[must_use]
        pub fn sign(&self, name: &str, id: &crate::SessionId) -> String {
            self.0.sign(name, id)
        }

        /// The id in `value`, if its tag verifies.
        #[must_use]
        pub fn verify(&self, name: &str, value: &str) -> Option<crate::SessionId> {
            self.0.verify(name, value).map(|verified| verified.id)
        }
    }

    /// The session id a request's `Cookie` headers carry for the cookie `name`, if any
    /// verifies: what the layer does before any store lookup. For fuzzing.
    #[must_use]
    pub fn find_session_id(
        id_cookie: &IdCookie,
        name: &str,
        headers: &http::HeaderMap,
    ) -> Option<crate::SessionId> {
        id_cookie.0.find(name, headers).map(|verified| verified.id)
    }

    /// Decodes an encoded record, for benchmarks.
    #[must_use]
    pub fn decode_record(bytes: &[u8]) -> Option<Record> {
        Record::decode(bytes).ok()
    }

    /// Encodes a record, for benchmarks.
    #[must_use]
    pub fn encode_record(record: &Record) -> Vec<u8> {
        record.encode()
    }

    /// A record holding `fields` as already-encoded bytes, for benchmarks.
    #[must_use]
    pub fn record(fields: &[(&'static str, Vec<u8>)]) -> Record {
        let mut record = Record::new(std::time::SystemTime::now());
        record.apply(fields.iter().map(|(key, value)| (*key, value.as_slice())));
        record
    }
}
