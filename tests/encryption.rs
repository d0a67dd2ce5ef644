//! Encryption at rest (issue 30) through the public API, on every server store (memory,
//! file, SQLite, Redis, Redis Cluster, PostgreSQL), each read raw: Redis values with `GET`,
//! PostgreSQL rows as text, the SQLite file and its WAL, the session files, the memory
//! store's records as it hands them out.

use axum::Router;
use axum::extract::Path;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use std::sync::Arc;
use typed_sessions::admin::{RekeyedPage, rekey_page};
use typed_sessions::encryption::{Encryption, KeyRing};
use typed_sessions::store::SaveOutcome;
use typed_sessions::{
    FileStore, Key, MemoryStore, PostgresStore, RedisStore, Session, SessionLayer, Store,
};
use typed_sessions_tests::{
    Client, database_url, key, owner, redis_cluster_nodes, redis_url, send, sqlite_store, strs,
    unique,
};

#[derive(Session, Default)]
struct Notes {
    note: String,
    count: u64,
}

fn app(layer: SessionLayer) -> Router {
    async fn write(session: Session<Notes>, Path(note): Path<String>) {
        session.set_note(note);
    }
    async fn read(session: Session<Notes>) -> String {
        format!("{}|{}", session.note(), session.count())
    }
    async fn count(session: Session<Notes>) {
        session.update_count(|n| *n += 1);
    }
    async fn login(session: Session<Notes>, Path(user): Path<String>) {
        session.bind_owner(user).unwrap();
        session.set_device_label("phone");
    }
    Router::new()
        .route("/note/{note}", post(write))
        .route("/note", get(read))
        .route("/count", post(count))
        .route("/login/{user}", post(login))
        .layer(layer)
}

/// Everything a store holds, read raw.
type RawBytes = std::pin::Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;

/// A store, and how to read everything it holds raw.
struct Raw {
    name: &'static str,
    store: Arc<dyn Store>,
    read: Box<dyn Fn() -> RawBytes + Send + Sync>,
}

impl Raw {
    async fn bytes(&self) -> Vec<u8> {
        (self.read)().await
    }

    /// Whether the store holds `marker`, as it is or in hex (PostgreSQL shows `bytea` as
    /// text that way).
    async fn holds(&self, marker: &str) -> bool {
        let bytes = self.bytes().await;
        let hex: String = marker.bytes().map(|byte| format!("{byte:02x}")).collect();
        contains(&bytes, marker.as_bytes()) || contains(&bytes, hex.as_bytes())
    }
}

