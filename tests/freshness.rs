//! "Sudo mode": `Fresh<T>` lets a handler run only when the session's user authenticated
//! within the layer's freshness (`bind_owner` on login, `reauthenticated()` after), on
//! every backend; otherwise 403 and the session is left as it was.

use axum::http::StatusCode;
use std::time::Duration;
use typed_sessions_tests::*;

const FRESHNESS: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensitive_route_needs_a_recent_login_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, layer) in every_layer(&dir).await {
        let app = owner_routes().layer(layer.with_freshness(FRESHNESS));
        let mut client = Client::new(app);
        let anonymous = client.post("/sensitive").await;
        assert_eq!(
            anonymous.status,
            StatusCode::FORBIDDEN,
            "{kind:?}: no owner"
        );
        assert_eq!(client.post("/sudo").await.status, StatusCode::OK);

        client.post("/login/ada").await;
        assert_eq!(
            client.post("/sensitive").await.body,
            "ok",
            "{kind:?}: just logged in"
        );
        assert_eq!(client.get("/me").await.body, "ada 2", "{kind:?}");

        tokio::time::sleep(FRESHNESS + Duration::from_millis(50)).await;
        let before = client.cookie_header();
        let stale = client.post("/sensitive").await;
        assert_eq!(
            stale.status,
            StatusCode::FORBIDDEN,
            "{kind:?}: {}",
            stale.body
        );
        assert!(
            stale.set_cookie().is_none(),
            "{kind:?}: nothing written or sent"
        );
        assert_eq!(client.cookie_header(), before);
        assert_eq!(
            client.get("/me").await.body,
            "ada 2",
            "{kind:?}: the handler did not run"
        );

        assert_eq!(client.post("/sudo").await.status, StatusCode::OK);
        assert_eq!(
            client.post("/sensitive").await.body,
            "ok",
            "{kind:?}: after /sudo"
        );
        tokio::time::sleep(FRESHNESS + Duration::from_millis(50)).await;
        // Logging in again as the same user counts too.
        client.post("/login/ada").await;
        assert_eq!(
            client.post("/sensitive").await.body,
            "ok",
            "{kind:?}: a new login"
        );
    }
}
