//! The store contract, run against each store, and what the file store adds: restarts,
//! atomic files, corrupt files, sweeping.

use axum::http::Method;
use session::store::{SaveOutcome, Version};
use session::{FileStore, MemoryStore, SessionId, SessionLayer, Store};
use session_examples::app;
use session_tests::{Client, capture_logs, key, send};
use std::time::{Duration, SystemTime};

fn later(ms: u64) -> SystemTime {
    SystemTime::now() + Duration::from_millis(ms)
}

async fn contract(store: &dyn Store) {
    let id = SessionId::random();
    assert_eq!(store.load(&id).await.unwrap(), None);
    assert_eq!(
        store
            .save(&id, b"x", later(60_000), Some(Version::new(1)))
            .await
            .unwrap(),
        SaveOutcome::Missing
    );
    let SaveOutcome::Saved(v1) = store.save(&id, b"one", later(60_000), None).await.unwrap() else {
        panic!("create failed")
    };
    assert_eq!(
        store
            .save(&id, b"again", later(60_000), None)
            .await
            .unwrap(),
        SaveOutcome::Conflict,
        "create of a live id"
    );
    let loaded = store.load(&id).await.unwrap().expect("live");
    assert_eq!((loaded.data.as_slice(), loaded.version), (&b"one"[..], v1));

    let SaveOutcome::Saved(v2) = store
        .save(&id, b"two", later(60_000), Some(v1))
        .await
        .unwrap()
    else {
        panic!("compare-and-swap with the current version failed")
    };
    assert_ne!(v1, v2);
    assert_eq!(
        store
            .save(&id, b"stale", later(60_000), Some(v1))
            .await
            .unwrap(),
        SaveOutcome::Conflict
    );
    assert_eq!(store.load(&id).await.unwrap().expect("live").data, b"two");

    let moved = later(120_000);
    assert!(store.touch(&id, moved).await.unwrap());
    let touched = store.load(&id).await.unwrap().expect("live");
    assert_eq!(
        (touched.data.as_slice(), touched.version),
        (&b"two"[..], v2),
        "touch keeps data and version"
    );
    let drift = touched
        .expires_at
        .duration_since(moved)
        .unwrap_or_else(|e| e.duration());
    assert!(
        drift < Duration::from_millis(2),
        "expiry kept to the millisecond"
    );

    assert!(store.delete(&id).await.unwrap());
    assert!(!store.delete(&id).await.unwrap());
    assert_eq!(store.load(&id).await.unwrap(), None);
    assert!(!store.touch(&id, later(1000)).await.unwrap());
    assert_eq!(
        store
            .save(&id, b"late", later(60_000), Some(v2))
            .await
            .unwrap(),
        SaveOutcome::Missing,
        "no resurrection"
    );

    let short = SessionId::random();
    let SaveOutcome::Saved(v) = store.save(&short, b"brief", later(50), None).await.unwrap() else {
        panic!("create failed")
    };
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(
        store.load(&short).await.unwrap(),
        None,
        "expired records are absent"
    );
    assert!(!store.touch(&short, later(60_000)).await.unwrap());
    assert_eq!(
        store
            .save(&short, b"x", later(60_000), Some(v))
            .await
            .unwrap(),
        SaveOutcome::Missing
    );
    assert!(matches!(
        store
            .save(&short, b"new", later(60_000), None)
            .await
            .unwrap(),
        SaveOutcome::Saved(_)
    ));

    let big = vec![7u8; 1 << 20];
    let large = SessionId::random();
    assert!(matches!(
        store.save(&large, &big, later(60_000), None).await.unwrap(),
        SaveOutcome::Saved(_)
    ));
    assert_eq!(store.load(&large).await.unwrap().expect("live").data, big);
}

#[tokio::test]
async fn memory_store_meets_the_contract() {
    contract(&MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(&FileStore::new(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn memory_store_sweeps_expired_records() {
    let store = MemoryStore::new().with_sweep_interval(Duration::ZERO);
    for _ in 0..200 {
        let _ = store
            .save(&SessionId::random(), b"x", later(30), None)
            .await
            .unwrap();
    }
    assert_eq!(store.len(), 200);
    tokio::time::sleep(Duration::from_millis(60)).await;
    // Reads of expired records allocate nothing and the next writes sweep.
    for _ in 0..SessionId::LEN * 64 {
        let _ = store
            .save(&SessionId::random(), b"y", later(60_000), None)
            .await
            .unwrap();
    }
    assert_eq!(
        store.len(),
        SessionId::LEN * 64,
        "every expired record is gone"
    );
    assert_eq!(store.sweep_expired(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_sessions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut client = Client::new(app(SessionLayer::new(
        FileStore::new(dir.path()).unwrap(),
        &key(),
    )));
    client.post("/login/ada").await;
    client.post("/visit").await;
    let cookie = client.cookie_header().unwrap();
    drop(client);

    let restarted = app(SessionLayer::new(
        FileStore::new(dir.path()).unwrap(),
        &key(),
    ));
    let view = send(&restarted, Method::GET, "/session", Some(&cookie), "")
        .await
        .view();
    assert_eq!((view.visits, view.user.as_deref()), (1, Some("ada")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_names_files_by_id_only_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path()).unwrap();
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    for _ in 0..3 {
        client.post("/visit").await;
    }
    client.post("/login/x").await;
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        1,
        "the rotated-away file is deleted: {names:?}"
    );
    assert!(SessionId::from_base64(&names[0]).is_some(), "{names:?}");
}

#[tokio::test]
async fn corrupt_or_truncated_session_files_are_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path()).unwrap();
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    client.post("/visit").await;
    let cookie = client.cookie_header().unwrap();
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let original = std::fs::read(&file).unwrap();

    let (_guard, logs) = capture_logs();
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        original[..10].to_vec(),
        original[..original.len() - 1].to_vec(),
        b"not a session file at all, just text".to_vec(),
    ];
    for (index, bytes) in cases.iter().enumerate() {
        std::fs::write(&file, bytes).unwrap();
        let reply = send(client.router(), Method::POST, "/visit", Some(&cookie), "").await;
        assert!(reply.status.is_success(), "case {index}: {}", reply.status);
        assert_eq!(reply.view().visits, 1, "case {index}: a fresh session");
        assert!(
            reply.set_cookie().is_some(),
            "case {index}: a new id is issued"
        );
    }
    assert!(logs.text().contains("corrupt"), "{}", logs.text());

    // A damaged field inside an intact record costs that field only: the session and its id
    // stay. The record's last byte is the value of `demo.visits`, the last key.
    let mut flipped = original.clone();
    *flipped.last_mut().unwrap() ^= 0xff;
    std::fs::write(&file, &flipped).unwrap();
    let reply = send(
        client.router(),
        Method::POST,
        "/login/ada",
        Some(&cookie),
        "",
    )
    .await;
    assert_eq!(
        reply.view().visits,
        0,
        "the damaged field falls back to its default"
    );
    assert!(logs.text().contains("demo.visits"), "{}", logs.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_sweeps_expired_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path()).unwrap();
    for _ in 0..5 {
        let _ = store
            .save(&SessionId::random(), b"x", later(30), None)
            .await
            .unwrap();
    }
    let keep = SessionId::random();
    let _ = store
        .save(&keep, b"keep", later(60_000), None)
        .await
        .unwrap();
    std::fs::write(dir.path().join("unrelated.txt"), b"left alone").unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(store.sweep_expired().unwrap(), 5);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected = vec![keep.to_base64(), "unrelated.txt".to_owned()];
    expected.sort();
    assert_eq!(names, expected);
}
