//! Concurrent requests of one session: different fields both kept, every `update_*` of one
//! field kept (a hot session), `set_*` last writer wins, and nothing brings a logged-out or
//! rotated session back.

use axum::http::{Method, StatusCode};
use std::time::Duration;
use typed_sessions::{MemoryStore, SessionLayer, Store};
use typed_sessions_tests::{
    Client, ProbeStore, Reply, StoreKind, a_hot_session_loses_no_update, app,
    different_fields_are_both_kept, every_server_store, key, send,
    slow_requests_never_revive_an_ended_session, view_with,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_to_different_fields_are_kept_on_every_server_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (_, store) in every_server_store(&dir).await {
        different_fields_are_both_kept(store).await;
    }
}

#[tokio::test]
async fn concurrent_updates_of_one_field_are_all_kept() {
    let mut client = Client::new(app(SessionLayer::new(MemoryStore::new(), &key())));
    client.post("/visit").await;
    let cookie = client.cookie_header().expect("cookie");
    let router = client.router().clone();
    let (first, second) = tokio::join!(
        send(
            &router,
            Method::POST,
            "/inc/a?delay_ms=50",
            Some(&cookie),
            ""
        ),
        send(
            &router,
            Method::POST,
            "/inc/a?delay_ms=80",
            Some(&cookie),
            ""
        ),
    );
    // Each reply shows the value its request computed; the store keeps both increments:
    // the second save lost the race and ran its update again on the first one's value.
    assert_eq!((first.view().a, second.view().a), (1, 1));
    assert_eq!(client.get("/session").await.view().a, 2);
}

#[tokio::test]
async fn the_same_field_set_concurrently_keeps_the_last_write() {
    let mut client = Client::new(app(SessionLayer::new(MemoryStore::new(), &key())));
    client.post("/visit").await;
    let cookie = client.cookie_header().expect("cookie");
    let router = client.router().clone();
    let (short, long) = tokio::join!(
        send(&router, Method::POST, "/note", Some(&cookie), "short"),
        async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            send(
                &router,
                Method::POST,
                "/note",
                Some(&cookie),
                "the longer note",
            )
            .await
        },
    );
    assert!(short.status.is_success() && long.status.is_success());
    // `set_*` replaces: the later save wins, whatever the earlier one wrote.
    assert_eq!(
        client.get("/session").await.view().note_len,
        "the longer note".len()
    );
}

/// 8 requests of one session that increment `a` and commit at once, against a store whose
/// saves take 100 ms (and of which the second fails, if `fail_second`): the replies, and
/// `a`.
async fn eight_writers_at_once(store: &ProbeStore, fail_second: bool) -> (Vec<Reply>, u64) {
    let mut client = Client::new(app(SessionLayer::new(store.clone(), &key())));
    client.post("/visit").await;
    let cookie = client.cookie_header().expect("cookie");
    let router = client.router().clone();
    store.delay_saves(Duration::from_millis(100));
    if fail_second {
        store.fail_a_save_after(1);
    }
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (router, cookie) = (router.clone(), cookie.clone());
        requests.spawn(async move {
            send(
                &router,
                Method::POST,
                "/inc/a?delay_ms=50",
                Some(&cookie),
                "",
            )
            .await
        });
    }
    let mut replies = Vec::new();
    while let Some(reply) = requests.join_next().await {
        replies.push(reply.expect("a request panicked"));
    }
    store.delay_saves(Duration::ZERO);
    (replies, client.get("/session").await.view().a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_one_session_in_one_process_are_saved_together() {
    let store = ProbeStore::new(MemoryStore::new());
    // Each loads, waits 50 ms, then saves. The first to save takes the session's turn; the
    // other seven find it taken and queue, and the next to take it saves all seven in one
    // write, rebased on the first's record. No save is sent that must lose, and no request
    // makes its own write while another is under way.
    let (replies, a) = eight_writers_at_once(&store, false).await;
    assert!(replies.iter().all(|reply| reply.status.is_success()));
    assert_eq!(a, 8, "every increment kept");
    let counts = store.counts();
    assert_eq!(counts.conflicts, 0, "no save was sent that must lose");
    assert!(
        counts.saves - 1 <= 3,
        "8 writes in {} saves: each should not make its own",
        counts.saves - 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_queued_behind_a_failed_save_are_still_made() {
    let store = ProbeStore::new(MemoryStore::new());
    // The first request to save makes its own (the others queue meanwhile); the next to
    // take the turn makes its save with the six others', and that save fails: its request
    // answers 503, and the six it carried make their own save.
    let (replies, a) = eight_writers_at_once(&store, true).await;
    let failed = replies.iter().filter(|reply| !reply.status.is_success());
    assert_eq!(failed.count(), 1, "only the failed save's request fails");
    assert_eq!(a, 7, "the other seven increments are kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_session_loses_no_update_on_every_server_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (_, store) in every_server_store(&dir).await {
        a_hot_session_loses_no_update(store, 8, 25).await;
    }
}

/// A store that other processes never stop writing: every replace loses its race.
#[derive(Clone, Debug)]
struct AlwaysChanged(MemoryStore);

impl Store for AlwaysChanged {
    fn load<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
    ) -> typed_sessions::store::BoxFuture<
        'a,
        Result<Option<typed_sessions::store::StoredRecord>, typed_sessions::error::StoreError>,
    > {
        self.0.load(id)
    }

    fn save<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
        data: &'a [u8],
        expires_at: std::time::SystemTime,
        expected: Option<typed_sessions::store::Version>,
        owner: Option<&'a typed_sessions::Owner>,
    ) -> typed_sessions::store::BoxFuture<
        'a,
        Result<typed_sessions::store::SaveOutcome, typed_sessions::error::StoreError>,
    > {
        match expected {
            Some(_) => Box::pin(async { Ok(typed_sessions::store::SaveOutcome::Conflict) }),
            None => self.0.save(id, data, expires_at, expected, owner),
        }
    }

    fn touch<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
        expires_at: std::time::SystemTime,
        owner: Option<&'a typed_sessions::Owner>,
    ) -> typed_sessions::store::BoxFuture<'a, Result<bool, typed_sessions::error::StoreError>> {
        self.0.touch(id, expires_at, owner)
    }

    fn delete<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
        owner: Option<&'a typed_sessions::Owner>,
    ) -> typed_sessions::store::BoxFuture<'a, Result<bool, typed_sessions::error::StoreError>> {
        self.0.delete(id, owner)
    }
}

