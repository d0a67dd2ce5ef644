//! Revoking an owner's sessions: one, all ("log out everywhere") or all but one, with
//! requests and rotations in flight, and cookie sessions through a revocation store (down:
//! fail closed; two revocations a moment apart keep their order).

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use std::sync::Arc;
use std::time::Duration;
use typed_sessions::{CookieBackend, MemoryStore, SessionLayer, Store};
use typed_sessions_tests::*;

/// A request of a session still running when its owner logs out everywhere (from another
/// instance, or from an admin job) finishes after the revocation and saves nothing: a
/// change, and a move to a new id.
async fn in_flight(store: impl Store + Clone) {
    let (one, two) = instances(|| SessionLayer::new(store.clone(), &key()));
    let accounts = SessionLayer::new(store.clone(), &key()).accounts();
    for path in ["/slow-count", "/slow-cycle"] {
        let mut client = Client::new(one.clone());
        client.post("/login/ada").await;
        let cookie = client.cookie_header().expect("a cookie");
        let slow = send(&one, Method::POST, path, Some(&cookie), "");
        let revoke = async {
            // The slow request has loaded the session, and sleeps.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let reply = send(&two, Method::POST, "/logout-everywhere", Some(&cookie), "").await;
            assert_eq!(reply.status, StatusCode::OK);
        };
        let (reply, ()) = tokio::join!(slow, revoke);
        assert!(reply.status.is_success(), "{path}: {}", reply.status);
        assert_eq!(me(&one, &cookie).await, "- 0", "{path}");
        if let Some(new) = reply.set_cookie() {
            let new = format!("id={}", new.value());
            assert_eq!(
                me(&two, &new).await,
                "- 0",
                "{path}: the new id is dead too"
            );
        }
        let left = accounts.sessions(&owner("ada")).await.expect("listed");
        assert!(left.is_empty(), "{path}: {left:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_of_a_revoked_session_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stores = every_server_store(&dir).await;
    join_all(stores.into_iter().map(|(_, store)| in_flight(store))).await;
}

/// The interleaving that a rotation must survive: its new record is being written (saves
/// are held up) when the revocation lists and deletes the owner's sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_everywhere_does_not_miss_a_rotation_in_flight() {
    let store = ProbeStore::new(MemoryStore::new());
    let app = owner_routes().layer(SessionLayer::new(store.clone(), &key()));
    let accounts = SessionLayer::new(store.clone(), &key()).accounts();
    let mut client = Client::new(app.clone());
    client.post("/login/ada").await;
    let cookie = client.cookie_header().expect("a cookie");
    store.delay_saves(Duration::from_millis(600));
    let rotation = send(&app, Method::POST, "/slow-cycle", Some(&cookie), "");
    let revoke = async {
        // The rotation has loaded (at 500 ms) and is writing its new record (until 1.1 s).
        tokio::time::sleep(Duration::from_millis(800)).await;
        accounts.revoke_all(&owner("ada")).await.expect("revoked");
    };
    let (reply, ()) = tokio::join!(rotation, revoke);
    assert!(reply.status.is_success());
    assert!(accounts.sessions(&owner("ada")).await.unwrap().is_empty());
    assert_eq!(me(&app, &cookie).await, "- 0");
    // A new id handed out meanwhile names a record that is gone too.
    if let Some(new) = reply.set_cookie() {
        let new = format!("{}={}", new.name(), new.value());
        assert_eq!(me(&app, &new).await, "- 0", "the moved session survived");
    }
}

/// A cookie session with an owner is checked against the revocation store on every
/// request: when it cannot be read the request fails closed (503). Sessions without an
/// owner never read it.
#[tokio::test]
async fn a_cookie_session_with_an_owner_fails_closed_when_the_revocation_store_is_down() {
    let revocations = ProbeStore::new(MemoryStore::new());
    let app = owner_routes().layer(
        SessionLayer::new(CookieBackend::sealed(), &key())
            .with_revocation_store(revocations.clone()),
    );
    let ada_app = app.clone();
    let mut guest = Client::new(app.clone());
    guest.post("/count").await;
    assert_eq!(guest.get("/me").await.body, "- 1");
    assert_eq!(revocations.counts().total(), 0, "no owner, no read");

    let mut ada = Client::new(app);
    ada.post("/login/ada").await;
    assert_eq!(revocations.counts().loads, 1, "a login reads the epoch");
    assert_eq!(ada.get("/me").await.body, "ada 1");
    assert_eq!(
        revocations.counts().loads,
        2,
        "one read per request with an owner"
    );
    revocations.set_down(true);
    assert_eq!(
        Client::new(ada_app.clone()).post("/login/ada").await.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a login that cannot read the epoch is not let through"
    );
    assert_eq!(ada.get("/me").await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        guest.get("/me").await.body,
        "- 1",
        "sessions without an owner go on"
    );
    revocations.set_down(false);
    assert_eq!(ada.get("/me").await.body, "ada 1");
}

/// Revocations of cookie sessions a moment apart, as fast as requests come in one process
/// (well within a millisecond): "log out everywhere" right after "log out others" ends the
/// session the first one kept, and a login right after "log out everywhere" stays.
#[tokio::test]
async fn cookie_revocations_a_moment_apart_keep_their_order() {
    let layer = SessionLayer::new(CookieBackend::sealed(), &key())
        .with_revocation_store(MemoryStore::new());
    let app = owner_routes().layer(layer);
    for round in 0..50 {
        let (mut laptop, mut phone) = (Client::new(app.clone()), Client::new(app.clone()));
        laptop.post("/login/ada").await;
        phone.post("/login/ada").await;
        laptop.post("/logout-others").await;
        let kept = laptop.cookie_header().unwrap();
        phone.jar.clear();
        phone.post("/login/ada").await;
        phone.post("/logout-everywhere").await;
        assert_eq!(
            me(&app, &kept).await,
            "- 0",
            "round {round}: the kept one is out"
        );
        let mut again = Client::new(app.clone());
        again.post("/login/ada").await;
        assert_eq!(
            again.get("/me").await.body,
            "ada 1",
            "round {round}: a new login stays"
        );
    }
}

/// A garbled revocation time revokes every cookie session of the owner (fail closed): the
/// session that logged out the others is refused too once the time reads as garbage.
#[tokio::test]
async fn a_garbled_revocation_time_revokes_every_session_of_the_owner() {
    let revocations = ProbeStore::new(MemoryStore::new());
    revocations.set_garbled(true);
    let layer =
        SessionLayer::new(CookieBackend::sealed(), &key()).with_revocation_store(revocations);
    let mut client = Client::new(app(layer));
    client.post("/login/ada").await;
    assert_eq!(client.post("/logout-others").await.status, StatusCode::OK);
    // The time now reads as the largest there is: this session too is revoked.
    let again = client.post("/logout-others").await;
    assert_ne!(
        again.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        again.body
    );
    assert_eq!(
        client.get("/session").await.view().user,
        None,
        "failed closed"
    );
}

/// One round of the race that "log out everywhere" must win: the owner has `others` other
/// sessions (so the listing and the deletes take a while), and a thief's session of theirs
/// moves to a new id in a loop (`POST /login/ada` on a bound session rotates it) while the
/// owner logs out everywhere. Once both have answered, the thief's session (marked by a
/// visit) opens nothing: a request of the thief's after the logout may log in afresh (the
/// route takes no password), but holds none of the old session's data. Returns whether the
/// old session survived.
async fn a_rotation_racing_log_out_everywhere(store: Arc<dyn Store>, others: usize) -> bool {
    let layer = SessionLayer::new(store, &key());
    let app = app(layer);
    let mut owner_client = Client::new(app.clone());
    owner_client.post("/login/ada").await;
    join_all((0..others).map(|_| {
        let app = app.clone();
        async move { Client::new(app).post("/login/ada").await }
    }))
    .await;
    let mut thief = Client::new(app.clone());
    thief.post("/login/ada").await;
    assert_eq!(thief.post("/visit").await.view().visits, 1);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rotating = tokio::spawn({
        let stop = Arc::clone(&stop);
        async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                thief.post("/login/ada").await;
            }
            thief
        }
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    let logout = owner_client.post("/logout-everywhere").await;
    assert_eq!(logout.status, StatusCode::OK, "{}", logout.body);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut thief = rotating.await.expect("the thief's loop");
    thief.get("/session").await.view().visits > 0
}

/// The race of a rotation in flight during "log out everywhere", on every server store:
/// no round leaves a session (`SESSION_RACE_ROUNDS` rounds, 50 by default, of 100 other
/// sessions each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_everywhere_ends_a_session_rotating_meanwhile_on_every_server_store() {
    let rounds: usize = std::env::var("SESSION_RACE_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    for (kind, store) in every_server_store(&dir).await {
        let mut survived = Vec::new();
        for round in 0..rounds {
            if a_rotation_racing_log_out_everywhere(Arc::clone(&store), 100).await {
                survived.push(round);
            }
        }
        assert!(
            survived.is_empty(),
            "{kind:?}: the thief's session survived rounds {survived:?}"
        );
    }
}

