//! `RedisStore` on one Redis server: round trips per request (commandstats), a restart
//! under the app, a network partition, and an app started while Redis is down.

use axum::http::{Method, StatusCode};
use std::time::Duration;
use typed_sessions::{RedisStore, SessionLayer};
use typed_sessions_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_round_trips_per_request_measured_with_commandstats() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    // Warm up: the connection, and the save script's first load.
    client.post("/visit").await;
    client.post("/visit").await;

    let before = server.command_calls();
    client.get("/health").await;
    assert_eq!(
        server.calls_since(&before),
        Default::default(),
        "an untouched route sends nothing"
    );

    let before = server.command_calls();
    client.get("/session").await;
    let read = server.calls_since(&before);
    assert_eq!(read, [("get".to_owned(), 1)].into(), "a read: one GET");

    let before = server.command_calls();
    client.post("/visit").await;
    let write = server.calls_since(&before);
    // One GET and one EVALSHA, inside which the script runs GET and SET, and reads the
    // session's claim (`HMGET`: none).
    assert_eq!(
        write,
        [
            ("evalsha".to_owned(), 1),
            ("get".to_owned(), 2),
            ("hmget".to_owned(), 1),
            ("set".to_owned(), 1)
        ]
        .into()
    );

    let before = server.command_calls();
    Client::new(client.router().clone()).post("/visit").await;
    let create = server.calls_since(&before);
    assert_eq!(
        create,
        [
            ("evalsha".to_owned(), 1),
            ("get".to_owned(), 1),
            ("set".to_owned(), 1)
        ]
        .into(),
        "a new visitor: one round trip"
    );
    println!(
        "redis commandstats per request: read {read:?}, write {write:?}, new visitor {create:?}"
    );
}

