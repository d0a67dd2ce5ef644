//! `RedisStore::connect_sentinel` on a password-protected Sentinel set-up (`scripts/
//! redis-sentinel` with passwords): the sentinels' password from their URLs, the master's
//! password and database from the master's URL.

use std::sync::Arc;
use typed_sessions::store::conformance;
use typed_sessions::{RedisStore, SessionLayer, Store};
use typed_sessions_tests::{RedisSentinel, app, key, login_flow, strs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_store_takes_credentials_and_the_database_from_the_urls() {
    let set_up = RedisSentinel::start_protected(500, "master-pw", "sentinel-pw");
    let with_password: Vec<String> = set_up
        .sentinels()
        .iter()
        .map(|url| url.replace("redis://", "redis://:sentinel-pw@"))
        .collect();
    let sentinels = strs(&with_password);
    let store = RedisStore::connect_sentinel(&sentinels, "redis://:master-pw@mymaster/3")
        .await
        .expect("valid URLs");
    conformance::run_all(Arc::new(store.clone())).await;
    login_flow(store.clone()).await;

    // The sessions are in database 3 of the master, none in database 0.
    let master = set_up.first_master_port();
    let size = |db: u8| {
        let url = format!("redis://:master-pw@127.0.0.1:{master}/{db}");
        let mut connection = redis::Client::open(url).unwrap().get_connection().unwrap();
        redis::cmd("DBSIZE").query::<u64>(&mut connection).unwrap()
    };
    assert!(size(3) > 0, "database 3 holds the sessions");
    assert_eq!(size(0), 0, "database 0 holds none");

    // Without the master's password, or the sentinels', a request that uses its session
    // is answered 503: nothing is written without the credentials.
    let no_master_password = RedisStore::connect_sentinel(&sentinels, "mymaster")
        .await
        .unwrap();
    let plain = strs(&set_up.sentinels())
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let no_sentinel_password =
        RedisStore::connect_sentinel(&strs(&plain), "redis://:master-pw@mymaster/3")
            .await
            .unwrap();
    for store in [no_master_password, no_sentinel_password] {
        assert!(
            store
                .load(&typed_sessions::store::StorageKey::from_bytes([1; 16]))
                .await
                .is_err()
        );
        let mut client = typed_sessions_tests::Client::new(app(SessionLayer::new(store, &key())));
        let reply = client.post("/visit").await;
        assert_eq!(reply.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
    }
}
