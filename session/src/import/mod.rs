//! Taking over the live sessions of [tower-sessions], so that switching to this crate logs
//! nobody out.
//!
//! With [`SessionLayer::with_tower_sessions_import`](crate::SessionLayer::with_tower_sessions_import),
//! a request that brings no session of this layer but a tower-sessions cookie (plain,
//! signed or private, given tower-sessions' key) has that session's record taken from
//! tower-sessions' own store, in its own layout ([`TowerSessionsSource`]): the record is
//! deleted in the same step, so a cookie opens it once. The request then goes on with a new
//! session of this layer holding the record's data, and its response sets this layer's
//! cookie in place of tower-sessions' one. A tower-sessions cookie is never counted as a
//! forged token.
//!
//! tower-sessions keeps a session as a map of JSON values (`session.insert("cart", &cart)`);
//! here the value under a key named like a struct's namespace becomes that struct: its
//! fields are read from the JSON object (with each field type's `Deserialize`), and the
//! first request that extracts the struct saves them as its own. A
//! [mapping](TowerSessionsImport::with_mapping) can move values between keys first, for
//! data that was not kept one struct per key.
//!
//! A tower-sessions session is imported as a session of this layer, under this layer's
//! expiry settings from the import on (tower-sessions' `OnInactivity` expiry would have
//! renewed it on that request too); one that had expired is not imported.
//!
//! ```
//! # #[cfg(feature = "postgres")]
//! # async fn example(pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
//! use typed_sessions::import::{TowerSessionsImport, TowerSessionsPostgres};
//! use typed_sessions::{Key, PostgresStore, SessionLayer};
//!
//! let key = Key::from_secret(&[42; 64])?;
//! let store = PostgresStore::from_pool(pool.clone());
//! // tower-sessions-sqlx-store's table, "tower_sessions"."session"; its cookie `id`, unsigned.
//! let import = TowerSessionsImport::new(TowerSessionsPostgres::new(pool));
//! let layer = SessionLayer::new(store, &key).with_tower_sessions_import(import);
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```
//!
//! The import lives where the layering puts each part: `import/` (its settings, tower-sessions'
//! cookie and record, the stores it is taken from), `request/import.rs` (a request taking one
//! over) and `typed/imported.rs` (a struct's fields read from the imported data).
//!
//! [tower-sessions]: https://docs.rs/tower-sessions

mod cookie;
mod record;
mod sources;

#[cfg(feature = "postgres")]
pub use sources::TowerSessionsPostgres;
#[cfg(feature = "redis")]
pub use sources::TowerSessionsRedis;
pub use sources::TowerSessionsSource;
#[cfg(feature = "sqlite")]
pub use sources::TowerSessionsSqlite;

pub(crate) use record::Imported;

use crate::error::InvalidKeyError;
use crate::store::StoreError;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A rewrite of tower-sessions' data before it becomes a session of this layer.
type Mapping = dyn Fn(&mut Map<String, Value>) + Send + Sync;

/// Where tower-sessions' sessions are, and how its cookie is made: what
/// [`SessionLayer::with_tower_sessions_import`](crate::SessionLayer::with_tower_sessions_import)
/// takes.
#[must_use = "an import does nothing until the layer is given it"]
pub struct TowerSessionsImport {
    source: Arc<dyn TowerSessionsSource>,
    cookie_name: Cow<'static, str>,
    cookie: cookie::Protection,
    mapping: Option<Arc<Mapping>>,
}

impl TowerSessionsImport {
    /// Sessions whose records are in `source`, named by tower-sessions' default cookie:
    /// `id`, unsigned.
    pub fn new(source: impl TowerSessionsSource) -> Self {
        Self {
            source: Arc::new(source),
            cookie_name: Cow::Borrowed("id"),
            cookie: cookie::Protection::Plain,
            mapping: None,
        }
    }

    /// The name of tower-sessions' cookie (its `with_name`); default `id`.
    pub fn with_cookie_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// tower-sessions signed its cookie (`with_signed(key)`) with this key: its 64 bytes.
    ///
    /// # Errors
    /// [`InvalidKeyError`] for a key shorter than 64 bytes.
    pub fn with_signed_key(mut self, key: &[u8]) -> Result<Self, InvalidKeyError> {
        self.cookie = cookie::Protection::Signed(cookie::key(key)?);
        Ok(self)
    }

    /// tower-sessions encrypted its cookie (`with_private(key)`) with this key: its 64
    /// bytes.
    ///
    /// # Errors
    /// [`InvalidKeyError`] for a key shorter than 64 bytes.
    pub fn with_private_key(mut self, key: &[u8]) -> Result<Self, InvalidKeyError> {
        self.cookie = cookie::Protection::Private(cookie::key(key)?);
        Ok(self)
    }

    /// Rewrites tower-sessions' data (its map of JSON values) before it becomes a session
    /// of this layer: move a value under the key of the struct that now holds it, rename a
    /// key, drop what is no longer wanted.
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # fn example(pool: sqlx::SqlitePool) {
    /// use serde_json::{Value, json};
    /// use typed_sessions::import::{TowerSessionsImport, TowerSessionsSqlite};
    ///
    /// // tower-sessions kept `"user_id": 42`; the `auth` struct now holds it as `user`.
    /// let import = TowerSessionsImport::new(TowerSessionsSqlite::new(pool)).with_mapping(|data| {
    ///     if let Some(user) = data.remove("user_id") {
    ///         data.insert("auth".into(), json!({ "user": user }));
    ///     }
    /// });
    /// # let _ = import;
    /// # }
    /// ```
    pub fn with_mapping(
        mut self,
        mapping: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static,
    ) -> Self {
        self.mapping = Some(Arc::new(mapping));
        self
    }

    /// Whether `value`, sent in this import's cookie, is a tower-sessions session id (the
    /// id itself for an unsigned cookie, a value that verifies or opens otherwise).
    pub(crate) fn id_in(&self, value: &str) -> Option<String> {
        self.cookie.id(&self.cookie_name, value)
    }

    pub(crate) fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// Takes the session named by tower-sessions id `id` out of its store: its data, mapped,
    /// if it is live.
    pub(crate) async fn take(&self, id: &str) -> Result<Option<Imported>, StoreError> {
        let Some(bytes) = self.source.take(id).await? else {
            return Ok(None);
        };
        let Some(mut imported) = Imported::decode(&bytes) else {
            tracing::warn!("a tower-sessions record does not decode; it was not imported");
            return Ok(None);
        };
        if let Some(mapping) = &self.mapping {
            mapping(&mut imported.data);
        }
        Ok(imported.is_live().then_some(imported))
    }
}

impl fmt::Debug for TowerSessionsImport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TowerSessionsImport")
            .field("source", &self.source)
            .field("cookie_name", &self.cookie_name)
            .field("cookie", &self.cookie)
            .field("mapping", &self.mapping.is_some())
            .finish()
    }
}
