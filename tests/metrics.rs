//! Metrics and traces (issue 18), with feature `metrics` and a recorder installed in this
//! process: each event moves its metric on every store, and no label or span field holds a
//! session id or a cookie value. The recorder is global, so the tests take turns
//! ([`measure`]), each reading what its own requests recorded.

use axum::http::{Method, StatusCode};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};
use tracing_subscriber::fmt::format::FmtSpan;
use typed_sessions::metric_names as names;
use typed_sessions::store::StoreError;
use typed_sessions::store::{BoxFuture, SaveOutcome, StoredRecord, Version};
use typed_sessions::{
    CookieBackend, FileStore, MemoryStore, PostgresStore, RedisStore, SessionLayer, Store,
};
use typed_sessions_tests::{
    Client, ProbeStore, RedisServer, app, hits, key, owner, postgres_store, redis_store,
    sqlite_store,
};

/// Counter values and histogram sample counts, by `name{label=value,...}` (labels sorted).
type Readings = BTreeMap<String, u64>;

/// The recorder, and every span closed in this process with its fields (a subscriber for
/// the whole process: one scoped to a test misses callsites other tests registered first).
fn installed() -> &'static (Snapshotter, typed_sessions_tests::Logs) {
    static INSTALLED: OnceLock<(Snapshotter, typed_sessions_tests::Logs)> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this process");
        let spans = typed_sessions_tests::Logs::default();
        let writer = spans.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_span_events(FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        (snapshotter, spans)
    })
}

fn snapshotter() -> &'static Snapshotter {
    &installed().0
}

/// What was recorded since the last call (the debugging recorder resets on reading).
fn take() -> Readings {
    let mut readings = Readings::new();
    for (key, _, _, value) in snapshotter().snapshot().into_vec() {
        let mut labels: Vec<String> = key
            .key()
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.key().name(), labels.join(","));
        let count = match value {
            DebugValue::Counter(n) => n,
            DebugValue::Histogram(samples) => samples.len() as u64,
            DebugValue::Gauge(_) => continue,
        };
        if count > 0 {
            *readings.entry(name).or_default() += count;
        }
    }
    readings
}

/// Runs `work` alone and returns what it recorded.
async fn measure<F: Future>(work: F) -> (F::Output, Readings) {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = TURN.lock().await;
    take();
    let output = work.await;
    let readings = take();
    for reading in readings.keys() {
        let name = reading.split('{').next().unwrap();
        assert!(
            names::ALL.contains(&name),
            "{name} is not in metric_names::ALL"
        );
    }
    (output, readings)
}

/// The reading of `name` with `labels` (given sorted), 0 if nothing was recorded.
fn get(readings: &Readings, name: &str, labels: &[(&str, &str)]) -> u64 {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    readings
        .get(&format!("{name}{{{}}}", labels.join(",")))
        .copied()
        .unwrap_or(0)
}

/// Each server store, by the `store` label it records under.
async fn server_stores(dir: &tempfile::TempDir) -> Vec<(&'static str, Arc<dyn Store>)> {
    let postgres: PostgresStore = postgres_store().await;
    vec![
        ("memory", Arc::new(MemoryStore::new())),
        (
            "file",
            Arc::new(FileStore::open(dir.path().join("files")).unwrap()),
        ),
        ("sqlite", Arc::new(sqlite_store(dir).await)),
        ("redis", Arc::new(redis_store().await)),
        ("postgres", Arc::new(postgres)),
    ]
}

