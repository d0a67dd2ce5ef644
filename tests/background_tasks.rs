//! The library's one background task, the Sentinel store's watch of which server is master,
//! ends when the layer (and with it the store) is dropped. The stores that sweep expired
//! records (memory, file, SQL) do it on their own calls, with no task of their own.

use std::time::Duration;
use typed_sessions::SessionLayer;
use typed_sessions_tests::{Client, app, key, redis_sentinel_store};

/// Tasks alive on this runtime once the ones that are ending have ended (a connection's
/// driver ends a moment after its last handle is dropped).
async fn alive_settled() -> usize {
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[tokio::test(flavor = "current_thread")]
async fn a_sentinel_stores_watch_ends_with_its_layer() {
    let before = alive_settled().await;
    let layer = SessionLayer::new(redis_sentinel_store().await, &key());
    let mut client = Client::new(app(layer.clone()));
    assert_eq!(client.post("/visit").await.view().visits, 1);
    assert!(
        alive_settled().await > before,
        "the watch runs while the layer lives"
    );
    drop((client, layer));
    // Well before the watch's next wake-up (every 500 ms): it was told, not left to find out.
    assert_eq!(
        alive_settled().await,
        before,
        "every task of the store has ended"
    );
    // The runtime goes on: a new layer works.
    let mut client = Client::new(app(SessionLayer::new(redis_sentinel_store().await, &key())));
    assert_eq!(client.post("/visit").await.view().visits, 1);
}
