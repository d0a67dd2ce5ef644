//! The demo over a real TCP socket, with a cookie-keeping HTTP client.

use typed_sessions::{FileStore, SessionLayer};
use typed_sessions_tests::key;
use typed_sessions_tests::{View, app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_sessions_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let layer = SessionLayer::new(FileStore::open(dir.path()).unwrap(), &key());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app(layer)).await });

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let post = |path: &str| browser.post(format!("{base}{path}")).send();
    let view = |response: reqwest::Response| async move {
        assert!(response.status().is_success(), "{}", response.status());
        response.json::<View>().await.unwrap()
    };

    assert_eq!(
        browser
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(view(post("/visit").await.unwrap()).await.visits, 1);
    assert_eq!(view(post("/visit").await.unwrap()).await.visits, 2);
    assert_eq!(
        view(post("/login/ada").await.unwrap())
            .await
            .user
            .as_deref(),
        Some("ada")
    );
    let response = browser
        .post(format!("{base}/note"))
        .body("x".repeat(100))
        .send()
        .await
        .unwrap();
    assert_eq!(view(response).await.note_len, 100);
    let current = view(browser.get(format!("{base}/session")).send().await.unwrap()).await;
    assert_eq!(
        (current.visits, current.user.as_deref(), current.note_len),
        (2, Some("ada"), 100)
    );
    assert_eq!(view(post("/logout").await.unwrap()).await.visits, 0);
    let after = view(browser.get(format!("{base}/session")).send().await.unwrap()).await;
    assert_eq!(
        after,
        View {
            visits: 0,
            user: None,
            a: 0,
            b: 0,
            note_len: 0
        }
    );
    server.abort();
}