/// A visit, a read, a save, a login (rotation), a forged cookie and a logout through the
/// demo on `layer`, each checked against what it recorded.
async fn lifecycle(store: &'static str, layer: SessionLayer, server: bool) {
    let mut client = Client::new(app(layer));
    let on = [("store", store)];
    let (_, created) = measure(client.post("/visit")).await;
    if server {
        assert_eq!(
            get(&created, names::CREATES, &on),
            1,
            "{store}: {created:?}"
        );
        assert_eq!(get(&created, names::RECORD_BYTES, &on), 1, "{store}");
        let save = [("operation", "save"), ("store", store)];
        assert_eq!(
            get(&created, names::STORE_CALL_SECONDS, &save),
            1,
            "{store}"
        );
    } else {
        assert_eq!(
            get(&created, names::COOKIE_BYTES, &on),
            1,
            "{store}: {created:?}"
        );
    }

    let (_, read) = measure(client.get("/session")).await;
    let hit = [("outcome", "hit"), ("store", store)];
    assert_eq!(get(&read, names::LOADS, &hit), 1, "{store}: {read:?}");
    assert_eq!(
        get(&read, names::SAVES, &on),
        0,
        "{store}: a read saves nothing"
    );

    let (_, saved) = measure(client.post("/visit")).await;
    if server {
        assert_eq!(get(&saved, names::SAVES, &on), 1, "{store}: {saved:?}");
        assert_eq!(get(&saved, names::CREATES, &on), 0, "{store}");
    }

    let (_, login) = measure(client.post("/login/ada")).await;
    assert_eq!(get(&login, names::ROTATIONS, &on), 1, "{store}: {login:?}");
    if server {
        assert_eq!(
            get(&login, names::DELETES, &on),
            1,
            "{store}: the old id's record"
        );
    }

    let real = client.cookie("id").expect("a session cookie").to_owned();
    let mut forged = real.clone().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let mut forger = Client::new(client.router().clone());
    let request = axum::http::Request::get("/session")
        .header("cookie", format!("id={forged}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let (reply, rejected) =
        measure(typed_sessions_tests::send_request(forger.router(), request)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reason = if server { "forged" } else { "unopenable" };
    let labels = [("reason", reason), ("store", store)];
    assert_eq!(
        get(&rejected, names::REJECTED_TOKENS, &labels),
        1,
        "{store}: {rejected:?}"
    );
    if !server {
        let miss = [("outcome", "miss"), ("store", store)];
        assert_eq!(
            get(&rejected, names::LOADS, &miss),
            1,
            "{store}: {rejected:?}"
        );
    }
    // A visitor without a cookie is no rejection, and no lookup.
    let (_, fresh) = measure(forger.get("/session")).await;
    assert_eq!(get(&fresh, names::REJECTED_TOKENS, &labels), 0, "{store}");
    let miss = [("outcome", "miss"), ("store", store)];
    assert_eq!(get(&fresh, names::LOADS, &miss), 0, "{store}: {fresh:?}");

    let (_, logout) = measure(client.post("/logout")).await;
    if server {
        assert_eq!(get(&logout, names::DELETES, &on), 1, "{store}: {logout:?}");
        let delete = [("operation", "delete"), ("store", store)];
        assert_eq!(
            get(&logout, names::STORE_CALL_SECONDS, &delete),
            1,
            "{store}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_of_a_session_moves_its_metric_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in server_stores(&dir).await {
        lifecycle(name, SessionLayer::new(store, &key()), true).await;
    }
    lifecycle(
        "cookie",
        SessionLayer::new(CookieBackend::sealed(), &key()),
        false,
    )
    .await;
    let signed = SessionLayer::new(CookieBackend::signed(), &key());
    lifecycle("signed_cookie", signed, false).await;
}

/// Two instances on one store: one loads, the other saves meanwhile, and the first's save
/// conflicts, is retried, and keeps both updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_race_lost_to_another_instance_counts_a_conflict_and_a_retry_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in server_stores(&dir).await {
        let mut one = Client::new(hits(SessionLayer::new(Arc::clone(&store), &key())));
        let two = hits(SessionLayer::new(store, &key()));
        one.post("/hit").await;
        let cookie = one.cookie_header().unwrap();
        let request = |path: &str| {
            axum::http::Request::post(path)
                .header("cookie", cookie.clone())
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let slow = request("/slow");
        let fast = request("/hit");
        let (_, race) = measure(async {
            let slow = typed_sessions_tests::send_request(one.router(), slow);
            let fast = async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                typed_sessions_tests::send_request(&two, fast).await
            };
            tokio::join!(slow, fast)
        })
        .await;
        let on = [("store", name)];
        assert_eq!(get(&race, names::CONFLICTS, &on), 1, "{name}: {race:?}");
        assert_eq!(get(&race, names::RETRIES, &on), 1, "{name}");
        assert_eq!(get(&race, names::SAVES, &on), 2, "{name}: both saved");
    }
}

/// A store whose replacing saves always lose, as under endless contention.
#[derive(Debug)]
struct AlwaysContended(MemoryStore);

impl Store for AlwaysContended {
    fn load<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        self.0.load(id)
    }

    fn save<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&'a typed_sessions::Owner>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        if expected.is_some() {
            return Box::pin(std::future::ready(Ok(SaveOutcome::Conflict)));
        }
        self.0.save(id, data, expires_at, expected, owner)
    }

    fn touch<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
        expires_at: SystemTime,
        owner: Option<&'a typed_sessions::Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.0.touch(id, expires_at, owner)
    }

    fn delete<'a>(
        &'a self,
        id: &'a typed_sessions::store::StorageKey,
        owner: Option<&'a typed_sessions::Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.0.delete(id, owner)
    }
}