/// Every value under `pattern` on the Redis `nodes`, read with `GET`.
async fn redis_values(nodes: Vec<String>, pattern: String) -> Vec<u8> {
    let mut all = Vec::new();
    for node in nodes {
        let client = redis::Client::open(node.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query_async(&mut connection)
            .await
            .unwrap();
        for key in keys {
            let value: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .unwrap_or(None);
            all.extend(value.unwrap_or_default());
        }
    }
    all
}

/// The files under `dir`, every byte.
fn files(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in walk(dir) {
        all.extend(std::fs::read(entry).unwrap_or_default());
    }
    all
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// A fresh store of each server kind, each with its raw reader.
async fn stores(dir: &tempfile::TempDir) -> Vec<Raw> {
    let memory = MemoryStore::new();
    let scanned = memory.clone();
    let files_dir = dir.path().join("files");
    let file = FileStore::open(&files_dir).unwrap();
    let sqlite_dir = tempfile::tempdir_in(dir.path()).unwrap();
    let sqlite = sqlite_store(&sqlite_dir).await;
    let sqlite_path = sqlite_dir.path().to_owned();
    let prefix = unique("test:");
    let redis = RedisStore::connect(&redis_url())
        .await
        .unwrap()
        .with_prefix(prefix.clone());
    let cluster_prefix = unique("test:");
    let cluster = RedisStore::connect_cluster(&strs(&redis_cluster_nodes()))
        .await
        .unwrap()
        .with_prefix(cluster_prefix.clone());
    let table = unique("t_");
    let postgres = PostgresStore::connect(&database_url())
        .await
        .unwrap()
        .with_table(Some("typed_sessions_tests"), &table)
        .unwrap();
    postgres.migrate().await.unwrap();
    let pool = sqlx::PgPool::connect_lazy(&database_url()).unwrap();
    std::mem::forget(sqlite_dir);
    vec![
        Raw {
            name: "memory",
            store: Arc::new(memory),
            read: Box::new(move || {
                let store = scanned.clone();
                Box::pin(async move {
                    let page = store.scan(None, 10_000).await.unwrap();
                    page.records
                        .into_iter()
                        .flat_map(|r| r.record.data)
                        .collect()
                })
            }),
        },
        Raw {
            name: "file",
            store: Arc::new(file),
            read: Box::new(move || {
                let dir = files_dir.clone();
                Box::pin(async move { files(&dir) })
            }),
        },
        Raw {
            name: "sqlite",
            store: Arc::new(sqlite),
            read: Box::new(move || {
                let dir = sqlite_path.clone();
                Box::pin(async move { files(&dir) })
            }),
        },
        Raw {
            name: "redis",
            store: Arc::new(redis),
            read: Box::new(move || Box::pin(redis_values(vec![redis_url()], format!("{prefix}*")))),
        },
        Raw {
            name: "redis cluster",
            store: Arc::new(cluster),
            read: Box::new(move || {
                Box::pin(redis_values(
                    redis_cluster_nodes(),
                    format!("{cluster_prefix}*"),
                ))
            }),
        },
        Raw {
            name: "postgres",
            store: Arc::new(postgres),
            read: Box::new(move || {
                let (pool, table) = (pool.clone(), table.clone());
                Box::pin(async move {
                    let query = format!("SELECT t::text FROM typed_sessions_tests.{table} t");
                    let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(query))
                        .fetch_all(&pool)
                        .await
                        .unwrap();
                    rows.into_iter()
                        .flat_map(|(row,)| row.into_bytes())
                        .collect()
                })
            }),
        },
    ]
}

fn sealed(store: &Arc<dyn Store>, ring: &KeyRing) -> SessionLayer {
    SessionLayer::new(Arc::clone(store), &key()).with_encryption(Encryption::on(ring.clone()))
}

fn plain(store: &Arc<dyn Store>) -> SessionLayer {
    SessionLayer::new(Arc::clone(store), &key())
}

fn ring_of(id: u32, seed: u8) -> KeyRing {
    KeyRing::new(id, &Key::from_secret(&[seed; 64]).unwrap())
}

/// A random marker, the way a field's value would be unguessable in a dump.
fn marker() -> String {
    unique("marker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_store_holds_no_field_value_and_still_serves_every_session() {
    let dir = tempfile::tempdir().unwrap();
    let ring = ring_of(1, 1);
    for raw in stores(&dir).await {
        let name = raw.name;
        // Without encryption, the marker is in the store.
        let mut clear = Client::new(app(plain(&raw.store)));
        let shown = marker();
        clear.post(&format!("/note/{shown}")).await;
        assert!(raw.holds(&shown).await, "{name}: the plain record shows it");

        // With it, on a fresh session: nowhere, and the session reads it back, after a
        // restart (a new layer on the same store and keys) too.
        let hidden = marker();
        let mut client = Client::new(app(sealed(&raw.store, &ring)));
        client.post("/login/ada").await;
        client.post(&format!("/note/{hidden}")).await;
        assert!(
            !raw.holds(&hidden).await,
            "{name}: the sealed record hides it"
        );
        assert!(
            !raw.holds("phone").await,
            "{name}: the device label is sealed too"
        );
        let mut restarted = Client::new(app(sealed(&raw.store, &ring)));
        restarted.jar = client.jar.clone();
        assert_eq!(
            restarted.get("/note").await.body,
            format!("{hidden}|0"),
            "{name}"
        );

        // The owner's listing reads what it needs under the application's key alone.
        let layer = sealed(&raw.store, &ring);
        let listed = layer.accounts().sessions(&owner("ada")).await.unwrap();
        assert_eq!(listed.len(), 1, "{name}");
        assert_eq!(listed[0].label.as_deref(), Some("phone"), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_record_opens_only_for_its_session_under_a_key_the_ring_holds() {
    let dir = tempfile::tempdir().unwrap();
    let ring = ring_of(1, 1);
    for raw in stores(&dir).await {
        let name = raw.name;
        let mut ada = Client::new(app(sealed(&raw.store, &ring)));
        ada.post("/login/ada").await;
        ada.post("/note/ada-note").await;
        let mut bob = Client::new(app(sealed(&raw.store, &ring)));
        bob.post("/login/bob").await;
        bob.post("/note/bob-note").await;

        // Ada's record copied onto Bob's storage key opens for neither: Bob's request
        // finds no session (a fresh one), never an error.
        copy_over(&raw.store, "ada", "bob", name).await;
        let reply = bob.get("/note").await;
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        assert_eq!(reply.body, "|0", "{name}: no session, not Ada's");

        // A ring that lacks Ada's key (retired) reads her session as none.
        let retired = ring_of(2, 2);
        let mut elsewhere = Client::new(app(sealed(&raw.store, &retired)));
        elsewhere.jar = ada.jar.clone();
        let reply = elsewhere.get("/note").await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, "|0"),
            "{name}"
        );

        // A ring that holds it as an older key still opens it, and seals the next save
        // under the primary: then the old key can go.
        let rotated = ring_of(1, 1)
            .with_key(2, &Key::from_secret(&[2; 64]).unwrap())
            .unwrap()
            .with_primary(2)
            .unwrap();
        let mut moved = Client::new(app(sealed(&raw.store, &rotated)));
        moved.jar = ada.jar.clone();
        assert_eq!(moved.get("/note").await.body, "ada-note|0", "{name}");
        moved.post("/count").await;
        let mut only_new = Client::new(app(sealed(&raw.store, &retired)));
        only_new.jar = ada.jar.clone();
        assert_eq!(
            only_new.get("/note").await.body,
            "ada-note|1",
            "{name}: re-sealed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_a_sealed_session_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ring = ring_of(1, 1);
    for raw in stores(&dir).await {
        let mut client = Client::new(app(sealed(&raw.store, &ring)));
        client.post("/count").await;
        let cookie = client.cookie_header().unwrap();
        let router = client.router().clone();
        let sends = (0..20).map(|_| {
            let (router, cookie) = (router.clone(), cookie.clone());
            async move { send(&router, Method::POST, "/count", Some(&cookie), "").await }
        });
        for reply in typed_sessions_tests::spawn_all(sends).await {
            assert!(reply.status.is_success(), "{}: {}", raw.name, reply.body);
        }
        assert_eq!(client.get("/note").await.body, "|21", "{}", raw.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_encryption_on_and_off_mid_life_keeps_every_session() {
    let dir = tempfile::tempdir().unwrap();
    let ring = ring_of(1, 1);
    for raw in stores(&dir).await {
        let name = raw.name;
        let mut early = Client::new(app(plain(&raw.store)));
        early.post("/login/ada").await;
        early.post("/note/early").await;
        let mut untouched = Client::new(app(plain(&raw.store)));
        untouched.post("/note/untouched").await;

        // On: the plain sessions still read; a save seals.
        let on = app(sealed(&raw.store, &ring));
        let mut early_on = Client::new(on.clone());
        early_on.jar = early.jar.clone();
        assert_eq!(early_on.get("/note").await.body, "early|0", "{name}");
        early_on.post("/count").await;
        let stored = raw.store.owned(&owner("ada")).await.unwrap().remove(0);
        assert!(
            !contains(&stored.record.data, b"early"),
            "{name}: sealed at its save"
        );
        let mut untouched_on = Client::new(on.clone());
        untouched_on.jar = untouched.jar.clone();
        assert_eq!(
            untouched_on.get("/note").await.body,
            "untouched|0",
            "{name}"
        );

        // `session-admin re-key` seals what is still plain, under the application's key
        // alone (it has no ids): it still reads, and its next save binds it to its id.
        rekey_all(&*raw.store, &ring, false).await;
        let records = every_record(&*raw.store).await;
        let plain: Vec<_> = records
            .iter()
            .filter(|listed| contains(&listed.record.data, b"untouched"))
            .collect();
        assert!(plain.is_empty(), "{name}: every record sealed");
        assert_eq!(
            untouched_on.get("/note").await.body,
            "untouched|0",
            "{name}"
        );

        // Off: sealed sessions still read, and are plain again from their next save.
        let off = SessionLayer::new(Arc::clone(&raw.store), &key())
            .with_encryption(Encryption::off(ring.clone()));
        let mut early_off = Client::new(app(off));
        early_off.jar = early.jar.clone();
        assert_eq!(early_off.get("/note").await.body, "early|1", "{name}");
        early_off.post("/count").await;
        let stored = raw.store.owned(&owner("ada")).await.unwrap().remove(0);
        assert!(
            contains(&stored.record.data, b"early"),
            "{name}: plain again"
        );
    }
}

/// The record of `from`'s session written over `to`'s session's, under `to`'s key.
async fn copy_over(store: &Arc<dyn Store>, from: &str, to: &str, name: &str) {
    let source = store.owned(&owner(from)).await.unwrap().remove(0);
    let target = store.owned(&owner(to)).await.unwrap().remove(0);
    let copied = store
        .save(
            &target.key,
            &source.record.data,
            target.record.expires_at,
            Some(target.record.version),
            Some(&owner(to)),
        )
        .await
        .unwrap();
    assert!(matches!(copied, SaveOutcome::Saved(_)), "{name}");
}

/// Every record of `store`, page by page.
async fn every_record(store: &dyn Store) -> Vec<typed_sessions::store::OwnedRecord> {
    let mut records = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.scan(cursor.as_ref(), 1000).await.unwrap();
        records.extend(page.records);
        cursor = page.next;
        if cursor.is_none() {
            return records;
        }
    }
}

/// Every page of `store` re-keyed under `ring`: the totals.
async fn rekey_all(store: &dyn Store, ring: &KeyRing, dry_run: bool) -> RekeyedPage {
    let mut total = RekeyedPage::default();
    let mut cursor = None;
    loop {
        let page = rekey_page(store, ring, cursor.as_ref(), 100, dry_run)
            .await
            .unwrap();
        total.add(&page);
        cursor = page.next;
        if cursor.is_none() {
            return total;
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_sealed_by_re_key_opens_only_under_its_own_storage_key() {
    let dir = tempfile::tempdir().unwrap();
    let ring = ring_of(1, 1);
    for raw in stores(&dir).await {
        let name = raw.name;
        let mut ada = Client::new(app(plain(&raw.store)));
        ada.post("/login/ada").await;
        ada.post("/note/ada-note").await;
        let mut bob = Client::new(app(plain(&raw.store)));
        bob.post("/login/bob").await;
        let page = rekey_all(&*raw.store, &ring, false).await;
        assert_eq!(page.sealed, 2, "{name}: both sealed, without their ids");
        let again = rekey_all(&*raw.store, &ring, true).await;
        assert_eq!(
            (again.sealed, again.current),
            (0, 2),
            "{name}: a dry run finds none left"
        );
        // Sealed without its id, a record is bound to its storage key all the same.
        copy_over(&raw.store, "ada", "bob", name).await;
        let mut bob_sealed = Client::new(app(sealed(&raw.store, &ring)));
        bob_sealed.jar = bob.jar.clone();
        assert_eq!(
            bob_sealed.get("/note").await.body,
            "|0",
            "{name}: not Ada's"
        );
        let mut ada_sealed = Client::new(app(sealed(&raw.store, &ring)));
        ada_sealed.jar = ada.jar.clone();
        assert_eq!(ada_sealed.get("/note").await.body, "ada-note|0", "{name}");
    }
}
