//! What the runtime tells an operator: counters and histograms through the [`metrics`]
//! facade (feature `metrics`; without it every function here is empty and inlined away),
//! and a span per store call ([`ObservedStore`]).
//!
//! Nothing here ever sees a session id or a cookie: metric labels are the store's kind, the
//! operation and an outcome from a fixed list; spans name a session by its
//! [fingerprint](crate::Fingerprint).
//!
//! [`metrics`]: https://docs.rs/metrics

mod store;

pub(crate) use store::{ObservedStore, StoreCall};

/// The names of the metrics the crate records with feature `metrics`, each with its labels.
/// The `store` label is the store's [`name`](crate::Store::name) (`memory`, `file`,
/// `redis`, `postgres`, `sqlite`, `custom`), or `cookie` / `signed_cookie`.
///
/// ```
/// assert!(typed_sessions::metric_names::ALL.contains(&typed_sessions::metric_names::LOADS));
/// ```
pub mod names {
    /// Counter: sessions looked up, by `store` and `outcome` (`hit`, `miss`, `corrupt`,
    /// `expired`).
    pub const LOADS: &str = "session_loads_total";
    /// Counter: sessions created in their store, by `store`.
    pub const CREATES: &str = "session_creates_total";
    /// Counter: existing sessions saved, by `store`.
    pub const SAVES: &str = "session_saves_total";
    /// Counter: expiries refreshed without a save, by `store`.
    pub const TOUCHES: &str = "session_touches_total";
    /// Counter: sessions moved to a new id, by `store`.
    pub const ROTATIONS: &str = "session_rotations_total";
    /// Counter: ids retired by a periodic rotation and sent again after the grace window
    /// (a copy of the id exists: the session was ended under every id), by `store`.
    pub const REPLAYS: &str = "session_replays_total";
    /// Counter: records deleted, by `store`.
    pub const DELETES: &str = "session_deletes_total";
    /// Counter: saves that found another version stored, by `store`.
    pub const CONFLICTS: &str = "session_save_conflicts_total";
    /// Counter: saves retried after a conflict with another process, by `store`.
    pub const RETRIES: &str = "session_save_retries_total";
    /// Counter: saves given up after retrying for the contention budget (answered 503),
    /// by `store`.
    pub const CONTENTION_FAILURES: &str = "session_contention_failures_total";
    /// Counter: store calls that failed, by `store` and `operation`.
    pub const STORE_ERRORS: &str = "session_store_errors_total";
    /// Counter: session cookies or tokens that were sent but did not verify or open, by
    /// `store` and `reason` (`forged`: a signed id whose signature fails; `unopenable`: a
    /// cookie session that fails to open: forged, truncated, expired or made with a
    /// retired key).
    pub const REJECTED_TOKENS: &str = "session_rejected_tokens_total";
    /// Counter: sessions not saved because their cookie or token would be over the size
    /// limit, by `store`.
    pub const TOO_LARGE: &str = "session_too_large_total";
    /// Histogram: how long store calls take, in seconds, by `store` and `operation`
    /// (`load`, `save`, `touch`, `delete`, `owned`, `delete_owned`, and for revocation
    /// records `revocation_load`, `revocation_save`).
    pub const STORE_CALL_SECONDS: &str = "session_store_call_duration_seconds";
    /// Histogram: the size of records saved, in bytes, by `store`.
    pub const RECORD_BYTES: &str = "session_record_size_bytes";
    /// Histogram: the size of the session cookies or tokens sent, in bytes, by `store`.
    pub const COOKIE_BYTES: &str = "session_cookie_size_bytes";
    /// Gauge: live sessions ([`LiveSession`](crate::live::LiveSession)) open in this
    /// process, by `store`.
    pub const LIVE_SESSIONS: &str = "session_live_sessions";
    /// Counter: live sessions told that their session ended, by `store` and `reason`
    /// (`deleted`, `revoked`, `expired`).
    pub const LIVE_ENDINGS: &str = "session_live_endings_total";
    /// Counter: lifecycle events handed to the layer's
    /// [`EventSink`](crate::events::EventSink), by `store` and `outcome` (`delivered`,
    /// `dropped`).
    pub const EVENTS: &str = "session_events_total";

    /// Every name above.
    pub const ALL: &[&str] = &[
        LOADS,
        CREATES,
        SAVES,
        TOUCHES,
        ROTATIONS,
        REPLAYS,
        DELETES,
        CONFLICTS,
        RETRIES,
        CONTENTION_FAILURES,
        STORE_ERRORS,
        REJECTED_TOKENS,
        TOO_LARGE,
        STORE_CALL_SECONDS,
        RECORD_BYTES,
        COOKIE_BYTES,
        LIVE_SESSIONS,
        LIVE_ENDINGS,
        EVENTS,
    ];
}

/// How a lookup of a session went.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Loaded {
    /// A live session.
    Hit,
    /// No record (never created, deleted, or expired in the store).
    Miss,
    /// A record that does not decode.
    Corrupt,
    /// A record past the session's lifetime.
    Expired,
}

impl Loaded {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn label(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Corrupt => "corrupt",
            Self::Expired => "expired",
        }
    }
}