#[tokio::test]
async fn outages_and_contention_are_counted_by_store_and_operation() {
    // A memory store that is down.
    let probe = ProbeStore::new(MemoryStore::new());
    let mut client = Client::new(app(SessionLayer::new(probe.clone(), &key())));
    client.post("/visit").await;
    probe.set_down(true);
    let (reply, down) = measure(client.get("/session")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let load = [("operation", "load"), ("store", "memory")];
    assert_eq!(get(&down, names::STORE_ERRORS, &load), 1, "{down:?}");

    // A real Redis, stopped under the app.
    let mut redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url()).await.unwrap();
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    client.post("/visit").await;
    redis.stop();
    let (reply, down) = measure(client.get("/session")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let load = [("operation", "load"), ("store", "redis")];
    assert_eq!(get(&down, names::STORE_ERRORS, &load), 1, "{down:?}");

    // Saves that never win: given up after the contention budget, answered 503.
    let contended = AlwaysContended(MemoryStore::new());
    let mut client = Client::new(hits(SessionLayer::new(contended, &key())));
    client.post("/hit").await;
    let (reply, lost) = measure(client.post("/hit")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let on = [("store", "custom")];
    assert_eq!(get(&lost, names::CONTENTION_FAILURES, &on), 1, "{lost:?}");
    assert!(get(&lost, names::CONFLICTS, &on) >= 2, "{lost:?}");
    assert!(get(&lost, names::RETRIES, &on) >= 1, "{lost:?}");
}

#[tokio::test]
async fn corrupt_expired_and_oversized_sessions_are_counted() {
    // A record overwritten with bytes that do not decode.
    let store = MemoryStore::new();
    let mut client = Client::new(app(SessionLayer::new(store.clone(), &key())));
    client.post("/login/ada").await;
    let listed = store.owned(&owner("ada")).await.unwrap().remove(0);
    let garbage = store
        .save(
            &listed.key,
            b"not a record",
            listed.record.expires_at,
            Some(listed.record.version),
            Some(&owner("ada")),
        )
        .await
        .unwrap();
    assert!(matches!(garbage, SaveOutcome::Saved(_)));
    let (_, corrupt) = measure(client.get("/session")).await;
    let labels = [("outcome", "corrupt"), ("store", "memory")];
    assert_eq!(get(&corrupt, names::LOADS, &labels), 1, "{corrupt:?}");

    // A session past its lifetime, still in its store: the lifetime was shortened (a new
    // deploy) after it was saved.
    let store = MemoryStore::new();
    let mut client = Client::new(app(SessionLayer::new(store.clone(), &key())));
    client.post("/visit").await;
    let cookie = client.cookie_header().unwrap();
    let shortened =
        SessionLayer::new(store, &key()).with_max_lifetime(Some(Duration::from_millis(100)));
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (_, expired) = measure(typed_sessions_tests::send(
        &app(shortened),
        Method::GET,
        "/session",
        Some(&cookie),
        "",
    ))
    .await;
    let labels = [("outcome", "expired"), ("store", "memory")];
    assert_eq!(get(&expired, names::LOADS, &labels), 1, "{expired:?}");

    // A cookie session over the cookie size limit.
    let mut client = Client::new(app(SessionLayer::new(CookieBackend::sealed(), &key())));
    let (reply, large) = measure(client.send(Method::POST, "/note", &"x".repeat(5000))).await;
    assert!(reply.set_cookie().is_none(), "nothing sent");
    let on = [("store", "cookie")];
    assert_eq!(get(&large, names::TOO_LARGE, &on), 1, "{large:?}");
}

/// Every label of every metric, and every span of every store call, of sessions on each
/// kind of store: none holds the session's id, its storage key or its cookie.
#[tokio::test]
async fn no_label_or_span_holds_a_session_id_or_a_cookie() {
    let spans = &installed().1;

    let memory = MemoryStore::new();
    let redis = redis_store().await;
    let layers = [
        (
            SessionLayer::new(memory.clone(), &key()),
            Some::<Arc<dyn Store>>(Arc::new(memory)),
        ),
        (
            SessionLayer::new(redis.clone(), &key()),
            Some(Arc::new(redis)),
        ),
        (SessionLayer::new(CookieBackend::sealed(), &key()), None),
    ];
    for (layer, store) in layers {
        let mut client = Client::new(app(layer));
        let (secrets, readings) = measure(async {
            client.post("/login/ada").await;
            client.post("/visit").await;
            let cookie = client.cookie("id").unwrap().to_owned();
            let listed = client.get("/sessions").await;
            let mut keys = Vec::new();
            if let Some(store) = &store {
                for owned in store.owned(&owner("ada")).await.unwrap() {
                    keys.push(owned.key.to_base64());
                }
            }
            client.post("/logout").await;
            (cookie, listed, keys)
        })
        .await;
        let (cookie, listed, keys) = secrets;
        let text = spans.text();
        // A signed id cookie begins with the id: its first 21 characters are the id's.
        let mut secrets = vec![cookie[..21].to_owned()];
        secrets.extend(keys);
        for secret in &secrets {
            for reading in readings.keys() {
                assert!(
                    !reading.contains(secret.as_str()),
                    "a label holds it: {reading}"
                );
            }
            assert!(
                !text.contains(secret.as_str()),
                "a span or log line holds it"
            );
        }
        assert!(!readings.is_empty());
        if store.is_some() {
            assert_eq!(secrets.len(), 2, "the storage key was listed");
            assert!(
                text.contains("session.store"),
                "a span per store call: {text}"
            );
            assert!(text.contains("operation=\"save\""), "{text}");
            let devices: serde_json::Value = serde_json::from_str(&listed.body).unwrap();
            let fingerprint = devices[0]["id"].as_str().unwrap();
            assert!(
                text.contains(&format!("session={fingerprint}")),
                "spans name the session by its fingerprint: {text}"
            );
        }
    }
}

/// A server store keeps owners' revocation epochs beside the sessions: their calls are
/// labelled `revocation_*`, are not counted as sessions, and their spans name no key (a
/// revocation record's key is a hash of its owner, which a log must not let anyone check a
/// guessed user id against).
#[tokio::test]
async fn revocation_records_are_not_counted_as_sessions_and_their_spans_name_no_key() {
    let spans = &installed().1;
    let mut client = Client::new(app(SessionLayer::new(MemoryStore::new(), &key())));
    let before = spans.text().len();
    let ((), readings) = measure(async {
        client.post("/login/ada").await;
        assert_eq!(client.post("/logout-everywhere").await.status, 200);
        client.post("/login/ada").await;
        client.get("/session").await;
    })
    .await;
    let on = [("store", "memory")];
    assert_eq!(
        get(&readings, names::CREATES, &on),
        2,
        "two logins: {readings:?}"
    );
    assert_eq!(get(&readings, names::SAVES, &on), 0, "{readings:?}");
    let text = &spans.text()[before..];
    let revocation_calls: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("operation=\"revocation_"))
        .collect();
    assert!(
        revocation_calls
            .iter()
            .any(|line| line.contains("revocation_save")),
        "{text}"
    );
    assert!(
        revocation_calls
            .iter()
            .any(|line| line.contains("revocation_load")),
        "{text}"
    );
    for line in revocation_calls {
        assert!(!line.contains("session="), "{line}");
    }
}

#[test]
fn the_guide_lists_every_metric() {
    let readme = include_str!("../session/src/guide/observability.md");
    for name in names::ALL {
        assert!(readme.contains(&format!("| `{name}` |")), "{name}");
    }
}

/// With the import on, a tower-sessions cookie is no forged token: not counted as one,
/// whether its record is there or not; without the import, the same cookie is.
#[tokio::test]
async fn a_tower_sessions_cookie_is_not_counted_as_forged_when_importing() {
    use typed_sessions::import::{TowerSessionsImport, TowerSessionsSqlite};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tower.db").display());
    let _tower = typed_sessions_bench::tower_sqlite::TowerSqliteStore::open(&url)
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let import = TowerSessionsImport::new(TowerSessionsSqlite::new(pool));
    let importing =
        app(SessionLayer::new(MemoryStore::new(), &key()).with_tower_sessions_import(import));
    let plain = app(SessionLayer::new(MemoryStore::new(), &key()));
    // A tower-sessions id: 16 bytes, base64url; no record of it.
    let cookie = "id=BwcHBwcHBwcHBwcHBwcHBw";
    for (router, forged) in [(&importing, 0), (&plain, 1)] {
        let ((), readings) = measure(async {
            let request = axum::http::Request::get("/session")
                .header("cookie", cookie)
                .body(axum::body::Body::empty())
                .unwrap();
            let reply = typed_sessions_tests::send_request(router, request).await;
            assert_eq!(reply.status, 200);
        })
        .await;
        let counted = get(
            &readings,
            names::REJECTED_TOKENS,
            &[("reason", "forged"), ("store", "memory")],
        );
        assert_eq!(counted, forged, "{readings:?}");
    }
}
