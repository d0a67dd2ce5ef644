//! The store contract, run against each store, and what the file store adds: restarts,
//! atomic files, corrupt files, sweeping.

use axum::http::Method;
use std::sync::Arc;
use std::time::Duration;
use typed_sessions::store::StorageKey;
use typed_sessions::store::conformance;
use typed_sessions::{FileStore, MemoryStore, SessionLayer, Store};
use typed_sessions_tests::{
    Client, IdCookies, SECRET, app, capture_logs, every_server_store, key, login_flow,
    save_records, send, view_with,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_with_fsync_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap().with_fsync(true);
    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test]
async fn memory_store_sweeps_expired_records() {
    let store = MemoryStore::new().with_sweep_interval(Duration::ZERO);
    save_records(&store, 200, Duration::from_millis(30)).await;
    assert_eq!(store.len(), 200);
    tokio::time::sleep(Duration::from_millis(60)).await;
    // Reads of expired records allocate nothing and the next writes sweep.
    save_records(&store, StorageKey::LEN * 64, Duration::from_secs(60)).await;
    assert_eq!(
        store.len(),
        StorageKey::LEN * 64,
        "every expired record is gone"
    );
    assert_eq!(store.sweep_expired().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_sessions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut client = Client::new(app(SessionLayer::new(
        FileStore::open(dir.path()).unwrap(),
        &key(),
    )));
    client.post("/login/ada").await;
    client.post("/visit").await;
    let cookie = client.cookie_header().unwrap();
    drop(client);

    let restarted = app(SessionLayer::new(
        FileStore::open(dir.path()).unwrap(),
        &key(),
    ));
    let view = view_with(&restarted, &cookie).await;
    assert_eq!((view.visits, view.user.as_deref()), (1, Some("ada")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_names_files_by_storage_key_only_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    for _ in 0..3 {
        client.post("/visit").await;
    }
    client.post("/login/x").await;
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "owners")
        .collect();
    assert_eq!(
        names.len(),
        1,
        "the rotated-away file is deleted: {names:?}"
    );
    // The login bound an owner: one marker, named like the session file.
    let markers: Vec<String> = std::fs::read_dir(dir.path().join("owners"))
        .unwrap()
        .flat_map(|owner| std::fs::read_dir(owner.unwrap().path()).unwrap())
        .map(|marker| marker.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(markers, names, "one marker, of the live session");
    let value = client.cookie("id").expect("a session cookie");
    let id = IdCookies::new(&SECRET)
        .verify("id", value)
        .expect("genuine");
    assert_eq!(
        names,
        [IdCookies::storage_key(&id).to_base64()],
        "named by the hash of the id"
    );
}

#[tokio::test]
async fn corrupt_or_truncated_session_files_are_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
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
    // The file is a header and two checksummed slots, the record at the start of the first:
    // a quarter of the file ends inside the record.
    let mut flipped = original.clone();
    flipped[original.len() / 4] ^= 0x01;
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        original[..10].to_vec(),
        original[..original.len() / 4].to_vec(),
        flipped,
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

    // The intact file still reads.
    std::fs::write(&file, &original).unwrap();
    let reply = send(client.router(), Method::GET, "/session", Some(&cookie), "").await;
    assert_eq!(reply.view().visits, 1, "the original record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_sweeps_expired_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    save_records(&store, 5, Duration::from_millis(30)).await;
    let keep = save_records(&store, 1, Duration::from_secs(60)).await;
    std::fs::write(dir.path().join("unrelated.txt"), b"left alone").unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(store.sweep_expired().await.unwrap(), 5);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected = vec![keep[0].to_base64(), "unrelated.txt".to_owned()];
    expected.sort();
    assert_eq!(names, expected);
}

/// Not a test on its own: the writer process of the crash test below, which re-runs this
/// binary with `SESSION_CRASH_DIR` set. It rewrites a few sessions until it is killed; each
/// record is `length (4 bytes LE) | fill byte x (length - 4)`, so a torn file shows.
#[tokio::test]
async fn file_store_crash_writer() {
    let Ok(dir) = std::env::var("SESSION_CRASH_DIR") else {
        return;
    };
    let store = FileStore::open(dir).unwrap();
    let ids: Vec<StorageKey> = (0..4u8)
        .map(|n| StorageKey::from_bytes([n + 1; 16]))
        .collect();
    for generation in 0u64.. {
        let id = &ids[(generation % 4) as usize];
        let len = 4 + (generation as usize * 7919) % 60_000;
        let mut data = (len as u32).to_le_bytes().to_vec();
        data.resize(len, generation as u8);
        let expected = store.load(id).await.unwrap().map(|stored| stored.version);
        let _ = store
            .save(
                id,
                &data,
                std::time::SystemTime::now() + Duration::from_secs(3600),
                expected,
                None,
            )
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_writer_at_random_moments_never_leaves_a_torn_session_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut random = StorageKey::random().as_bytes()[0] as u64;
    for _ in 0..25 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "stores::file_store_crash_writer",
                "--exact",
                "--test-threads=1",
                "--quiet",
            ])
            .env("SESSION_CRASH_DIR", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        random = random
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        tokio::time::sleep(Duration::from_millis(20 + (random >> 33) % 150)).await;
        child.kill().unwrap(); // SIGKILL: no destructor, no flush
        child.wait().unwrap();
    }
    let store = FileStore::open(dir.path()).unwrap();
    let mut sessions = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(id) = StorageKey::from_base64(&name) else {
            assert!(
                name.starts_with(".tmp-"),
                "only sessions and interrupted temp files: {name}"
            );
            continue;
        };
        let stored = store
            .load(&id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} is torn or corrupt"));
        let len = u32::from_le_bytes(stored.data[..4].try_into().unwrap()) as usize;
        assert_eq!(stored.data.len(), len, "{name}: a whole record");
        assert!(
            stored.data[4..]
                .iter()
                .all(|&b| b == stored.data[4.min(len - 1)]),
            "{name}: one version"
        );
        sessions += 1;
    }
    assert!(sessions > 0, "the writer got to write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, store) in every_server_store(&dir).await {
        eprintln!("the contract on {kind:?}");
        conformance::run_all(store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_flow_works_on_every_server_store() {
    let dir = tempfile::tempdir().unwrap();
    for (_, store) in every_server_store(&dir).await {
        login_flow(store).await;
    }
}
