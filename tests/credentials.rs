//! A change of password (`credentials_changed()`): every other session of the owner ends,
//! on every instance and store; this one goes on under a new id; and a session bound
//! before it is refused wherever it turns up: a rotation in flight, a restored backup of
//! the store, a copied cookie.

use axum::Router;
use axum::http::{Method, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use typed_sessions::{CookieBackend, FileStore, MemoryStore, SessionLayer, Store};
use typed_sessions_tests::*;

/// Ada on a laptop (instance one) and a phone (instance two), Bob on a third device; the
/// phone changes Ada's password.
async fn change_of_password(one: Router, two: Router) {
    let (mut laptop, mut phone, mut bob) = (
        Client::new(one.clone()),
        Client::new(two.clone()),
        Client::new(one.clone()),
    );
    laptop.post("/login/ada").await;
    phone.post("/login/ada").await;
    bob.post("/login/bob").await;
    let laptop_cookie = laptop.cookie_header().expect("a cookie");
    let phone_cookie = phone.cookie_header().expect("a cookie");

    let reply = phone.post("/password").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.set_cookie().is_some(), "this session gets a new id");
    let renewed = phone.cookie_header().expect("a cookie");
    assert_ne!(renewed, phone_cookie);
    for app in [&one, &two] {
        assert_eq!(me(app, &laptop_cookie).await, "- 0", "the laptop is out");
        assert_eq!(
            me(app, &phone_cookie).await,
            "- 0",
            "this session's old id, copied, opens nothing"
        );
        assert_eq!(me(app, &renewed).await, "ada 1", "this session goes on");
    }
    assert_eq!(bob.get("/me").await.body, "bob 1", "Bob is untouched");
    let mut later = Client::new(two.clone());
    later.post("/login/ada").await;
    assert_eq!(later.get("/me").await.body, "ada 1", "a later login stays");
    assert_eq!(phone.get("/me").await.body, "ada 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_password_ends_every_other_session_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = redis_cluster_store().await;
    let revocations = MemoryStore::new();
    let mut runs = Vec::new();
    for kind in StoreKind::ALL {
        let (one, two) = match kind.store(&dir).await {
            Some(store) => instances(|| SessionLayer::new(store.clone(), &key())),
            None => instances(|| {
                let backend = if kind == StoreKind::SealedCookie {
                    CookieBackend::sealed()
                } else {
                    CookieBackend::signed()
                };
                SessionLayer::new(backend, &key()).with_revocation_store(revocations.clone())
            }),
        };
        runs.push(change_of_password(one, two));
    }
    let (one, two) = instances(|| SessionLayer::new(cluster.clone(), &key()));
    runs.push(change_of_password(one, two));
    futures_util::future::join_all(runs).await;
}

/// A move to a new id in flight (loaded before the change, written after it) on another
/// device: its new record is deleted too, on every server store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_password_ends_a_rotation_in_flight_on_every_server_store() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, store) in every_server_store(&dir).await {
        let (one, two) = instances(|| SessionLayer::new(Arc::clone(&store), &key()));
        let (mut laptop, mut phone) = (Client::new(one.clone()), Client::new(two.clone()));
        laptop.post("/login/ada").await;
        phone.post("/login/ada").await;
        let cookie = laptop.cookie_header().expect("a cookie");
        let change = async {
            // The slow rotation has loaded the laptop's session, and sleeps 500 ms.
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert_eq!(phone.post("/password").await.status, StatusCode::OK);
        };
        let (rotated, ()) = tokio::join!(
            send(&one, Method::POST, "/slow-cycle", Some(&cookie), ""),
            change
        );
        assert!(rotated.status.is_success(), "{kind:?}: {}", rotated.status);
        if let Some(new) = rotated.set_cookie() {
            let new = format!("id={}", new.value());
            assert_eq!(me(&two, &new).await, "- 0", "{kind:?}: the new id is dead");
        }
        assert_eq!(me(&two, &cookie).await, "- 0", "{kind:?}");
        assert_eq!(phone.get("/me").await.body, "ada 1", "{kind:?}");
        let left = store.owned(&owner("ada")).await.unwrap();
        assert_eq!(left.len(), 1, "{kind:?}: only the phone's record is left");
    }
}

