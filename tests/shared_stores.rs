//! Redis, PostgreSQL and SQLite: the conformance suite, the demo on each, two instances
//! sharing one store, round trips per request, and Redis restarting under the app.

use crate::concurrency::{
    a_hot_session_loses_no_update, different_fields_are_both_kept,
    slow_requests_never_revive_an_ended_session,
};
use axum::http::{Method, StatusCode};
use session::store::StorageKey;
use session::store::conformance;
use session::{CookieBackend, FileStore, MemoryStore, RedisStore, SessionLayer, Store};
use session_examples::app;
use session_tests::{
    Client, IdCookies, ProbeStore, RedisServer, SECRET, capture_logs, key, postgres_store,
    redis_store, redis_url, send, sqlite_store, unique, view_with,
};
use std::sync::Arc;
use std::time::Duration;

/// One layer on each store, new tables and prefixes, with whether the store keeps its
/// sessions on the server (`false`: a cookie store). Files and SQLite live in `dir`.
pub(crate) async fn a_layer_on_every_store(dir: &tempfile::TempDir) -> Vec<(SessionLayer, bool)> {
    let files = FileStore::open(dir.path().join("files")).unwrap();
    vec![
        (SessionLayer::new(MemoryStore::new(), &key()), true),
        (SessionLayer::new(files, &key()), true),
        (SessionLayer::new(sqlite_store(dir).await, &key()), true),
        (SessionLayer::new(redis_store().await, &key()), true),
        (SessionLayer::new(postgres_store().await, &key()), true),
        (SessionLayer::new(CookieBackend::sealed(), &key()), false),
        (SessionLayer::new(CookieBackend::signed(), &key()), false),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_meets_the_contract() {
    conformance::run_all(Arc::new(redis_store().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_meets_the_contract() {
    conformance::run_all(Arc::new(postgres_store().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run_all(Arc::new(sqlite_store(&dir).await)).await;
}

/// Login, a rotated id, concurrent field updates and logout, through the demo.
pub(crate) async fn demo_flow(store: impl Store + Clone) {
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
    different_fields_are_both_kept(store.clone()).await;
    a_hot_session_loses_no_update(store, 8, 25).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_works_on_redis() {
    demo_flow(redis_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_works_on_postgres() {
    demo_flow(postgres_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_works_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    demo_flow(sqlite_store(&dir).await).await;
}

/// Two app instances, each with its own store object on the same backend.
pub(crate) async fn two_instances(first: impl Store, second: impl Store) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_through_redis_and_postgres() {
    let prefix = unique("test:");
    let redis = async || {
        RedisStore::connect(&redis_url())
            .await
            .unwrap()
            .with_prefix(prefix.clone())
    };
    two_instances(redis().await, redis().await).await;
    let postgres = postgres_store().await;
    two_instances(postgres.clone(), postgres).await;
}

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
    // One GET and one EVALSHA, inside which the script runs GET and SET.
    assert_eq!(
        write,
        [
            ("evalsha".to_owned(), 1),
            ("get".to_owned(), 2),
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
    use session_tests::TcpProxy;
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

/// Instances that start together migrate together. Found by the load benchmark: two
/// servers starting at once, one failed its `CREATE TABLE IF NOT EXISTS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_migrating_at_once_all_succeed() {
    let table = unique("race_");
    let schema = unique("race_schema_");
    let stores = futures_join_all((0..8).map(|_| {
        let (table, schema) = (table.clone(), schema.clone());
        async move {
            session::PostgresStore::connect(&session_tests::database_url())
                .await
                .unwrap()
                .with_table(Some(&schema), &table)
                .unwrap()
        }
    }))
    .await;
    let migrations = stores
        .iter()
        .cloned()
        .map(|store| async move { store.migrate().await });
    for result in futures_join_all(migrations).await {
        result.expect("every instance's migration succeeds");
    }
    conformance::run_all(Arc::new(stores[0].clone())).await;

    let pool = sqlx::PgPool::connect(&session_tests::database_url())
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&pool)
    .await
    .unwrap();
}

/// `join_all` without a futures dependency: every future on its own task.
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_stores_sweep_expired_rows_and_keep_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_store(&dir).await;
    let postgres = postgres_store().await;
    let later = |ms| std::time::SystemTime::now() + Duration::from_millis(ms);
    let stores: [(&dyn Store, &str); 2] = [(&sqlite, "sqlite"), (&postgres, "postgres")];
    for (store, name) in stores {
        for _ in 0..25 {
            let _ = store
                .save(&StorageKey::random(), b"x", later(50), None, None)
                .await
                .unwrap();
        }
        let keep = StorageKey::random();
        let _ = store
            .save(&keep, b"keep", later(60_000), None, None)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(store.sweep_expired().await.unwrap(), 25, "{name}");
        assert_eq!(store.sweep_expired().await.unwrap(), 0, "{name}");
        assert!(store.load(&keep).await.unwrap().is_some(), "{name}");
    }
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
                    let reply = session_tests::send(
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
    soak(session::MemoryStore::new(), "memory").await;
    soak(
        session::FileStore::open(dir.path().join("files")).unwrap(),
        "file",
    )
    .await;
    soak(redis_store().await, "redis").await;
    soak(postgres_store().await, "postgres").await;
    soak(sqlite_store(&dir).await, "sqlite").await;
}

/// A proxy (not yet accepting) in front of the tests' PostgreSQL, and the options that
/// connect through it.
async fn postgres_proxy() -> (session_tests::TcpProxy, sqlx::postgres::PgConnectOptions) {
    use std::str::FromStr;
    let direct =
        sqlx::postgres::PgConnectOptions::from_str(&session_tests::database_url()).unwrap();
    let upstream = tokio::net::lookup_host((direct.get_host(), direct.get_port()))
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = session_tests::TcpProxy::new(upstream);
    let through_proxy = direct.host("127.0.0.1").port(proxy.port());
    (proxy, through_proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_at_start_lost_mid_traffic_and_back() {
    use sqlx::postgres::PgPoolOptions;

    let table = postgres_store().await; // creates a table of its own, directly
    let (mut proxy, through_proxy) = postgres_proxy().await;
    // Fail fast while the database is away, instead of queueing requests for 30 s.
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy_with(through_proxy);
    let store = table.with_pool(pool);
    let mut client = Client::new(app(SessionLayer::new(store, &key())));

    // Down at start: clear errors for session routes, nothing else affected.
    let down = client.post("/visit").await;
    client.assert_store_down(&down).await;
    proxy.restore().await;
    assert_eq!(client.post("/visit").await.view().visits, 1);
    assert_eq!(client.post("/visit").await.view().visits, 2);

    // Lost mid-traffic.
    proxy.cut().await;
    let down = client.post("/visit").await;
    client.assert_store_down(&down).await;

    // Back: the same session, with exactly the writes that were answered 2xx.
    proxy.restore().await;
    let recovered = client.until_success(Method::GET, "/session").await;
    assert_eq!(
        recovered
            .expect("recovers without an app restart")
            .view()
            .visits,
        2,
        "nothing half-saved"
    );
    assert_eq!(client.post("/visit").await.view().visits, 3);
}

/// The permission bits of `path`.
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_and_sqlite_sessions_are_readable_by_their_owner_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sessions = dir.path().join("app/sessions");
    let mut files = Client::new(app(SessionLayer::new(
        session::FileStore::open(&sessions).expect("dir"),
        &key(),
    )));
    files.post("/visit").await;
    assert_eq!(mode(&dir.path().join("app")), 0o700);
    assert_eq!(mode(&sessions), 0o700);
    let written: Vec<_> = std::fs::read_dir(&sessions).expect("dir").collect();
    assert_eq!(written.len(), 1);
    for file in written {
        assert_eq!(mode(&file.expect("entry").path()), 0o600);
    }

    let mut sqlite = Client::new(app(SessionLayer::new(sqlite_store(&dir).await, &key())));
    sqlite.post("/visit").await;
    for name in ["sessions.db", "sessions.db-wal", "sessions.db-shm"] {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
}

/// Stores keep a session under its id's storage key, never under the id its cookie holds;
/// a stored key signed into a cookie opens nothing.
async fn sessions_are_stored_under_a_hash_of_the_id(store: impl Store + Clone) {
    let mut client = Client::new(app(SessionLayer::new(store.clone(), &key())));
    client.post("/visit").await;
    let value = client.cookie("id").expect("a session cookie").to_owned();
    let cookies = IdCookies::new(&SECRET);
    let id = cookies.verify("id", &value).expect("genuine");
    let as_key = StorageKey::from_bytes(id);
    assert!(
        store.load(&as_key).await.expect("load").is_none(),
        "kept by id"
    );
    let stored_key = IdCookies::storage_key(&id);
    assert!(store.load(&stored_key).await.expect("load").is_some());

    let forged = format!("id={}", cookies.sign("id", stored_key.as_bytes()));
    let reply = send(client.router(), Method::GET, "/session", Some(&forged), "").await;
    assert_eq!(reply.view().visits, 0, "a stored key opened a session");
    assert!(
        store
            .load(&IdCookies::storage_key(stored_key.as_bytes()))
            .await
            .expect("load")
            .is_none(),
        "nothing is kept for the forged cookie"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_store_keeps_sessions_under_a_hash_of_the_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    sessions_are_stored_under_a_hash_of_the_id(session::MemoryStore::new()).await;
    let files = session::FileStore::open(dir.path().join("files")).expect("dir");
    sessions_are_stored_under_a_hash_of_the_id(files).await;
    sessions_are_stored_under_a_hash_of_the_id(sqlite_store(&dir).await).await;
    sessions_are_stored_under_a_hash_of_the_id(redis_store().await).await;
    sessions_are_stored_under_a_hash_of_the_id(postgres_store().await).await;
}

/// Every error path on `store` (a race lost to another instance, a rotation, a logout, a
/// corrupt record, the store down on load and on save), with the logs captured: no id a
/// cookie held appears in them, and each failure states its cause once.
async fn error_paths_log_no_session_id(store: impl Store + Clone) {
    let (_guard, logs) = capture_logs();
    let probe = ProbeStore::new(store.clone());
    let cookies = IdCookies::new(&SECRET);
    let mut client = Client::new(app(SessionLayer::new(probe.clone(), &key())));
    let mut other = Client::new(app(SessionLayer::new(store.clone(), &key())));
    let mut ids = Vec::new();
    let mut remember = |client: &Client| {
        let value = client.cookie("id").expect("a session cookie").to_owned();
        ids.push((cookies.verify("id", &value).expect("genuine"), value));
    };

    client.post("/visit").await;
    remember(&client);
    // Two instances (two turn tables, like two processes) writing at once: lost races.
    other.jar = client.jar.clone();
    let cookie = client.cookie_header().expect("cookie");
    let routers = [
        client.router(),
        other.router(),
        client.router(),
        other.router(),
    ];
    let racing = routers.map(|router| {
        let (router, cookie) = (router.clone(), cookie.clone());
        async move {
            send(
                &router,
                Method::POST,
                "/inc/a?delay_ms=5",
                Some(&cookie),
                "",
            )
            .await
        }
    });
    for reply in futures_join_all(racing).await {
        assert!(reply.status.is_success(), "{}", reply.status);
    }
    client.post("/login/ada").await;
    remember(&client);
    probe.set_down(true);
    assert_eq!(
        client.get("/session").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        client.post("/visit").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    probe.set_down(false);
    client.post("/logout").await;

    // A record that does not decode, under a genuine signed cookie.
    let corrupt = *StorageKey::random().as_bytes();
    let expires = std::time::SystemTime::now() + Duration::from_secs(60);
    let saved = store
        .save(
            &IdCookies::storage_key(&corrupt),
            b"garbage",
            expires,
            None,
            None,
        )
        .await;
    assert!(matches!(saved, Ok(session::store::SaveOutcome::Saved(_))));
    let value = cookies.sign("id", &corrupt);
    let reply = send(
        client.router(),
        Method::GET,
        "/session",
        Some(&format!("id={value}")),
        "",
    )
    .await;
    assert_eq!(reply.view().visits, 0);
    ids.push((corrupt, value));

    let text = logs.text();
    for expected in ["corrupt session", "session failed", "rebasing"] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    for (id, value) in &ids {
        for secret in [StorageKey::from_bytes(*id).to_base64(), value.clone()] {
            assert!(!text.contains(&secret), "{secret} in:\n{text}");
        }
    }
    for line in text.lines().filter(|line| line.contains("store is down")) {
        assert_eq!(line.matches("store is down").count(), 1, "{line}");
    }
}

#[tokio::test]
async fn no_error_path_logs_a_session_id_on_any_server_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    error_paths_log_no_session_id(session::MemoryStore::new()).await;
    error_paths_log_no_session_id(session::FileStore::open(dir.path().join("f")).expect("dir"))
        .await;
    error_paths_log_no_session_id(sqlite_store(&dir).await).await;
    error_paths_log_no_session_id(redis_store().await).await;
    error_paths_log_no_session_id(postgres_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_never_revive_an_ended_session_on_sqlite_redis_and_postgres() {
    let dir = tempfile::tempdir().expect("temp dir");
    slow_requests_never_revive_an_ended_session(|| sqlite_store(&dir)).await;
    slow_requests_never_revive_an_ended_session(|| async { redis_store().await }).await;
    slow_requests_never_revive_an_ended_session(postgres_store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_behind_a_network_partition_answers_503_then_recovers() {
    let (mut proxy, through_proxy) = postgres_proxy().await;
    proxy.restore().await;
    // A pool on sqlx's defaults, as an application might pass it: waiting up to 30 s for a
    // connection, each checked with a ping that a partition stalls too.
    let pool = sqlx::PgPool::connect_lazy_with(through_proxy);
    let store = session::PostgresStore::from_pool(pool)
        .with_table(Some("session_tests"), &unique("t_"))
        .expect("name");
    store.migrate().await.expect("migrate");
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    assert_eq!(client.post("/visit").await.view().visits, 1);
    assert_eq!(client.post("/visit").await.view().visits, 2);

    // Partitioned: the connections stay up and no reply comes. Each request that needs
    // the session answers 503 once the store's 2-second operation timeout passes, instead
    // of waiting for the pool's 30 s, or for TCP to give up.
    proxy.stall();
    let bound = Duration::from_secs(10);
    client
        .assert_store_down_within(bound, Method::POST, "/visit")
        .await;
    client
        .assert_store_down_within(bound, Method::GET, "/session")
        .await;

    proxy.restore().await;
    let back = client.until_success(Method::GET, "/session").await;
    assert_eq!(back.expect("back").view().visits, 2);
    assert_eq!(client.post("/visit").await.view().visits, 3);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_logout_survives_a_crash_of_the_database_server() {
    let mut server = session_tests::PostgresServer::start();
    let store = session::PostgresStore::connect(&server.url())
        .await
        .expect("url");
    store.migrate().await.expect("migrate");
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    client.post("/login/ada").await;
    let cookie = client.cookie_header().expect("cookie");
    // The session itself on disk: saves do not wait for the flush (`connect`'s
    // `synchronous_commit = off`), and the server flushes only every 10 s here.
    let pool = sqlx::PgPool::connect(&server.url()).await.expect("connect");
    sqlx::query("CHECKPOINT")
        .execute(&pool)
        .await
        .expect("checkpoint");
    pool.close().await;

    assert!(client.post("/logout").await.status.is_success());
    server.crash();
    server.restart();
    let store = session::PostgresStore::connect(&server.url())
        .await
        .expect("url");
    let after = view_with(&app(SessionLayer::new(store, &key())), &cookie).await;
    assert_eq!(after.user, None, "the logout was undone by the crash");
}
