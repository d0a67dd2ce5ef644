//! Every decision of a commit, without a router: each save mode x each situation a request
//! can leave its session in x both kinds of backend, the refresh rule, and the cookie each
//! outcome sends.

use super::state::{Current, Decision, Ending, Kind, State, Stored};
use super::token_out::CookieOut;
use crate::Session;
use crate::backend::BackendKind;
use crate::config::{Config, SaveMode};
use crate::crypto::Key;
use crate::id::SessionId;
use crate::record::Record;
use crate::store::MemoryStore;
use crate::store::Version;
use crate::transport::Via;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[derive(Session, Default)]
struct Cart {
    items: u32,
}

const MODES: [SaveMode; 3] = [SaveMode::Changed, SaveMode::Explicit, SaveMode::Auto];
const IDLE: Duration = Duration::from_secs(30 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Server,
    Cookie,
}

fn config(backend: Backend, mode: SaveMode) -> Config {
    let kind = match backend {
        Backend::Server => BackendKind::Server(Arc::new(MemoryStore::new())),
        Backend::Cookie => BackendKind::Cookie(crate::cookie::Sealing::Sealed),
    };
    let mut config = Config::new(kind, &Key::from_secret(&[5; 64]).unwrap());
    config.save_mode = mode;
    config.idle_timeout = IDLE;
    config
}

/// Where a request left its session.
#[derive(Clone, Copy, Debug)]
enum Situation {
    /// No session cookie, session untouched.
    New,
    /// No session cookie, a field set.
    NewChanged,
    /// No session cookie, `save()` called.
    NewSaveCalled,
    /// A live session, only read.
    Existing,
    /// A live session, a field set.
    ExistingChanged,
    /// A live session, read after its expiry moved past the refresh interval.
    ExistingRefreshDue,
    /// A live session whose cookie was made with a previous key.
    ExistingOldKey,
    /// A live session, a field set, then `delete()`.
    Deleted,
    /// A live session, `cycle_id()`.
    Rotated,
    /// A live session, `invalidate()`.
    Invalidated,
    /// A live session, `invalidate()`, then a field set.
    InvalidatedChanged,
    /// Server stores: another request ended the session while this one saved it.
    Gone,
}

fn existing(config: &Config, now: SystemTime, expires_at: SystemTime) -> State {
    let mut state = State::fresh(Record::new(now), &config.backend, Via::Cookie);
    state.expires_at = Some(expires_at);
    match &mut state.kind {
        Kind::Server(server) => {
            let id = SessionId::random();
            server.client_id = Some(id);
            server.stored = Stored::Live(Current {
                id,
                key: id.storage_key(),
                version: Version::new(1),
            });
        }
        Kind::Cookie(cookie) => {
            cookie.from_client = true;
            cookie.stored = Stored::Live(());
        }
    }
    state
}

fn set_items(state: &mut State) {
    state
        .view::<Cart>()
        .fields()
        .write(0, |cart| cart.items += 1);
}

/// The state a request leaves in `situation`, as of `now`; `None` where the backend has no
/// such situation.
fn state(config: &Config, situation: Situation, now: SystemTime) -> Option<State> {
    let fresh = now + IDLE;
    let mut state = match situation {
        Situation::New | Situation::NewChanged | Situation::NewSaveCalled => {
            State::fresh(Record::new(now), &config.backend, Via::Cookie)
        }
        Situation::ExistingRefreshDue => existing(config, now, now + IDLE / 2),
        _ => existing(config, now, fresh),
    };
    match situation {
        Situation::New | Situation::Existing | Situation::ExistingRefreshDue => {
            state.view::<Cart>();
        }
        Situation::NewChanged | Situation::ExistingChanged => set_items(&mut state),
        Situation::NewSaveCalled => state.save_requested = true,
        Situation::ExistingOldKey => state.old_key = true,
        Situation::Deleted => {
            set_items(&mut state);
            state.end(Ending::Deleted, now);
        }
        Situation::Rotated => state.cycle_id(),
        Situation::Invalidated => state.end(Ending::Invalidated, now),
        Situation::InvalidatedChanged => {
            state.end(Ending::Invalidated, now);
            set_items(&mut state);
        }
        Situation::Gone => {
            let Kind::Server(server) = &mut state.kind else {
                return None;
            };
            server.stored = Stored::Gone;
        }
    }
    Some(state)
}

use Decision::{Nothing as N, Save as S};

/// `T`: a touch (a server store renews the expiry; a cookie is sealed again).
const T: Decision = Decision::Touch(SystemTime::UNIX_EPOCH);

