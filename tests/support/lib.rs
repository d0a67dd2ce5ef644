//! Helpers for the integration tests, one module per concern: an in-process client
//! (`client`), a store that counts and fails on demand (`probe`), captured logs (`logs`),
//! the store servers (`servers`), the Redis Cluster and Sentinel set-ups (`deployments`), a TCP proxy that cuts or stalls connections (`proxy`),
//! and forged cookies (`forgery`).

mod bearer;
mod client;
mod deployments;
mod forgery;
mod logs;
mod probe;
mod proxy;
mod servers;

pub use bearer::BearerClient;
pub use client::{Client, Reply, send, send_request, view_with};
pub use deployments::{
    RedisCluster, RedisSentinel, command_calls, redis_cluster_nodes, redis_on, redis_sentinels,
    until_replicated,
};
pub use forgery::{IdCookies, assert_each_gives_a_fresh_session, single_character_changes};
pub use logs::{Logs, capture_logs};
pub use probe::{Counts, ProbeStore};
pub use proxy::TcpProxy;
#[cfg(unix)]
pub use servers::PostgresServer;
pub use servers::{
    RedisServer, calls_between, database_url, postgres_store, redis_store, redis_url, sqlite_store,
    unique,
};

/// The bytes of [`key`].
pub const SECRET: [u8; 64] = [0x5e; 64];

/// A fixed 64-byte test secret.
pub fn key() -> session::Key {
    session::Key::from_secret(&SECRET).expect("64 bytes")
}

/// `name` as an owner; test owners are valid.
pub fn owner(name: &str) -> session::Owner {
    session::Owner::new(name).expect("a valid owner")
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
