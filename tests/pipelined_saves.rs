//! Pipelined saves of a hot session (Redis): the request that holds the session's turn
//! lets go of it once its replace is sent, so that the next save goes out expecting the
//! version that one writes. Both sides of the interleaving: every save in order wins, and a
//! save sent behind one that loses loses too, and is made again; no update is lost or made
//! twice either way.

use axum::http::Method;
use std::time::Duration;
use typed_sessions::{RedisStore, SessionLayer};
use typed_sessions_tests::{
    Client, ProbeStore, Reply, app, key, redis_store, redis_url, send, spawn_all, unique,
};

/// Eight requests of one session that each increment `a`, starting 10 ms apart, against
/// Redis behind `store`, whose saves take 30 ms to reach it: the replies, and `a`.
async fn eight_staggered_writers(store: &ProbeStore) -> (Vec<Reply>, u64) {
    let mut client = Client::new(app(SessionLayer::new(store.clone(), &key())));
    client.post("/visit").await;
    let cookie = client.cookie_header().expect("cookie");
    let router = client.router().clone();
    store.delay_saves(Duration::from_millis(30));
    let replies = spawn_all((0..8).map(|writer| {
        let (router, cookie) = (router.clone(), cookie.clone());
        let path = format!("/inc/a?delay_ms={}", 50 + 10 * writer);
        async move { send(&router, Method::POST, &path, Some(&cookie), "").await }
    }))
    .await;
    store.delay_saves(Duration::ZERO);
    (replies, client.get("/session").await.view().a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_session_s_saves_go_out_before_the_answers_to_those_ahead() {
    let store = ProbeStore::new(redis_store().await);
    // The first save goes alone (nothing to build on yet) and holds the turn. From the
    // second on, each save builds on the one before, goes out, and lets go of the turn:
    // the next request's save is sent while it is under way. Requests gathered into a
    // save that let go of the turn wait for its outcome instead of saving again.
    let (replies, a) = eight_staggered_writers(&store).await;
    assert!(replies.iter().all(|reply| reply.status.is_success()));
    assert_eq!(a, 8, "every increment kept, none made twice");
    let counts = store.counts();
    assert!(
        store.most_in_flight() >= 2,
        "saves of one session were sent one at a time: {counts:?}"
    );
    assert_eq!(counts.conflicts, 0, "a save sent in order lost: {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_sent_behind_one_that_loses_loses_too_and_is_made_again() {
    let prefix = unique("test:");
    let redis = || async {
        let store = RedisStore::connect(&redis_url()).await.expect("valid URL");
        store.with_prefix(prefix.clone())
    };
    let store = ProbeStore::new(redis().await);
    // Another process writes the session just before the first pipelined save reaches
    // Redis: that save loses, and so does the next, sent meanwhile expecting the version
    // the first would have written. Each is made again on the record that won.
    store.interfere_once_with(redis().await);
    let (replies, a) = eight_staggered_writers(&store).await;
    assert!(replies.iter().all(|reply| reply.status.is_success()));
    assert_eq!(a, 8, "every increment kept, none made twice");
    let counts = store.counts();
    assert!(
        counts.conflicts >= 2,
        "the save sent behind the one that lost should have lost too: {counts:?}"
    );
}
