//! The owner index of every store: expired sessions leave it without the application
//! doing anything.

use std::time::Duration;
use typed_sessions::{FileStore, MemoryStore, SessionLayer, Store};
use typed_sessions_tests::*;

/// Each owner's index holds their live sessions: expired ones leave it without a sweeper
/// the application runs, and an owner who never comes back leaves nothing behind (on Redis,
/// a day after their last session).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_leave_the_owner_index() {
    let dir = tempfile::tempdir().unwrap();
    let memory = MemoryStore::new().with_sweep_interval(Duration::from_millis(100));
    let files = FileStore::open(dir.path()).unwrap();
    let prefix = unique("test:");
    let redis = typed_sessions::RedisStore::connect(&redis_url())
        .await
        .unwrap()
        .with_prefix(prefix.clone());
    let table = unique("t_");
    let postgres = typed_sessions::PostgresStore::connect(&database_url())
        .await
        .unwrap()
        .with_table(Some("typed_sessions_tests"), &table)
        .unwrap();
    postgres.migrate().await.unwrap();
    let stores: [&dyn Fn() -> SessionLayer; 4] = [
        &|| SessionLayer::new(memory.clone(), &key()),
        &|| SessionLayer::new(files.clone(), &key()),
        &|| SessionLayer::new(redis.clone(), &key()),
        &|| SessionLayer::new(postgres.clone(), &key()),
    ];
    let mut connection = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for (store, layer) in stores.into_iter().enumerate() {
        let layer = || layer().with_idle_timeout(Duration::from_secs(1));
        let app = owner_routes().layer(layer());
        for _ in 0..30 {
            Client::new(app.clone()).post("/login/ada").await;
        }
        assert_eq!(
            layer()
                .accounts()
                .sessions(&owner("ada"))
                .await
                .unwrap()
                .len(),
            30
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(
            layer()
                .accounts()
                .sessions(&owner("ada"))
                .await
                .unwrap()
                .is_empty()
        );
        Client::new(app.clone()).post("/login/ada").await;
        assert_eq!(
            layer()
                .accounts()
                .sessions(&owner("ada"))
                .await
                .unwrap()
                .len(),
            1
        );
        // What the index holds now: the one live session.
        let held = match store {
            0 => memory.owner_index_len(),
            1 => {
                files.sweep_expired().await.unwrap();
                std::fs::read_dir(dir.path().join("owners"))
                    .unwrap()
                    .map(|owner| std::fs::read_dir(owner.unwrap().path()).unwrap().count())
                    .sum()
            }
            2 => {
                let indexes: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}owner:*"))
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                assert_eq!(indexes.len(), 1, "{indexes:?}");
                let (members, ttl): (usize, i64) = redis::pipe()
                    .cmd("ZCARD")
                    .arg(&indexes[0])
                    .cmd("PTTL")
                    .arg(&indexes[0])
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                // A day after its last session: the day in which a read or write of the
                // index still names the sessions that expired, for `Expired` events.
                let day = 86_400_000;
                assert!(
                    (day + 1..=day + 1000).contains(&ttl),
                    "expires a day after its last session: {ttl}"
                );
                members
            }
            _ => {
                let pool = sqlx::PgPool::connect(&database_url()).await.unwrap();
                let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM typed_sessions_tests.{table} WHERE owner = 'ada'"
                )))
                .fetch_one(&pool)
                .await
                .unwrap();
                usize::try_from(rows).unwrap()
            }
        };
        assert_eq!(held, 1, "store {store}");
    }
}
