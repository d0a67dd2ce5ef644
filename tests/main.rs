//! One test binary (one link) for every integration test.

mod accounts;
mod architecture;
mod bearer;
mod caching;
mod concurrency;
mod cookies;
mod credentials;
mod csrf;
mod docs;
mod flash;
mod fuzz_inputs;
mod owner_index;
mod owners;
mod redis;
mod redis_deployments;
mod revocation;
mod security;
mod semantics;
mod shared_stores;
mod sql;
mod store_security;
mod stores;
mod tcp;
mod test_util;
mod typed;