/// Adds one to counter `name` of `store`.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn count(name: &'static str, store: &'static str) {
    #[cfg(feature = "metrics")]
    recorded::counter(name, store, None);
}

/// Adds `amount` to counter `name` of `store`.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn count_many(name: &'static str, store: &'static str, amount: u64) {
    #[cfg(feature = "metrics")]
    recorded::counter_many(name, store, None, amount);
}

/// Adds one to counter `name` of `store`, with one more label.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn count_by(
    name: &'static str,
    store: &'static str,
    label: (&'static str, &'static str),
) {
    #[cfg(feature = "metrics")]
    recorded::counter(name, store, Some(label));
}

/// Moves gauge `name` of `store` by `delta`.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn gauge(name: &'static str, store: &'static str, delta: f64) {
    #[cfg(feature = "metrics")]
    recorded::gauge(name, store, delta);
}

/// A lookup of a session of `store`.
#[inline]
pub(crate) fn loaded(store: &'static str, outcome: Loaded) {
    count_by(names::LOADS, store, ("outcome", outcome.label()));
}

/// A session cookie or token of `store` that was sent but did not verify (`forged`) or
/// open (`unopenable`).
#[inline]
pub(crate) fn rejected(store: &'static str, reason: &'static str) {
    count_by(names::REJECTED_TOKENS, store, ("reason", reason));
}

/// Records a size in bytes in histogram `name` of `store`.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn size(name: &'static str, store: &'static str, bytes: usize) {
    #[cfg(feature = "metrics")]
    #[allow(clippy::cast_precision_loss)] // sizes are far below 2^52
    recorded::histogram(name, store, None, bytes as f64);
}

/// Recording without allocating or hashing: the `metrics` macros build a key's label list
/// on every call (an allocation per metric, with or without a recorder), and a `Key` hashes
/// its name and labels as it is built. Keys here come from a small fixed set (metric names,
/// store kinds, operations, outcomes), so each is built once per thread, kept for the life
/// of the process, and handed to the recorder as it is. Looking one up compares pointers
/// first: the names are constants.
#[cfg(feature = "metrics")]
pub(crate) mod recorded {
    use metrics::{Key, Label, Level, Metadata};
    use std::cell::RefCell;

    static METADATA: Metadata<'static> =
        Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

    type Extra = Option<(&'static str, &'static str)>;

    fn same_extra(a: Extra, b: Extra, eq: fn(&str, &str) -> bool) -> bool {
        match (a, b) {
            (Some((k1, v1)), Some((k2, v2))) => eq(k1, k2) && eq(v1, v2),
            (None, None) => true,
            _ => false,
        }
    }

    /// The cache's first pass: the names are constants, found by address and length.
    fn by_address(a: &str, b: &str) -> bool {
        std::ptr::eq(a, b)
    }

    fn by_text(a: &str, b: &str) -> bool {
        a == b
    }

    /// The key of metric `name` with labels `store=…` (and `extra`), from this thread's
    /// cache.
    fn key(name: &'static str, store: &'static str, extra: Extra) -> &'static Key {
        type Cached = (&'static str, &'static str, Extra, &'static Key);
        thread_local! {
            static CACHE: RefCell<Vec<Cached>> = const { RefCell::new(Vec::new()) };
        }
        CACHE.with_borrow_mut(|cache| {
            // By address first: comparing the text of every entry that differs would cost
            // more than the rest of the metric call.
            let found = [by_address, by_text].into_iter().find_map(|eq| {
                cache
                    .iter()
                    .find(|(n, s, e, _)| eq(n, name) && eq(s, store) && same_extra(*e, extra, eq))
            });
            if let Some((_, _, _, key)) = found {
                return *key;
            }
            let mut labels = vec![Label::from_static_parts("store", store)];
            if let Some((key, value)) = extra {
                labels.push(Label::from_static_parts(key, value));
            }
            let labels: &'static [Label] = Vec::leak(labels);
            let key: &'static Key = Box::leak(Box::new(Key::from_static_parts(name, labels)));
            cache.push((name, store, extra, key));
            key
        })
    }

    pub(crate) fn counter(name: &'static str, store: &'static str, extra: Extra) {
        counter_many(name, store, extra, 1);
    }

    pub(crate) fn counter_many(name: &'static str, store: &'static str, extra: Extra, by: u64) {
        let key = key(name, store, extra);
        metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(by));
    }

    pub(crate) fn gauge(name: &'static str, store: &'static str, delta: f64) {
        let key = key(name, store, None);
        metrics::with_recorder(|recorder| {
            recorder.register_gauge(key, &METADATA).increment(delta);
        });
    }

    pub(crate) fn histogram(name: &'static str, store: &'static str, extra: Extra, value: f64) {
        let key = key(name, store, extra);
        metrics::with_recorder(|recorder| {
            recorder.register_histogram(key, &METADATA).record(value)
        });
    }
}

/// Nanoseconds since the first call in this process: a monotonic clock in 8 bytes.
#[cfg(feature = "metrics")]
#[allow(clippy::cast_possible_truncation)] // 584 years of uptime
fn clock() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}

/// Whether metrics are compiled in: work done only to feed them (such as looking for a
/// cookie that failed to open) is skipped without.
pub(crate) const ENABLED: bool = cfg!(feature = "metrics");
