//! Periodic rotation (`with_rotation_interval`): a session whose id is older moves to a new
//! id on its next request, its data kept; the old id leads to the new one for the grace
//! window (requests in flight), and after it is a replay, which ends the session under every
//! id on a server store. Cookie stores rotate but cannot tell a replay.

use axum::http::{Method, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use typed_sessions::{SessionLayer, Store};
use typed_sessions_tests::*;

const INTERVAL: Duration = Duration::from_millis(300);

fn rotating(store: &Arc<dyn Store>, grace: Duration) -> SessionLayer {
    SessionLayer::new(Arc::clone(store), &key())
        .with_rotation_interval(INTERVAL)
        .with_rotation_grace(grace)
}

async fn visits(app: &axum::Router, cookie: &str) -> (u64, Option<String>) {
    let reply = send(app, Method::POST, "/visit", Some(cookie), "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let renewed = reply.set_cookie().map(|c| format!("id={}", c.value()));
    (reply.view().visits, renewed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_id_moves_to_a_new_one_and_a_copy_sent_after_the_grace_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut stores = every_server_store(&dir).await;
    stores.push((StoreKind::Redis, Arc::new(redis_cluster_store().await)));
    for (kind, store) in stores {
        let app = app(rotating(&store, Duration::from_millis(400)));
        let mut client = Client::new(app.clone());
        assert_eq!(client.post("/visit").await.view().visits, 1);
        let first = client.cookie_header().expect("a cookie");
        let (n, renewed) = visits(&app, &first).await;
        assert_eq!(
            (n, renewed),
            (2, None),
            "{kind:?}: younger than the interval"
        );

        tokio::time::sleep(INTERVAL + Duration::from_millis(50)).await;
        let (n, renewed) = visits(&app, &first).await;
        let second = renewed.expect("a new id once the old one is older than the interval");
        assert_eq!(n, 3, "{kind:?}: the data is kept");
        assert_ne!(second, first);
        // Within the grace window, the old id (a request that was in flight) goes on as
        // the session, and is handed the new id.
        let (n, handed) = visits(&app, &first).await;
        assert_eq!(n, 4, "{kind:?}: the old id within the grace window");
        assert_eq!(handed.as_deref(), Some(second.as_str()), "{kind:?}");
        assert_eq!(visits(&app, &second).await, (5, None), "{kind:?}");

        // After the window the old id is a replay: the session ends under every id.
        tokio::time::sleep(Duration::from_millis(450)).await;
        let (n, _) = visits(&app, &first).await;
        assert_eq!(n, 1, "{kind:?}: the replayed id gets a fresh session");
        let (n, _) = visits(&app, &second).await;
        assert_eq!(n, 1, "{kind:?}: the session's current id is ended too");
    }
}

/// A request that loaded the session before another moved it to a new id saves into the
/// session under its new id (within the grace window): nothing it did is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_during_a_rotation_saves_under_the_new_id() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, store) in every_server_store(&dir).await {
        let app = app(rotating(&store, Duration::from_secs(10)));
        let mut client = Client::new(app.clone());
        client.post("/visit").await;
        let first = client.cookie_header().expect("a cookie");
        tokio::time::sleep(INTERVAL).await;
        // Loads now (and would rotate, but it sleeps first); the visit below rotates.
        let slow = send(&app, Method::POST, "/inc/a?delay_ms=400", Some(&first), "");
        let rotate = async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            visits(&app, &first).await
        };
        let (slow, (n, renewed)) = tokio::join!(slow, rotate);
        let second = renewed.expect("rotated");
        assert_eq!(n, 2, "{kind:?}");
        assert_eq!(slow.status, StatusCode::OK, "{kind:?}: {}", slow.body);
        let seen = view_with(&app, &second).await;
        assert_eq!((seen.visits, seen.a), (2, 1), "{kind:?}: both kept");

        // A request that loaded the session before it was due saves after the move: its
        // save finds the old record gone, and goes to the new id.
        let mut client = Client::new(app.clone());
        client.post("/visit").await;
        let first = client.cookie_header().expect("a cookie");
        let slow = send(&app, Method::POST, "/inc/b?delay_ms=600", Some(&first), "");
        let rotate = async {
            tokio::time::sleep(INTERVAL + Duration::from_millis(50)).await;
            visits(&app, &first).await
        };
        let (slow, (_, renewed)) = tokio::join!(slow, rotate);
        let second = renewed.expect("rotated");
        assert_eq!(slow.status, StatusCode::OK, "{kind:?}: {}", slow.body);
        let seen = view_with(&app, &second).await;
        assert_eq!(
            (seen.visits, seen.b),
            (2, 1),
            "{kind:?}: the late save kept"
        );
    }
}

/// A login's new id has no grace: the id from before the login stops at once, even with
/// periodic rotation on. And the cookie stores rotate, but the old cookie still opens (they
/// keep nothing to tell a replay by).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_retires_its_old_id_at_once_and_cookie_stores_rotate_without_detection() {
    let store: Arc<dyn Store> = Arc::new(typed_sessions::MemoryStore::new());
    let served = app(rotating(&store, Duration::from_secs(10)));
    let mut client = Client::new(served.clone());
    client.post("/visit").await;
    let before = client.cookie_header().expect("a cookie");
    client.post("/login/ada").await;
    assert_eq!(
        view_with(&served, &before).await.visits,
        0,
        "no grace for a login"
    );

    for backend in [
        typed_sessions::CookieBackend::sealed(),
        typed_sessions::CookieBackend::signed(),
    ] {
        let router = app(SessionLayer::new(backend, &key()).with_rotation_interval(INTERVAL));
        let mut client = Client::new(router.clone());
        client.post("/visit").await;
        let first = client.cookie_header().expect("a cookie");
        tokio::time::sleep(INTERVAL + Duration::from_millis(50)).await;
        let reply = send(&router, Method::POST, "/visit", Some(&first), "").await;
        let second = reply.set_cookie().expect("a new cookie");
        assert_eq!(reply.view().visits, 2);
        assert_ne!(format!("id={}", second.value()), first);
        assert_eq!(
            view_with(&router, &first).await.visits,
            1,
            "the old cookie still opens"
        );
    }
}
