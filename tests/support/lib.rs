//! Helpers for the integration tests, one module per concern: an in-process client
//! (`client`), a store that counts and fails on demand (`probe`), captured logs (`logs`),
//! the store servers (`servers`), the Redis Cluster and Sentinel set-ups (`deployments`), a TCP proxy that cuts or stalls connections (`proxy`),
//! and forged cookies (`forgery`).

mod app;
mod bearer;
mod client;
mod deployments;
mod forgery;
mod hits;
mod logs;
mod matrix;
mod owner_routes;
mod probe;
mod proxy;
mod scenarios;
mod servers;

pub use app::{Device, View, Visitor, app, app_with_csrf};
pub use bearer::BearerClient;
pub use client::{Client, Reply, send, send_request, view_with};
pub use deployments::{
    RedisCluster, RedisSentinel, command_calls, redis_cluster_nodes, redis_on, redis_sentinels,
    until_replicated,
};
pub use forgery::{IdCookies, assert_each_gives_a_fresh_session, single_character_changes};
pub use hits::{Hits, hits};
pub use logs::{Logs, capture_logs};
pub use matrix::{
    StoreKind, every_layer, every_server_store, redis_cluster_store, redis_sentinel_store, strs,
};
pub use owner_routes::{OwnedVisit, instances, listed, me, owner_routes};
pub use probe::{Counts, ProbeStore};
pub use proxy::TcpProxy;
pub use scenarios::{
    a_hot_session_loses_no_update, different_fields_are_both_kept, login_flow, save_records,
    slow_requests_never_revive_an_ended_session, spawn_all, two_instances,
};
#[cfg(unix)]
pub use servers::PostgresServer;
pub use servers::{
    RedisServer, calls_between, database_url, postgres_store, redis_store, redis_url, sqlite_store,
    unique, unused_port,
};

/// The bytes of [`key`].
pub const SECRET: [u8; 64] = [0x5e; 64];

/// A fixed 64-byte test secret.
pub fn key() -> typed_sessions::Key {
    typed_sessions::Key::from_secret(&SECRET).expect("64 bytes")
}

/// `name` as an owner; test owners are valid.
pub fn owner(name: &str) -> typed_sessions::Owner {
    typed_sessions::Owner::new(name).expect("a valid owner")
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;

/// SECURITY.md's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../SECURITY.md")]
pub struct SecurityExamples;

/// Every `.rs` file under `dir`, recursively, appended to `out`.
pub fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}
