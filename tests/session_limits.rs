//! At most N live sessions per owner (`with_session_limit`): a login beyond them ends the
//! oldest, or is refused; logins in parallel, through two instances, never leave more than
//! N, on every server store; a session moving to a new id keeps its place.

use axum::Router;
use axum::http::StatusCode;
use futures_util::future::join_all;
use std::sync::Arc;
use std::time::Duration;
use typed_sessions::{MemoryStore, OverLimit, SessionLayer, Store};
use typed_sessions_tests::*;

fn limited(store: &Arc<dyn Store>, max: usize, over: OverLimit) -> (Router, Router) {
    instances(|| SessionLayer::new(Arc::clone(store), &key()).with_session_limit(max, over))
}

fn live(store: &Arc<dyn Store>, user: &str) -> impl Future<Output = usize> {
    let accounts = SessionLayer::new(Arc::clone(store), &key()).accounts();
    let user = owner(user);
    async move { accounts.sessions(&user).await.expect("listed").len() }
}

/// Every server store, and the Redis Cluster.
async fn stores(dir: &tempfile::TempDir) -> Vec<(String, Arc<dyn Store>)> {
    let mut stores: Vec<(String, Arc<dyn Store>)> = every_server_store(dir)
        .await
        .into_iter()
        .map(|(kind, store)| (format!("{kind:?}"), store))
        .collect();
    stores.push(("RedisCluster".into(), Arc::new(redis_cluster_store().await)));
    stores
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_beyond_the_limit_ends_the_oldest_session_on_every_server_store() {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in stores(&dir).await {
        let (one, two) = limited(&store, 2, OverLimit::EndOldest);
        let mut laptop = Client::new(one.clone());
        let mut phone = Client::new(two.clone());
        let mut tablet = Client::new(one.clone());
        laptop.post("/login/ada").await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        phone.post("/login/ada").await;
        // A move to a new id at the limit ends nothing: the session keeps its place.
        assert!(
            phone.post("/slow-cycle").await.status.is_success(),
            "{name}"
        );
        assert_eq!(laptop.get("/me").await.body, "ada 1", "{name}");
        assert_eq!(live(&store, "ada").await, 2, "{name}");

        let reply = tablet.post("/login/ada").await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {}", reply.body);
        assert_eq!(
            laptop.get("/me").await.body,
            "- 0",
            "{name}: the oldest is out"
        );
        assert_eq!(phone.get("/me").await.body, "ada 2", "{name}");
        assert_eq!(tablet.get("/me").await.body, "ada 1", "{name}");
        assert_eq!(live(&store, "ada").await, 2, "{name}");
        let mut bob = Client::new(two);
        bob.post("/login/bob").await;
        assert_eq!(live(&store, "bob").await, 1, "{name}: per owner");
    }
}

/// `logins` logins of one user at once, half through each instance.
async fn parallel_logins(one: &Router, two: &Router, logins: usize) -> Vec<StatusCode> {
    let logins = (0..logins).map(|n| {
        let app = if n % 2 == 0 { one.clone() } else { two.clone() };
        async move { Client::new(app).post("/login/ada").await.status }
    });
    join_all(logins).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_logins_never_leave_more_than_the_limit_on_every_server_store() {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in stores(&dir).await {
        for round in 0..5 {
            let (one, two) = limited(&store, 3, OverLimit::EndOldest);
            let statuses = parallel_logins(&one, &two, 8).await;
            assert!(
                statuses.iter().all(|status| *status == StatusCode::OK),
                "{name}: {statuses:?}"
            );
            assert_eq!(
                live(&store, "ada").await,
                3,
                "{name} round {round}: ending the oldest"
            );
            SessionLayer::new(Arc::clone(&store), &key())
                .accounts()
                .revoke_all(&owner("ada"))
                .await
                .unwrap();

            let (one, two) = limited(&store, 3, OverLimit::Refuse);
            let statuses = parallel_logins(&one, &two, 8).await;
            let refused = statuses
                .iter()
                .filter(|s| **s == StatusCode::CONFLICT)
                .count();
            assert_eq!(refused, 5, "{name} round {round}: {statuses:?}");
            assert_eq!(
                live(&store, "ada").await,
                3,
                "{name} round {round}: refusing"
            );
            SessionLayer::new(Arc::clone(&store), &key())
                .accounts()
                .revoke_all(&owner("ada"))
                .await
                .unwrap();
        }
    }
}

/// The other side: a store that counts and then writes in two steps (the trait's default
/// `create_owned`, which `ProbeStore` keeps) lets parallel logins past the limit when its
/// writes are slow; the stores above count and write in one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_counts_then_writes_lets_parallel_logins_past_the_limit() {
    let probe = ProbeStore::new(MemoryStore::new());
    probe.delay_saves(Duration::from_millis(100));
    let store: Arc<dyn Store> = Arc::new(probe);
    let (one, two) = limited(&store, 3, OverLimit::Refuse);
    let statuses = parallel_logins(&one, &two, 8).await;
    assert!(
        statuses.iter().all(|status| *status == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(live(&store, "ada").await, 8, "nothing held them to 3");
}

/// The refusal as a handler sees it: `persist()` after `bind_owner` says so, and the
/// handler answers in its own way; a limit of 0 is refused when the layer is built.
#[tokio::test]
async fn a_refused_login_is_an_error_the_handler_can_answer() {
    use axum::extract::Path;
    use axum::routing::post;
    async fn login(visit: typed_sessions::Session<OwnedVisit>, Path(user): Path<String>) -> String {
        visit.bind_owner(&user).expect("an owner");
        match visit.persist().await {
            Ok(()) => "in".into(),
            Err(typed_sessions::Error::TooManySessions { max }) => format!("full at {max}"),
            Err(other) => other.to_string(),
        }
    }
    let app = Router::new().route("/login/{user}", post(login)).layer(
        SessionLayer::new(MemoryStore::new(), &key()).with_session_limit(1, OverLimit::Refuse),
    );
    assert_eq!(Client::new(app.clone()).post("/login/ada").await.body, "in");
    let refused = Client::new(app).post("/login/ada").await;
    assert_eq!(refused.body, "full at 1");
    assert!(refused.set_cookie().is_none(), "no session was written");

    let zero = std::panic::catch_unwind(|| {
        SessionLayer::new(MemoryStore::new(), &key()).with_session_limit(0, OverLimit::Refuse)
    });
    assert!(zero.is_err());
}