/// Two instances race on one session: the save that loses is answered with the record
/// that won, in the same round trip, and retries without reading it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_race_is_retried_without_another_read() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let mut one = Client::new(hits(SessionLayer::new(store.clone(), &key())));
    let two = hits(SessionLayer::new(store, &key()));
    one.post("/hit").await;
    one.post("/hit").await;
    let cookie = one.cookie_header().unwrap();
    let request = |path: &str| {
        axum::http::Request::post(path)
            .header("cookie", cookie.clone())
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let before = server.command_calls();
    let slow = send_request(one.router(), request("/slow"));
    let fast = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        send_request(&two, request("/hit")).await
    };
    tokio::join!(slow, fast);
    let race = server.calls_since(&before);
    // Two loads (one a request); three saves, each a script that reads and writes: the
    // fast one's, the slow one's that lost (and claimed the next write: `HSET`, `PEXPIRE`),
    // its retry (which lets the claim go: `DEL`); the last two read the claim (`HMGET`). A
    // retry that read the record again would send a sixth GET.
    assert_eq!(
        race,
        [
            ("del".to_owned(), 1),
            ("evalsha".to_owned(), 3),
            ("get".to_owned(), 5),
            ("hmget".to_owned(), 3),
            ("hset".to_owned(), 1),
            ("pexpire".to_owned(), 1),
            ("set".to_owned(), 2)
        ]
        .into(),
        "{race:?}"
    );
    let reply = send_request(&two, request("/hit")).await;
    assert_eq!(reply.body, "5", "no update lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_recovers_by_itself_when_redis_restarts() {
    let mut server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    assert_eq!(client.post("/visit").await.view().visits, 1);

    server.stop();
    let down = client.post("/visit").await;
    client.assert_store_down(&down).await;

    server.restart();
    // The connection manager reconnects in the background; give it a moment.
    let recovered = client.until_success(Method::POST, "/visit").await;
    let reply =
        recovered.expect("requests succeed again after Redis is back, without an app restart");
    // This server keeps nothing on disk: the old session is gone, a fresh one starts.
    assert_eq!(reply.view().visits, 1);
    assert_eq!(client.post("/visit").await.view().visits, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_behind_a_network_partition_answers_503_then_recovers() {
    use typed_sessions_tests::TcpProxy;
    // `redis://[user@]host:port[/db]` -> `host:port`.
    let url = redis_url();
    let authority = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    let upstream = tokio::net::lookup_host(host_port)
        .await
        .unwrap()
        .next()
        .unwrap();
    let mut proxy = TcpProxy::new(upstream);
    proxy.restore().await;
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{}", proxy.port()))
        .await
        .unwrap()
        .with_prefix(unique("test:"));
    let app = app(SessionLayer::new(store, &key()));
    let mut client = Client::new(app.clone());
    assert_eq!(client.post("/visit").await.view().visits, 1);
    assert_eq!(client.post("/visit").await.view().visits, 2);

    // Partitioned: the connection stays up and no reply comes. Each request that needs
    // the session gets a 503 once the store's response timeout passes, instead of waiting
    // for as long as the partition lasts.
    proxy.stall();
    let bound = Duration::from_secs(30);
    client
        .assert_store_down_within(bound, Method::POST, "/visit")
        .await;

    // A write in doubt: the session loads, the partition starts while the handler works,
    // and the save (a Lua compare-and-swap) waits in the network. The client is told 503.
    proxy.restore().await;
    assert_eq!(
        client
            .until_success(Method::GET, "/session")
            .await
            .expect("back")
            .view()
            .visits,
        2,
        "the visit that could not load wrote nothing"
    );
    let mut in_doubt_client = client.clone();
    let in_doubt = tokio::spawn(async move { in_doubt_client.post("/inc/a?delay_ms=500").await });
    tokio::time::sleep(Duration::from_millis(250)).await;
    proxy.stall();
    let in_doubt = tokio::time::timeout(bound, in_doubt)
        .await
        .expect("answers")
        .unwrap();
    assert_eq!(
        in_doubt.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        in_doubt.body
    );

    // Back: the app recovers without a restart. The save that was in the network when the
    // partition ended may still arrive; it then lands whole (one atomic script), so the
    // session holds it or not, never part of it, and every earlier write is kept.
    proxy.restore().await;
    let after = client
        .until_success(Method::GET, "/session")
        .await
        .expect("recovers without an app restart")
        .view();
    assert_eq!(after.visits, 2);
    assert!(after.a <= 1, "{after:?}");
    println!(
        "the save in doubt landed after the partition: {}",
        after.a == 1
    );
    let next = client.post("/inc/a").await.view();
    assert_eq!((next.visits, next.a), (2, after.a + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_started_while_redis_is_down_serves_sessions_once_it_is_up() {
    let mut server = RedisServer::not_started();
    let store = RedisStore::connect(&server.url())
        .await
        .expect("the store is created without connecting");
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    let down = client.post("/visit").await;
    client.assert_store_down(&down).await;
    server.restart();
    let served = client.until_success(Method::POST, "/visit").await;
    assert_eq!(served.expect("serves once Redis is up").view().visits, 1);
    assert_eq!(client.post("/visit").await.view().visits, 2);
}

/// A key prefix with a brace would break the hash tag each key carries: refused, naming it.
#[tokio::test]
async fn a_key_prefix_with_a_brace_is_refused() {
    for prefix in ["app{", "}app:", "a{b}c:"] {
        let store = redis_store().await;
        let refused =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.with_prefix(prefix)));
        let message = refused.expect_err(prefix);
        let message = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains("cannot hold"), "{prefix}: {message}");
    }
    let _kept = redis_store().await.with_prefix("app:session:");
}

/// The owner index's key is named by a hash of the owner: no Redis key shows a user id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_redis_key_shows_a_user_id() {
    let prefix = unique("test:");
    let store = RedisStore::connect(&redis_url())
        .await
        .unwrap()
        .with_prefix(prefix.clone());
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    let user = "ada-lovelace-1815";
    client.post(&format!("/login/{user}")).await;
    assert_eq!(client.get("/sessions").await.status, StatusCode::OK);
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2, "the session and its owner's index: {keys:?}");
    assert!(keys.iter().all(|key| !key.contains(user)), "{keys:?}");
}