/// The other side of the race: a rotation that loaded its session before "log out
/// everywhere" raised the owner's epoch, and writes its new record and deletes the old one
/// while the revocation holds a listing read before the new record existed (held 800 ms).
/// The epoch, raised before the listing, is what the rotation finds after its write: it
/// deletes its new record, and no session (and no record) is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_everywhere_ends_a_rotation_that_finishes_during_its_listing() {
    let store = ProbeStore::new(MemoryStore::new());
    let layer = SessionLayer::new(store.clone(), &key());
    let accounts = layer.accounts();
    let mut client = Client::new(owner_routes().layer(layer));
    client.post("/login/ada").await;
    assert_eq!(client.get("/me").await.body, "ada 1");
    store.delay_listings(Duration::from_millis(800));
    let revoke = async {
        // The slow rotation has loaded the session, and sleeps 500 ms.
        tokio::time::sleep(Duration::from_millis(100)).await;
        accounts.revoke_all(&owner("ada")).await.expect("revoked");
    };
    let (rotated, ()) = tokio::join!(client.post("/slow-cycle"), revoke);
    assert!(rotated.status.is_success(), "{}", rotated.body);
    store.delay_listings(Duration::ZERO);
    assert!(accounts.sessions(&owner("ada")).await.unwrap().is_empty());
    // Not only refused: gone from the store (else it would count against a session
    // limit until it expired).
    assert!(
        store.owned(&owner("ada")).await.unwrap().is_empty(),
        "a record is left"
    );
    assert_eq!(client.get("/me").await.body, "- 0", "the session survived");
}

