//! The manual: how to use typed sessions, chapter by chapter.
//!
//! Each chapter is a page of documentation only (this module holds no code). Every Rust
//! example in it is compiled and run as a doctest, so the guide cannot drift from the API.
//!
//! 1. [Getting started](getting_started): install, the examples, a counter.
//! 2. [The typed session](typed): the derive, its accessors, and what a deploy may change.
//! 3. [Saving, deleting, rotating](saving): save modes, logout, `cycle_id`, concurrent
//!    requests.
//! 4. [Users and devices](owners): owners, listing and revoking sessions, limits, freshness,
//!    periodic rotation.
//! 5. [APIs, forms and messages](forms): bearer tokens, CSRF, flash messages.
//! 6. [Laziness](laziness) and [expiry]: what a request costs, and when a session
//!    ends.
//! 7. [Stores](stores): which store, their durability, Redis Cluster and Sentinel, writing
//!    your own.
//! 8. [Cookie sessions](cookie_sessions): no store at all.
//! 9. [Security](security): what the crate protects against, and how.
//! 10. [Metrics and traces](observability) and [reliability].
//! 11. [Testing handlers](testing) without a server.
//! 12. [Options](options): every setting of the layer.
//! 13. [Migrating from tower-sessions](migrating).
//! 14. [Live sessions and lifecycle events](live): WebSockets that follow their session,
//!     and events from the write path.
//! 15. [Encryption at rest](encryption): records a store dump does not show, and keys that
//!     rotate.

#[doc = include_str!("getting_started.md")]
pub mod getting_started {}

#[doc = include_str!("typed.md")]
pub mod typed {}

#[doc = include_str!("saving.md")]
pub mod saving {}

#[doc = include_str!("owners.md")]
pub mod owners {}

#[doc = include_str!("forms.md")]
pub mod forms {}

#[doc = include_str!("laziness.md")]
pub mod laziness {}

#[doc = include_str!("expiry.md")]
pub mod expiry {}

#[doc = include_str!("stores.md")]
pub mod stores {}

#[doc = include_str!("cookie_sessions.md")]
pub mod cookie_sessions {}

#[doc = include_str!("security.md")]
pub mod security {}

#[doc = include_str!("observability.md")]
pub mod observability {}

#[doc = include_str!("reliability.md")]
pub mod reliability {}

#[doc = include_str!("testing.md")]
pub mod testing {}

#[doc = include_str!("options.md")]
pub mod options {}

#[doc = include_str!("migrating.md")]
pub mod migrating {}

#[doc = include_str!("live.md")]
pub mod live {}
#[doc = include_str!("encryption.md")]
pub mod encryption {}
