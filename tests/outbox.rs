//! A store's outbox (issue 29), on PostgreSQL, SQLite and Redis (one server, Sentinel):
//! every session of an owner created, deleted or found expired, recorded by the database
//! in the same transaction (Redis: the same script) as the change. Held
//! against the in-process events: the same sessions, and what a crash after the store's
//! answer would hide from the hook is still in the outbox.

use axum::Router;
use axum::extract::Path;
use axum::routing::post;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use typed_sessions::error::StoreError;
use typed_sessions::events::{EventKind, Outbox, SessionEvent};
use typed_sessions::store::{SaveOutcome, Version};
use typed_sessions::{Session, SessionLayer, Store};
use typed_sessions_tests::{Client, key, owner, postgres_store, sqlite_store};

#[derive(Session, Default)]
struct Visit {
    count: u64,
}

fn app(layer: SessionLayer) -> Router {
    async fn visit(session: Session<Visit>) {
        session.update_count(|n| *n += 1);
    }
    async fn login(session: Session<Visit>, Path(user): Path<String>) {
        session.bind_owner(user).unwrap();
    }
    async fn others(session: Session<Visit>) {
        session.log_out_others().await.unwrap();
    }
    async fn logout(session: Session<Visit>) {
        session.delete();
    }
    Router::new()
        .route("/visit", post(visit))
        .route("/login/{user}", post(login))
        .route("/others", post(others))
        .route("/logout", post(logout))
        .layer(layer)
}

fn kinds(entries: &[typed_sessions::events::OutboxEntry]) -> Vec<(EventKind, String)> {
    entries
        .iter()
        .map(|entry| {
            let owner = entry.event.owner.as_ref().map(|o| o.as_str().to_owned());
            (entry.event.kind, owner.unwrap_or_default())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_records_what_the_store_did_in_the_same_transaction() {
    let postgres = postgres_store().await;
    postgres.migrate_outbox().await.unwrap();
    postgres.migrate_outbox().await.expect("twice is fine");
    records_what_the_store_did(postgres.clone(), Outbox::new(&postgres), Expiry::Sweep).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_store(&dir).await;
    sqlite.migrate_outbox().await.unwrap();
    sqlite.migrate_outbox().await.expect("twice is fine");
    records_what_the_store_did(sqlite.clone(), Outbox::new(&sqlite), Expiry::Sweep).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outbox_records_what_each_script_did() {
    use typed_sessions_tests::{redis_cluster_store, redis_sentinel_store, redis_store};
    let without = redis_store().await;
    let unrecorded = Outbox::new(&without).read(0, 10).await.unwrap_err();
    assert!(matches!(unrecorded, StoreError::NoOutbox), "{unrecorded:?}");
    for store in [redis_store().await, redis_sentinel_store().await] {
        let store = store.with_outbox().unwrap();
        records_what_the_store_did(store.clone(), Outbox::new(&store), Expiry::Listing).await;
    }
    let refused = redis_cluster_store().await.with_outbox().unwrap_err();
    assert!(matches!(refused, StoreError::NoOutbox), "{refused:?}");
}

/// What finds an unused session's expiry: the store's sweep, or (Redis, whose records
/// expire by themselves) the owner's next listing.
enum Expiry {
    Sweep,
    Listing,
}

async fn records_what_the_store_did(store: impl Store + Clone, outbox: Outbox, expiry: Expiry) {
    let hooked = Arc::new(Mutex::new(Vec::<SessionEvent>::new()));
    let sink = Arc::clone(&hooked);
    let layer = SessionLayer::new(store.clone(), &key())
        .with_idle_timeout(Duration::from_secs(1))
        .with_events(move |event| sink.lock().unwrap().push(event));
    let app = app(layer);
    let (mut phone, mut laptop) = (Client::new(app.clone()), Client::new(app.clone()));
    phone.post("/visit").await; // no owner: not recorded
    phone.post("/login/ada").await;
    laptop.post("/login/ada").await;
    phone.post("/others").await;
    phone.post("/logout").await;
    use EventKind::*;
    let ada = || "ada".to_owned();
    let entries = outbox.read(0, 100).await.unwrap();
    assert_eq!(
        kinds(&entries),
        [
            (Created, ada()),
            (Created, ada()),
            (Deleted, ada()),
            (Deleted, ada())
        ]
    );
    // The same sessions as the hook's: the phone's and the laptop's.
    let bound: Vec<_> = hooked
        .lock()
        .unwrap()
        .iter()
        .filter(|event| event.kind == Bound)
        .map(|event| event.fingerprint)
        .collect();
    let recorded: Vec<_> = entries
        .iter()
        .map(|entry| entry.event.fingerprint)
        .collect();
    assert_eq!(recorded, [bound[0], bound[1], bound[1], bound[0]]);
    assert!(entries.windows(2).all(|pair| pair[0].seq < pair[1].seq));

    // A change the hook never hears of (the process died after the store's answer) is in
    // the outbox all the same.
    let mut grace = Client::new(app.clone());
    grace.post("/login/grace").await;
    let listed = store.owned(&owner("grace")).await.unwrap();
    hooked.lock().unwrap().clear();
    assert!(
        store
            .delete(&listed[0].key, Some(&owner("grace")))
            .await
            .unwrap()
    );
    assert!(hooked.lock().unwrap().is_empty(), "no hook ran");
    let after = entries.last().unwrap().seq;
    let more = outbox.read(after, 100).await.unwrap();
    let grace = || "grace".to_owned();
    assert_eq!(kinds(&more), [(Created, grace()), (Deleted, grace())]);

    // A save that loses its compare-and-swap writes nothing, and records nothing.
    let mut bob = Client::new(app.clone());
    bob.post("/login/bob").await;
    let bobs = store.owned(&owner("bob")).await.unwrap();
    let expires = SystemTime::now() + Duration::from_secs(60);
    let stale = store
        .save(
            &bobs[0].key,
            b"x",
            expires,
            Some(Version::new(1)),
            Some(&owner("bob")),
        )
        .await
        .unwrap();
    assert_eq!(stale, SaveOutcome::Conflict);
    let seen = more.last().unwrap().seq;
    assert_eq!(
        kinds(&outbox.read(seen, 100).await.unwrap()),
        [(Created, "bob".to_owned())]
    );

    // Bob's session expires unused: the sweep (or his next listing) records it.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    match expiry {
        Expiry::Sweep => assert!(store.sweep_expired().await.unwrap() >= 1),
        Expiry::Listing => assert!(store.owned(&owner("bob")).await.unwrap().is_empty()),
    }
    let swept = outbox.read(seen, 100).await.unwrap();
    assert_eq!(
        kinds(&swept),
        [(Created, "bob".to_owned()), (Expired, "bob".to_owned())]
    );

    // Handled events are pruned.
    let last = swept.last().unwrap().seq;
    assert_eq!(outbox.prune(last).await.unwrap(), 8);
    assert!(outbox.read(0, 100).await.unwrap().is_empty());
}