/// "Log out everywhere" on an instance whose clock is ten minutes ahead or behind (its
/// revocation record skewed so), then logins and "log out others" on one whose clock is
/// right: a session bound before the revocation is refused, a login after it stays, and
/// "log out others" keeps the current session and ends the rest. On every server store,
/// and on both cookie stores with a revocation store. A session is stamped with
/// the epoch it reads from the record, never with a clock, and an epoch only ever rises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_by_instances_whose_clocks_are_off_keep_their_order() {
    const MINUTE_US: i64 = 60 * 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    for skew in [10 * MINUTE_US, -10 * MINUTE_US] {
        let mut layers = Vec::new();
        for (kind, store) in every_server_store(&dir).await {
            let probe = ProbeStore::new(store);
            let layer = SessionLayer::new(probe.clone(), &key());
            layers.push((format!("{kind:?}"), layer, probe));
        }
        for backend in [CookieBackend::sealed(), CookieBackend::signed()] {
            let revocations = ProbeStore::new(MemoryStore::new());
            let layer =
                SessionLayer::new(backend, &key()).with_revocation_store(revocations.clone());
            layers.push(("a cookie store".to_owned(), layer, revocations));
        }
        for (name, layer, store) in layers {
            let case = format!("{name}, skew {skew} µs");
            let app = owner_routes().layer(layer);
            let (mut laptop, mut phone) = (Client::new(app.clone()), Client::new(app.clone()));
            laptop.post("/login/ada").await;
            let copied = laptop.cookie_header().expect("a cookie");
            phone.post("/login/ada").await;
            store.skew_revocations(skew);
            assert_eq!(
                phone.post("/logout-everywhere").await.status,
                StatusCode::OK
            );
            store.skew_revocations(0);
            assert_eq!(
                me(&app, &copied).await,
                "- 0",
                "{case}: bound before, refused"
            );

            phone.jar.clear();
            phone.post("/login/ada").await;
            assert_eq!(
                phone.get("/me").await.body,
                "ada 1",
                "{case}: a login after stays"
            );
            let mut tablet = Client::new(app.clone());
            tablet.post("/login/ada").await;
            assert_eq!(phone.post("/logout-others").await.status, StatusCode::OK);
            assert_eq!(
                phone.get("/me").await.body,
                "ada 1",
                "{case}: the kept one stays"
            );
            assert_eq!(
                tablet.get("/me").await.body,
                "- 0",
                "{case}: the others end"
            );
        }
    }
}

/// "Log out everywhere" whose deletes are slow (50 ms each, one by one: a store without
/// `delete_owned` of its own), while a session of the owner that loaded before it moves to
/// a new id: the move writes its new record while the deletes go on, finds the epoch, and
/// deletes it. No session and no record is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_everywhere_with_slow_deletes_ends_a_rotation_in_flight() {
    let store = ProbeStore::new(MemoryStore::new());
    let layer = SessionLayer::new(store.clone(), &key());
    let accounts = layer.accounts();
    let app = owner_routes().layer(layer);
    for _ in 0..20 {
        Client::new(app.clone()).post("/login/ada").await;
    }
    let mut laptop = Client::new(app);
    laptop.post("/login/ada").await;
    let revoke = async {
        // The slow rotation has loaded the session, and sleeps 500 ms.
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.delay_deletes(Duration::from_millis(50));
        accounts.revoke_all(&owner("ada")).await.expect("revoked");
    };
    let (rotated, ()) = tokio::join!(laptop.post("/slow-cycle"), revoke);
    assert!(rotated.status.is_success(), "{}", rotated.body);
    store.delay_deletes(Duration::ZERO);
    assert!(
        store.owned(&owner("ada")).await.unwrap().is_empty(),
        "a record is left"
    );
    assert_eq!(laptop.get("/me").await.body, "- 0", "the session survived");
}
