//! Scenarios several test files run on stores of their own choosing: each takes a store and
//! drives [`crate::app`] through it, asserting what every store must keep.

use crate::{Client, app, key, send, view_with};
use axum::Router;
use axum::http::Method;
use std::time::Duration;
use typed_sessions::store::{SaveOutcome, StorageKey};
use typed_sessions::{SessionLayer, Store};

/// Login, a rotated id, concurrent field updates and logout.
pub async fn login_flow(store: impl Store + Clone) {
    let mut client = Client::new(app(SessionLayer::new(store.clone(), &key())));
    assert_eq!(client.post("/visit").await.view().visits, 1);
    let before = client.cookie_header().unwrap();
    assert_eq!(
        client.post("/login/ada").await.view().user.as_deref(),
        Some("ada")
    );
    let dead = view_with(client.router(), &before).await;
    assert_eq!(dead.visits, 0, "the pre-login id is dead");
    assert_eq!(client.post("/logout").await.view().visits, 0);
    assert_eq!(client.get("/session").await.view().user, None);
}

/// Two app instances, each with its own store object on the same backend.
pub async fn two_instances(first: impl Store, second: impl Store) {
    let mut one = Client::new(app(SessionLayer::new(first, &key())));
    let mut two = Client::new(app(SessionLayer::new(second, &key())));
    one.post("/login/ada").await;
    two.jar = one.jar.clone();
    let view = two.post("/visit").await.view();
    assert_eq!(
        (view.visits, view.user.as_deref()),
        (1, Some("ada")),
        "written through one, read through the other"
    );
    one.jar = two.jar.clone();
    assert_eq!(one.get("/session").await.view().visits, 1);
    two.post("/logout").await;
    assert_eq!(
        one.get("/session").await.view().user,
        None,
        "a logout through one ends it for both"
    );
}

/// Two requests of one session changing different fields at once, five times: both kept.
pub async fn different_fields_are_both_kept(store: impl Store) {
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

/// `tasks` concurrent clients each send `each` `POST /visit` on one session: every answer
/// succeeds, and the session counts every one of them.
pub async fn a_hot_session_loses_no_update(store: impl Store, tasks: usize, each: usize) {
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

/// Starts a slow `POST /inc/a` on `store`, runs `action` while it sleeps, then lets it
/// finish.
async fn slow_request_around(store: impl Store, action: &str) -> (Client, String, crate::Reply) {
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
pub async fn slow_requests_never_revive_an_ended_session<S, F>(store: impl Fn() -> F)
where
    S: Store,
    F: std::future::Future<Output = S>,
{
    a_slow_request_after_logout_leaves_the_session_dead(store().await).await;
    a_slow_request_after_rotation_does_not_revive_the_old_id(store().await).await;
    a_slow_request_after_invalidate_does_not_revive_the_old_session(store().await).await;
}

/// Runs each future in a task of its own, at once; their outputs, in order.
pub async fn spawn_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

/// Saves `count` new one-byte records in `store` that expire `lasting` from now; their keys.
pub async fn save_records(store: &dyn Store, count: usize, lasting: Duration) -> Vec<StorageKey> {
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let key = StorageKey::random();
        let expires_at = std::time::SystemTime::now() + lasting;
        let saved = store.save(&key, b"x", expires_at, None, None).await;
        assert!(matches!(saved, Ok(SaveOutcome::Saved(_))), "{saved:?}");
        keys.push(key);
    }
    keys
}