/// A backup of the store taken before the change and restored after it (what it holds
/// that the store no longer has) brings the laptop's record back: it is refused when it is
/// next used, and not listed. Backups as operators take them: the session directory
/// copied, Redis keys dumped and restored, PostgreSQL rows copied to another table and
/// back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_restored_from_a_backup_after_a_change_of_password_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let prefix = unique("test:");
    let table = unique("t_");
    let redis = typed_sessions::RedisStore::connect(&redis_url())
        .await
        .unwrap()
        .with_prefix(prefix.clone());
    let postgres = typed_sessions::PostgresStore::connect(&database_url())
        .await
        .unwrap()
        .with_table(Some("typed_sessions_tests"), &table)
        .unwrap();
    postgres.migrate().await.unwrap();
    let stores: [(Backup, Arc<dyn Store>); 3] = [
        (
            Backup::Files(files.clone(), dir.path().join("backup")),
            Arc::new(FileStore::open(&files).unwrap()),
        ),
        (Backup::Redis(prefix, Vec::new()), Arc::new(redis)),
        (Backup::Postgres(table), Arc::new(postgres)),
    ];
    for (mut backup, store) in stores {
        let app = owner_routes().layer(SessionLayer::new(Arc::clone(&store), &key()));
        let (mut laptop, mut phone) = (Client::new(app.clone()), Client::new(app.clone()));
        laptop.post("/login/ada").await;
        phone.post("/login/ada").await;
        let laptop_cookie = laptop.cookie_header().expect("a cookie");
        backup.take().await;
        assert_eq!(phone.post("/password").await.status, StatusCode::OK);
        assert_eq!(me(&app, &laptop_cookie).await, "- 0", "{backup:?}");
        assert!(backup.restore().await > 0, "{backup:?}: nothing restored");
        let accounts = SessionLayer::new(Arc::clone(&store), &key()).accounts();
        let listed = accounts.sessions(&owner("ada")).await.unwrap();
        assert_eq!(
            listed.len(),
            1,
            "{backup:?}: restored records are not listed"
        );
        assert_eq!(
            me(&app, &laptop_cookie).await,
            "- 0",
            "{backup:?}: the restored session is refused"
        );
        assert_eq!(phone.get("/me").await.body, "ada 1", "{backup:?}");
    }
}

/// A backup of one store, restored where the store no longer has a record.
#[derive(Debug)]
enum Backup {
    /// The store's directory, and the backup's.
    Files(std::path::PathBuf, std::path::PathBuf),
    /// The store's key prefix, and each key's `DUMP`.
    Redis(String, Vec<(String, Vec<u8>)>),
    /// The store's table in schema `typed_sessions_tests`.
    Postgres(String),
}

impl Backup {
    async fn take(&mut self) {
        match self {
            Self::Files(from, to) => {
                std::fs::create_dir_all(&*to).unwrap();
                for entry in std::fs::read_dir(&*from).unwrap() {
                    let entry = entry.unwrap();
                    if entry.file_type().unwrap().is_file() {
                        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
                    }
                }
            }
            Self::Redis(prefix, dumps) => {
                let mut redis = redis_connection().await;
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}*"))
                    .query_async(&mut redis)
                    .await
                    .unwrap();
                for key in keys {
                    let dump: Vec<u8> = redis::cmd("DUMP")
                        .arg(&key)
                        .query_async(&mut redis)
                        .await
                        .unwrap();
                    dumps.push((key, dump));
                }
            }
            Self::Postgres(table) => {
                postgres(&format!(
                    "CREATE TABLE typed_sessions_tests.{table}_backup AS SELECT * FROM typed_sessions_tests.{table}"
                ))
                .await;
            }
        }
    }

    /// Restores what the store lost since; how many records.
    async fn restore(&self) -> u64 {
        match self {
            Self::Files(to, from) => {
                let mut restored = 0;
                for entry in std::fs::read_dir(from).unwrap() {
                    let entry = entry.unwrap();
                    let target = to.join(entry.file_name());
                    if !target.exists() {
                        std::fs::copy(entry.path(), target).unwrap();
                        restored += 1;
                    }
                }
                restored
            }
            Self::Redis(_, dumps) => {
                let mut redis = redis_connection().await;
                let mut restored = 0;
                for (key, dump) in dumps {
                    // Without `REPLACE`: a key the store still has stays as it is.
                    let done: redis::RedisResult<()> = redis::cmd("RESTORE")
                        .arg(key)
                        .arg(0)
                        .arg(dump.as_slice())
                        .query_async(&mut redis)
                        .await;
                    restored += u64::from(done.is_ok());
                }
                restored
            }
            Self::Postgres(table) => {
                postgres(&format!(
                    "INSERT INTO typed_sessions_tests.{table} SELECT * FROM typed_sessions_tests.{table}_backup \
                     ON CONFLICT (id) DO NOTHING"
                ))
                .await
            }
        }
    }
}

async fn redis_connection() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Runs `statement` on the tests' database; the rows it touched.
async fn postgres(statement: &str) -> u64 {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&database_url()).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut connection)
        .await
        .unwrap()
        .rows_affected()
}
