//! The SQL stores: migrations run at once, sweeping expired rows, PostgreSQL down at
//! start-up, lost mid-traffic, partitioned, crashed after a logout, and restarted while the
//! app was idle.

use axum::http::Method;
use std::sync::Arc;
use std::time::Duration;
use typed_sessions::store::conformance;
use typed_sessions::{SessionLayer, Store};
use typed_sessions_tests::*;

/// Instances that start together migrate together. Found by the load benchmark: two
/// servers starting at once, one failed its `CREATE TABLE IF NOT EXISTS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_migrating_at_once_all_succeed() {
    let table = unique("race_");
    let schema = unique("race_schema_");
    let stores = spawn_all((0..8).map(|_| {
        let (table, schema) = (table.clone(), schema.clone());
        async move {
            typed_sessions::PostgresStore::connect(&typed_sessions_tests::database_url())
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
    for result in spawn_all(migrations).await {
        result.expect("every instance's migration succeeds");
    }
    conformance::run_all(Arc::new(stores[0].clone())).await;

    let pool = sqlx::PgPool::connect(&typed_sessions_tests::database_url())
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&pool)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_stores_sweep_expired_rows_and_keep_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_store(&dir).await;
    let postgres = postgres_store().await;
    let stores: [(&dyn Store, &str); 2] = [(&sqlite, "sqlite"), (&postgres, "postgres")];
    for (store, name) in stores {
        save_records(store, 25, Duration::from_millis(50)).await;
        let keep = save_records(store, 1, Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(store.sweep_expired().await.unwrap(), 25, "{name}");
        assert_eq!(store.sweep_expired().await.unwrap(), 0, "{name}");
        assert!(store.load(&keep[0]).await.unwrap().is_some(), "{name}");
    }
}

/// A proxy (not yet accepting) in front of the tests' PostgreSQL, and the options that
/// connect through it.
async fn postgres_proxy() -> (
    typed_sessions_tests::TcpProxy,
    sqlx::postgres::PgConnectOptions,
) {
    use std::str::FromStr;
    let direct =
        sqlx::postgres::PgConnectOptions::from_str(&typed_sessions_tests::database_url()).unwrap();
    let upstream = tokio::net::lookup_host((direct.get_host(), direct.get_port()))
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = typed_sessions_tests::TcpProxy::new(upstream);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_behind_a_network_partition_answers_503_then_recovers() {
    let (mut proxy, through_proxy) = postgres_proxy().await;
    proxy.restore().await;
    // A pool on sqlx's defaults, as an application might pass it: waiting up to 30 s for a
    // connection, each checked with a ping that a partition stalls too.
    let pool = sqlx::PgPool::connect_lazy_with(through_proxy);
    let store = typed_sessions::PostgresStore::from_pool(pool)
        .with_table(Some("typed_sessions_tests"), &unique("t_"))
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
    let (mut server, mut client) = server_of_its_own().await;
    client.post("/login/ada").await;
    let cookie = client.cookie_header().expect("cookie");
    // The session itself on disk: saves do not wait for the flush (`connect`'s
    // `synchronous_commit = off`), and the server flushes only every 10 s here.
    checkpoint(&server).await;

    assert!(client.post("/logout").await.status.is_success());
    server.crash();
    server.restart();
    let store = typed_sessions::PostgresStore::connect(&server.url())
        .await
        .expect("url");
    let after = view_with(&app(SessionLayer::new(store, &key())), &cookie).await;
    assert_eq!(after.user, None, "the logout was undone by the crash");
}

/// `PostgresStore::connect` pings a pooled connection only when it has been idle for over a
/// second (sqlx's default pings every one: a round trip more per request). A database
/// restarted while the app was idle is still noticed before a request meets a connection
/// to the server that is gone.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restarted_while_the_app_was_idle_fails_no_request() {
    let (mut server, mut client) = server_of_its_own().await;
    assert_eq!(client.post("/visit").await.view().visits, 1);
    // The visit on disk, so that the crash keeps it (saves do not wait for the flush).
    checkpoint(&server).await;

    server.crash();
    server.restart();
    // Idle past the threshold, as an app between two visitors.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let first = client.post("/visit").await;
    assert!(
        first.status.is_success(),
        "the first request after the restart met a dead connection: {}",
        first.status
    );
    assert_eq!(first.view().visits, 2);
}

/// A PostgreSQL server of the test's own, and a client of the test app on a store that
/// `PostgresStore::connect` made for it.
#[cfg(unix)]
async fn server_of_its_own() -> (typed_sessions_tests::PostgresServer, Client) {
    let server = typed_sessions_tests::PostgresServer::start();
    let store = typed_sessions::PostgresStore::connect(&server.url())
        .await
        .expect("url");
    store.migrate().await.expect("migrate");
    (server, Client::new(app(SessionLayer::new(store, &key()))))
}

/// Everything `server` has committed, written to disk (a `CHECKPOINT`).
#[cfg(unix)]
async fn checkpoint(server: &typed_sessions_tests::PostgresServer) {
    let pool = sqlx::PgPool::connect(&server.url()).await.expect("connect");
    sqlx::query("CHECKPOINT")
        .execute(&pool)
        .await
        .expect("checkpoint");
    pool.close().await;
}

/// A SQL store sweeps expired rows by itself once per sweep interval, after a create; with
/// `Duration::ZERO` it never does, and `sweep_expired` finds them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_stores_sweep_by_themselves_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    for interval in [Duration::from_millis(200), Duration::ZERO] {
        let sqlite = sqlite_store(&dir).await.with_sweep_interval(interval);
        let postgres = postgres_store().await.with_sweep_interval(interval);
        let stores: [(&dyn Store, &str); 2] = [(&sqlite, "sqlite"), (&postgres, "postgres")];
        for (store, name) in stores {
            save_records(store, 5, Duration::from_millis(50)).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            // The create that finds the interval passed sweeps.
            save_records(store, 1, Duration::from_secs(60)).await;
            let left = store.sweep_expired().await.unwrap();
            let expected = if interval.is_zero() { 5 } else { 0 };
            assert_eq!(left, expected, "{name}, every {interval:?}");
        }
    }
}
