//! Concurrent requests of one session: different fields both kept, every `update_*` of one
//! field kept (a hot session), `set_*` last writer wins, and nothing brings a logged-out or
//! rotated session back.

use axum::Router;
use axum::http::{Method, StatusCode};
use session::{FileStore, MemoryStore, SessionLayer, Store};
use session_examples::app;
use session_tests::{Client, ProbeStore, Reply, key, send, view_with};
use std::time::Duration;

pub(crate) async fn different_fields_are_both_kept(store: impl Store) {
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    client.post("/visit").await;
    let cookie = client.cookie_header().expect("cookie");
    let router = client.router().clone();
    for _ in 0..5 {
        // Both load the same version, then both save: one wins the compare-and-swap, the
        // other reloads and re-applies only its own field.
        let (a, b) = tokio::join!(
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
                "/inc/b?delay_ms=50",
                Some(&cookie),
                ""
            ),
        );
        assert!(a.status.is_success() && b.status.is_success());
        assert!(a.set_cookies.is_empty() && b.set_cookies.is_empty());
    }
    let view = client.get("/session").await.view();
    assert_eq!((view.visits, view.a, view.b), (1, 5, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_keeps_concurrent_changes_to_different_fields() {
    different_fields_are_both_kept(MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_keeps_concurrent_changes_to_different_fields() {
    let dir = tempfile::tempdir().expect("temp dir");
    different_fields_are_both_kept(FileStore::open(dir.path()).expect("store")).await;
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

/// `tasks` concurrent clients each send `each` `POST /visit` on one session: every answer
/// succeeds, and the session counts every one of them.
pub(crate) async fn a_hot_session_loses_no_update(store: impl Store, tasks: usize, each: usize) {
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    client.post("/visit").await;
    let cookie = client.cookie_header().expect("cookie");
    let router = client.router().clone();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let (router, cookie) = (router.clone(), cookie.clone());
        clients.spawn(async move {
            for _ in 0..each {
                let reply = send(&router, Method::POST, "/visit", Some(&cookie), "").await;
                assert!(
                    reply.status.is_success(),
                    "{}: {}",
                    reply.status,
                    reply.body
                );
                assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
            }
        });
    }
    while let Some(finished) = clients.join_next().await {
        finished.expect("a client panicked");
    }
    let visits = view_with(&router, &cookie).await.visits;
    assert_eq!(visits, 1 + (tasks * each) as u64, "updates lost");
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
async fn a_hot_session_on_the_memory_store_loses_no_update() {
    a_hot_session_loses_no_update(MemoryStore::new(), 8, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_session_on_the_file_store_loses_no_update() {
    let dir = tempfile::tempdir().expect("temp dir");
    a_hot_session_loses_no_update(FileStore::open(dir.path()).expect("store"), 8, 25).await;
}

/// Starts a slow `POST /inc/a` on `store`, runs `action` while it sleeps, then lets it
/// finish.
async fn slow_request_around(
    store: impl Store,
    action: &str,
) -> (Client, String, session_tests::Reply) {
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    client.post("/visit").await;
    let old = client.cookie_header().expect("cookie");
    let router: Router = client.router().clone();
    let slow = tokio::spawn({
        let (router, old) = (router.clone(), old.clone());
        async move { send(&router, Method::POST, "/inc/a?delay_ms=300", Some(&old), "").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.post(action).await;
    let slow = slow.await.expect("slow request");
    (client, old, slow)
}

async fn a_slow_request_after_logout_leaves_the_session_dead(store: impl Store) {
    let (client, old, slow) = slow_request_around(store, "/logout").await;
    assert!(slow.status.is_success());
    assert!(
        slow.set_cookies.is_empty(),
        "the slow response must not resurrect or clear a cookie"
    );
    let after = view_with(client.router(), &old).await;
    assert_eq!(
        (after.visits, after.a),
        (0, 0),
        "the logged-out session stays dead"
    );
}

async fn a_slow_request_after_rotation_does_not_revive_the_old_id(store: impl Store) {
    let (mut client, old, slow) = slow_request_around(store, "/login/ada").await;
    assert!(slow.set_cookies.is_empty());
    let dead = view_with(client.router(), &old).await;
    assert_eq!((dead.visits, dead.user), (0, None));
    let live = client.get("/session").await.view();
    assert_eq!((live.visits, live.user.as_deref()), (1, Some("ada")));
}

async fn a_slow_request_after_invalidate_does_not_revive_the_old_session(store: impl Store) {
    let (mut client, old, _slow) = slow_request_around(store, "/invalidate").await;
    let dead = view_with(client.router(), &old).await;
    assert_eq!((dead.visits, dead.a), (0, 0));
    let live = client.get("/session").await.view();
    assert_eq!(
        (live.visits, live.a),
        (1, 0),
        "the fresh session is untouched by the slow request"
    );
}

/// The three races against a slow request, on `store` (made afresh for each).
pub(crate) async fn slow_requests_never_revive_an_ended_session<S, F>(store: impl Fn() -> F)
where
    S: Store,
    F: std::future::Future<Output = S>,
{
    a_slow_request_after_logout_leaves_the_session_dead(store().await).await;
    a_slow_request_after_rotation_does_not_revive_the_old_id(store().await).await;
    a_slow_request_after_invalidate_does_not_revive_the_old_session(store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_never_revive_an_ended_session_on_the_memory_store() {
    slow_requests_never_revive_an_ended_session(|| async { MemoryStore::new() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_never_revive_an_ended_session_on_the_file_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        || async { FileStore::open(dir.path().join(session_tests::unique("f"))).expect("dir") };
    slow_requests_never_revive_an_ended_session(store).await;
}

/// A store that other processes never stop writing: every replace loses its race.
#[derive(Clone, Debug)]
struct AlwaysChanged(MemoryStore);

impl Store for AlwaysChanged {
    fn load<'a>(
        &'a self,
        id: &'a session::store::StorageKey,
    ) -> session::store::BoxFuture<
        'a,
        Result<Option<session::store::StoredRecord>, session::error::StoreError>,
    > {
        self.0.load(id)
    }

    fn save<'a>(
        &'a self,
        id: &'a session::store::StorageKey,
        data: &'a [u8],
        expires_at: std::time::SystemTime,
        expected: Option<session::store::Version>,
        owner: Option<&'a session::Owner>,
    ) -> session::store::BoxFuture<
        'a,
        Result<session::store::SaveOutcome, session::error::StoreError>,
    > {
        match expected {
            Some(_) => Box::pin(async { Ok(session::store::SaveOutcome::Conflict) }),
            None => self.0.save(id, data, expires_at, expected, owner),
        }
    }

    fn touch<'a>(
        &'a self,
        id: &'a session::store::StorageKey,
        expires_at: std::time::SystemTime,
        owner: Option<&'a session::Owner>,
    ) -> session::store::BoxFuture<'a, Result<bool, session::error::StoreError>> {
        self.0.touch(id, expires_at, owner)
    }

    fn delete<'a>(
        &'a self,
        id: &'a session::store::StorageKey,
        owner: Option<&'a session::Owner>,
    ) -> session::store::BoxFuture<'a, Result<bool, session::error::StoreError>> {
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
