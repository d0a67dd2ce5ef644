//! The one list of stores the per-store tests run over: each kind of backend, made fresh
//! (its own tables, key prefix or directory) for each test.

use crate::{
    key, postgres_store, redis_cluster_nodes, redis_sentinels, redis_store, sqlite_store, unique,
};
use std::sync::Arc;
use typed_sessions::{CookieBackend, FileStore, MemoryStore, RedisStore, SessionLayer, Store};

/// A kind of backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// `MemoryStore`.
    Memory,
    /// `FileStore`, in a directory of its own.
    File,
    /// `SqliteStore`, migrated.
    Sqlite,
    /// `RedisStore` on `REDIS_URL`, under a prefix of its own.
    Redis,
    /// `PostgresStore` on `DATABASE_URL`, in a table of its own.
    Postgres,
    /// `CookieBackend::sealed()`.
    SealedCookie,
    /// `CookieBackend::signed()`.
    SignedCookie,
}

impl StoreKind {
    /// Every backend, the server-side stores first.
    pub const ALL: [Self; 7] = [
        Self::Memory,
        Self::File,
        Self::Sqlite,
        Self::Redis,
        Self::Postgres,
        Self::SealedCookie,
        Self::SignedCookie,
    ];

    /// The stores that keep sessions on the server.
    pub const SERVER: [Self; 5] = [
        Self::Memory,
        Self::File,
        Self::Sqlite,
        Self::Redis,
        Self::Postgres,
    ];

    /// Whether sessions live in a server-side store (else in the cookie).
    pub fn is_server(self) -> bool {
        Self::SERVER.contains(&self)
    }

    /// A fresh store of this kind, files and SQLite under `dir`; `None` for a cookie
    /// backend, which is no store.
    pub async fn store(self, dir: &tempfile::TempDir) -> Option<Arc<dyn Store>> {
        let store: Arc<dyn Store> = match self {
            Self::Memory => Arc::new(MemoryStore::new()),
            Self::File => Arc::new(FileStore::open(dir.path().join(unique("files-"))).unwrap()),
            Self::Sqlite => Arc::new(sqlite_store(dir).await),
            Self::Redis => Arc::new(redis_store().await),
            Self::Postgres => Arc::new(postgres_store().await),
            Self::SealedCookie | Self::SignedCookie => return None,
        };
        Some(store)
    }

    /// A layer on a fresh backend of this kind, with the tests' key.
    pub async fn layer(self, dir: &tempfile::TempDir) -> SessionLayer {
        match self {
            Self::SealedCookie => SessionLayer::new(CookieBackend::sealed(), &key()),
            Self::SignedCookie => SessionLayer::new(CookieBackend::signed(), &key()),
            server => SessionLayer::new(server.store(dir).await.expect("a store"), &key()),
        }
    }
}

/// A fresh store of each server-side kind.
pub async fn every_server_store(dir: &tempfile::TempDir) -> Vec<(StoreKind, Arc<dyn Store>)> {
    let mut stores = Vec::new();
    for kind in StoreKind::SERVER {
        stores.push((kind, kind.store(dir).await.expect("a store")));
    }
    stores
}

/// A layer on a fresh backend of each kind, cookie backends included.
pub async fn every_layer(dir: &tempfile::TempDir) -> Vec<(StoreKind, SessionLayer)> {
    let mut layers = Vec::new();
    for kind in StoreKind::ALL {
        layers.push((kind, kind.layer(dir).await));
    }
    layers
}

/// `urls` as the `&str`s the Redis constructors take.
pub fn strs(urls: &[String]) -> Vec<&str> {
    urls.iter().map(String::as_str).collect()
}

/// A store on the tests' shared Redis Cluster, under a key prefix of its own.
pub async fn redis_cluster_store() -> RedisStore {
    RedisStore::connect_cluster(&strs(&redis_cluster_nodes()))
        .await
        .expect("valid URLs")
        .with_prefix(unique("test:"))
}

/// A store on the tests' shared Sentinel set-up, under a key prefix of its own.
pub async fn redis_sentinel_store() -> RedisStore {
    RedisStore::connect_sentinel(&strs(&redis_sentinels()), "mymaster")
        .await
        .expect("valid URLs")
        .with_prefix(unique("test:"))
}