/// The decision for each mode (Changed, Explicit, Auto), on server stores and on cookies.
const TABLE: &[(Situation, [Decision; 3], [Decision; 3])] = &[
    (Situation::New, [N, N, N], [N, N, N]),
    (Situation::NewChanged, [S, N, S], [S, N, S]),
    (Situation::NewSaveCalled, [S, S, S], [S, S, S]),
    (Situation::Existing, [N, N, S], [N, N, S]),
    (Situation::ExistingChanged, [S, N, S], [S, N, S]),
    (Situation::ExistingRefreshDue, [T, T, S], [T, T, S]),
    // A server store's id cookie is re-signed without touching the record.
    (Situation::ExistingOldKey, [N, N, S], [T, T, S]),
    (Situation::Deleted, [N, N, N], [N, N, N]),
    (Situation::Rotated, [S, S, S], [S, S, S]),
    (Situation::Invalidated, [N, N, N], [N, N, N]),
    (Situation::InvalidatedChanged, [S, N, S], [S, N, S]),
    (Situation::Gone, [N, N, N], [N, N, N]),
];

/// Touches compare by kind: their time is checked by the refresh tests.
fn kind(decision: Decision) -> Decision {
    match decision {
        Decision::Touch(_) => T,
        other => other,
    }
}

#[test]
fn every_save_mode_situation_and_backend_decides_as_the_table_says() {
    let now = SystemTime::now();
    let mut checked = 0;
    for &(situation, server, cookie) in TABLE {
        for (backend, expected) in [(Backend::Server, server), (Backend::Cookie, cookie)] {
            for (mode, expected) in MODES.into_iter().zip(expected) {
                let config = config(backend, mode);
                let Some(state) = self::state(&config, situation, now) else {
                    continue;
                };
                assert_eq!(
                    kind(state.decide(&config, now)),
                    expected,
                    "{situation:?} with {mode:?} on {backend:?}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        TABLE.len() * 6 - 3,
        "gone exists on server stores only"
    );
}

#[test]
fn reads_touch_once_the_expiry_would_move_by_the_refresh_interval() {
    let now = SystemTime::now();
    // The default interval: a quarter of the idle timeout, at most a minute.
    let interval = Duration::from_secs(60);
    for backend in [Backend::Server, Backend::Cookie] {
        let config = config(backend, SaveMode::Changed);
        assert_eq!(config.refresh_interval(), interval);
        let due = existing(&config, now, now + IDLE - interval);
        assert_eq!(
            due.decide(&config, now),
            Decision::Touch(now + IDLE),
            "{backend:?}"
        );
        let early = existing(
            &config,
            now,
            now + IDLE - interval + Duration::from_millis(1),
        );
        assert_eq!(early.decide(&config, now), N, "{backend:?}");
    }
}

#[test]
fn a_touch_never_passes_the_absolute_lifetime() {
    let now = SystemTime::now();
    let mut config = config(Backend::Server, SaveMode::Changed);
    config.max_lifetime = Some(Duration::from_secs(10 * 60));
    let state = existing(&config, now, now);
    let created = state.base.created();
    assert_eq!(
        state.decide(&config, now),
        Decision::Touch(created + Duration::from_secs(10 * 60))
    );
}

/// The cookie each outcome sends, for the cases that differ by backend.
#[test]
fn each_outcome_sends_the_cookie_it_should() {
    let now = SystemTime::now();
    let server = config(Backend::Server, SaveMode::Changed);
    let out = |state: &mut State, config: &Config| match state.cookie_out(config) {
        CookieOut::Keep => "keep",
        CookieOut::Id { .. } => "id",
        CookieOut::Sealed(_) => "sealed",
        CookieOut::Expire => "expire",
    };

    let mut read = existing(&server, now, now + IDLE);
    assert_eq!(out(&mut read, &server), "keep");
    read.old_key = true;
    assert_eq!(
        out(&mut read, &server),
        "id",
        "re-signed under the current key"
    );

    let mut created = State::fresh(Record::new(now), &server.backend, Via::Cookie);
    assert_eq!(out(&mut created, &server), "keep", "no session, no cookie");
    if let Kind::Server(session) = &mut created.kind {
        let id = SessionId::random();
        session.stored = Stored::Live(Current {
            id,
            key: id.storage_key(),
            version: Version::new(1),
        });
    }
    assert_eq!(out(&mut created, &server), "id", "a new session's id");

    let mut refreshed = existing(&server, now, now + IDLE);
    if let Kind::Server(session) = &mut refreshed.kind {
        session.refreshed = true;
    }
    assert_eq!(out(&mut refreshed, &server), "keep", "no Max-Age to renew");
    let mut with_max_age = config(Backend::Server, SaveMode::Changed);
    with_max_age.cookie.max_age = Some(IDLE);
    assert_eq!(out(&mut refreshed, &with_max_age), "id", "Max-Age renewed");

    for backend in [Backend::Server, Backend::Cookie] {
        let config = config(backend, SaveMode::Changed);
        for ending in [Ending::Deleted, Ending::Invalidated] {
            let mut ended = existing(&config, now, now + IDLE);
            ended.end(ending, now);
            assert_eq!(out(&mut ended, &config), "expire", "{backend:?} {ending:?}");
        }
        let mut never_had_one = State::fresh(Record::new(now), &config.backend, Via::Cookie);
        never_had_one.end(Ending::Deleted, now);
        assert_eq!(out(&mut never_had_one, &config), "keep", "{backend:?}");
    }

    let mut gone = state(&server, Situation::Gone, now).unwrap();
    assert_eq!(out(&mut gone, &server), "keep", "another request ended it");
}

#[test]
fn a_cookie_session_is_sealed_once_and_handed_over() {
    let now = SystemTime::now();
    let config = config(Backend::Cookie, SaveMode::Changed);
    let mut state = state(&config, Situation::NewChanged, now).unwrap();
    let decision = state.decide(&config, now);
    state.seal(decision, &config, now).unwrap();
    assert!(state.exists());
    assert_eq!(state.decide(&config, now), N, "the change is saved");
    assert!(matches!(state.cookie_out(&config), CookieOut::Sealed(_)));
    assert!(
        matches!(state.cookie_out(&config), CookieOut::Keep),
        "handed over once"
    );
}

#[test]
fn an_oversized_cookie_session_is_refused_and_keeps_its_changes() {
    let now = SystemTime::now();
    let mut config = config(Backend::Cookie, SaveMode::Changed);
    config.cookie_size_limit = 10;
    let mut state = state(&config, Situation::NewChanged, now).unwrap();
    let decision = state.decide(&config, now);
    assert!(matches!(
        state.seal(decision, &config, now),
        Err(crate::error::Error::SessionTooLarge { limit: 10, .. })
    ));
    assert!(matches!(state.cookie_out(&config), CookieOut::Keep));
    assert_eq!(state.decide(&config, now), S, "still to be saved");
}

#[test]
fn deleting_schedules_the_record_for_deletion_and_resets_the_fields() {
    let now = SystemTime::now();
    let config = config(Backend::Server, SaveMode::Changed);
    let mut state = existing(&config, now, now + IDLE);
    let cart = state.view::<Cart>();
    cart.fields().write(0, |cart| cart.items = 3);
    let Kind::Server(server) = &state.kind else {
        unreachable!()
    };
    let id = server.stored.live().unwrap().id;
    state.end(Ending::Deleted, now);
    assert_eq!(cart.fields().read(|cart| cart.items), 0);
    let Kind::Server(server) = &state.kind else {
        unreachable!()
    };
    let keys: Vec<_> = server.doomed.iter().map(|doomed| doomed.key).collect();
    assert_eq!(keys, [id.storage_key()], "deleted by storage key");
    assert!(server.stored.live().is_none() && state.expires_at.is_none());
}

/// glibc's per-thread cache serves blocks up to this size; larger ones take malloc's slow
/// path, on every write (BENCHMARKS.md, allocations).
pub(crate) const ALLOCATOR_CACHE_MAX: usize = 1032;

#[test]
fn the_boxed_commit_fits_the_allocators_per_thread_cache() {
    let session = super::RequestSession::new(Arc::new(config(Backend::Server, SaveMode::Changed)));
    let now = SystemTime::now();
    session.fields::<Cart>().write(0, |cart| cart.items += 1);
    let plan = session.lock().prepare(&session.config, now).unwrap();
    let mut plan = plan.expect("a change to save");
    let lent = &session;
    // What `commit` boxes: the plan with the I/O that works on it.
    let boxed = async move { lent.carry_out(&mut plan, now).await };
    let size = std::mem::size_of_val(&boxed);
    // With feature `metrics`, each store call also keeps its start time: 8 bytes over
    // (BENCHMARKS.md, observability), a cost of the feature only.
    let limit = ALLOCATOR_CACHE_MAX + if cfg!(feature = "metrics") { 8 } else { 0 };
    assert!(size <= limit, "the commit's box is {size} bytes");
    drop(boxed);
    let commit = session.commit(now);
    let size = std::mem::size_of_val(&commit);
    assert!(size <= 256, "`commit` keeps its I/O boxed: {size} bytes");
}
