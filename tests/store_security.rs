//! What a store holds gives nothing away: sessions under a hash of their id, no session id
//! in any error path's log, and session files and databases readable by their owner only.

use axum::http::{Method, StatusCode};
use std::time::Duration;
use typed_sessions::store::StorageKey;
use typed_sessions::{SessionLayer, Store};
use typed_sessions_tests::*;

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
        typed_sessions::FileStore::open(&sessions).expect("dir"),
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
    for (_, store) in every_server_store(&dir).await {
        sessions_are_stored_under_a_hash_of_the_id(store).await;
    }
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
    for reply in spawn_all(racing).await {
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
    assert!(matches!(
        saved,
        Ok(typed_sessions::store::SaveOutcome::Saved(_))
    ));
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
    for (_, store) in every_server_store(&dir).await {
        error_paths_log_no_session_id(store).await;
    }
}
