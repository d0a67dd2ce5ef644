//! Typed, lazy, signed sessions for axum.
#![cfg_attr(docsrs, feature(doc_cfg))]
//!
//! Derive [`Session`](macro@Session) on a plain struct, add a [`SessionLayer`] to the
//! router, and extract [`Session<T>`](struct@Session) in handlers:
//!
//! ```
//! use axum::{Router, routing::get};
//! use typed_sessions::{FileStore, Key, Session, SessionLayer};
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
//! let store = FileStore::open(dir)?;
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

// The crate root is a facade: the modules, and the names users touch. Inside the crate,
// code imports from the defining modules (ARCHITECTURE.md draws their rows).
mod accounts;
pub mod admin;
mod announce;
mod backend;
mod builtin;
mod cache;
mod chain;
mod config;
mod cookie;
mod crypto;
pub mod csrf;
pub mod dbsc;
mod device;
pub mod encryption;
pub mod error;
pub mod events;
mod extract;
pub mod guide;
mod hub;
mod id;
#[cfg(feature = "tower-sessions-import")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower-sessions-import")))]
pub mod import;
pub mod layer;
pub mod live;
mod observe;
mod record;
mod request;
pub mod store;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test;
mod time;
mod transport;
mod typed;

#[cfg(test)]
mod proptests;

// The derive's generated code names `::typed_sessions::...`; this lets the crate's own unit tests
// derive sessions too.
#[cfg(test)]
extern crate self as typed_sessions;

pub use ::cookie::SameSite;
pub use accounts::{Accounts, ActiveSession};
pub use config::{OverLimit, SaveMode};
pub use cookie::CookieBackend;
pub use crypto::Key;
#[doc(inline)]
pub use csrf::{CsrfLayer, CsrfToken};
#[doc(inline)]
pub use error::Error;
pub use extract::{Flash, Fresh, Session};
pub use id::{Fingerprint, Owner};
#[doc(inline)]
pub use layer::SessionLayer;
pub use observe::names as metric_names;
#[cfg(feature = "postgres")]
#[doc(inline)]
pub use store::PostgresStore;
#[cfg(feature = "redis")]
#[doc(inline)]
pub use store::RedisStore;
#[cfg(feature = "sqlite")]
#[doc(inline)]
pub use store::SqliteStore;
#[doc(inline)]
pub use store::{FileStore, MemoryStore, Store};
pub use transport::Transport;
pub use typed::SessionData;

/// Derives [`SessionData`], making a struct usable as [`Session<T>`](struct@Session).
///
/// For each field `name: Ty`, a type `<Struct>Fields` generated beside the struct (with its
/// visibility; `Session<T>` dereferences to it) gets these methods, each with the field's
/// own visibility:
///
/// | method | does |
/// |---|---|
/// | `name(&self) -> Ty` | a clone of the value (only for `Ty: Clone`) |
/// | `set_name(&self, value: Ty)` | replaces it and marks the field changed |
/// | `update_name(&self, f: impl FnMut(&mut Ty) -> R + Send + 'static) -> R` | changes it in place, marks it changed (unless `f` left it as it was: `Option::take` on `None` saves nothing); replayed on the stored value if another request saved meanwhile |
/// | `view_name(&self, f: impl FnOnce(&Ty) -> R) -> R` | borrows it (`with_*` names are only ever builders) |
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
/// `persist`, `delete`, `invalidate`, `cycle_id`, `owner`, `sessions`, `revoke`, and the
/// others listed on [`Session`](struct@Session)), fields whose accessors would clash, field
/// types that are not `Serialize + DeserializeOwned`, and fields without a default when the
/// struct has no `Default`.
///
/// The derive on `Visit` declares `VisitFields` in `Visit`'s module, so no other item there
/// may have that name.
///
/// Every instantiation of a generic struct shares its namespace: use one instantiation per
/// session, or wrap each in its own struct.
///
/// ```
/// use typed_sessions::Session;
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
pub use typed_sessions_derive::Session;

/// What the derive's generated code calls; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::record::Record;
    pub use crate::typed::{
        Changes, SharedFields, Unavailable, decode_field, encode_into, struct_default,
    };
    pub use serde;
}

/// Hooks for the project's own benchmarks and fuzz targets, behind the `__internals`
/// feature: not part of the API, not compiled into a user's build.
#[cfg(feature = "__internals")]
#[doc(hidden)]
pub mod internals;