#[tokio::test]
async fn a_save_that_keeps_losing_races_answers_503_and_keeps_the_session() {
    let mut client = Client::new(app(SessionLayer::new(
        AlwaysChanged(MemoryStore::new()),
        &key(),
    )));
    assert_eq!(client.post("/visit").await.view().visits, 1);
    // The retries' time budget passes (2 s), then the request gives up.
    let reply = client.post("/visit").await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert!(reply.set_cookies.is_empty());
    assert_eq!(client.get("/session").await.view().visits, 1);
}

/// Many sessions, each with two clients changing different fields at once, for a bounded
/// time: every increment answered 2xx is in the final state (no lost update), and nothing
/// errors or hangs.
async fn soak(store: impl Store, name: &str) {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let router = app(SessionLayer::new(store, &key()));
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    let mut sessions = Vec::new();
    for _ in 0..8 {
        let mut client = Client::new(router.clone());
        client.post("/visit").await;
        sessions.push(client.cookie_header().unwrap());
    }
    let mut tasks = Vec::new();
    for cookie in &sessions {
        for field in ["a", "b"] {
            let (router, cookie, name) = (router.clone(), cookie.clone(), name.to_owned());
            tasks.push(tokio::spawn(async move {
                let mut done = 0u64;
                while tokio::time::Instant::now() < deadline {
                    let reply = typed_sessions_tests::send(
                        &router,
                        axum::http::Method::POST,
                        &format!("/inc/{field}"),
                        Some(&cookie),
                        "",
                    )
                    .await;
                    assert!(
                        reply.status.is_success(),
                        "{name}: {}: {}",
                        reply.status,
                        reply.body
                    );
                    assert!(
                        reply.set_cookies.is_empty(),
                        "the id never changes under concurrent writes"
                    );
                    done += 1;
                }
                done
            }));
        }
    }
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("no deadlock")
                .expect("no panic"),
        );
    }
    for (index, cookie) in sessions.iter().enumerate() {
        let view = view_with(&router, cookie).await;
        assert_eq!(
            (view.a, view.b),
            (counts[2 * index], counts[2 * index + 1]),
            "{name}: session {index}"
        );
    }
    let total: u64 = counts.iter().sum();
    assert!(total > 16, "{name}: only {total} increments");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_soak_on_every_server_side_store() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, store) in every_server_store(&dir).await {
        soak(store, &format!("{kind:?}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_never_revive_an_ended_session_on_every_server_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    for kind in StoreKind::SERVER {
        let store = || async { kind.store(&dir).await.expect("a store") };
        slow_requests_never_revive_an_ended_session(store).await;
    }
}
