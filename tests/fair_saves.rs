//! Two processes writing one session take turns: a replace that loses claims the session's
//! next write for its store, and the other store's replaces wait for it (Redis and
//! PostgreSQL; two stores here are two processes). `bench/hot.sh` measures what it buys.

use std::time::{Duration, SystemTime};
use typed_sessions::Store;
use typed_sessions::store::{ReplaceOutcome, SaveOutcome, StorageKey, Version};
use typed_sessions_tests::*;

const HOUR: Duration = Duration::from_secs(3600);

/// `store`'s replace of `key` from `expected`: the version written, or the one that won.
async fn replace(
    store: &dyn Store,
    key: &StorageKey,
    data: &[u8],
    expected: Version,
) -> Result<Version, Version> {
    let expires_at = SystemTime::now() + HOUR;
    match store
        .replace(key, data, expires_at, expected, None)
        .await
        .unwrap()
    {
        ReplaceOutcome::Saved(version) => Ok(version),
        ReplaceOutcome::Lost(won) => Err(won.version),
        ReplaceOutcome::Missing => panic!("the record is there"),
    }
}

/// A new session in `store`: its key and first version.
async fn created(store: &dyn Store) -> (StorageKey, Version) {
    let key = StorageKey::random();
    let expires_at = SystemTime::now() + HOUR;
    match store
        .save(&key, b"0", expires_at, None, None)
        .await
        .unwrap()
    {
        SaveOutcome::Saved(version) => (key, version),
        other => panic!("{other:?}"),
    }
}

/// The turns, forced one step at a time from both sides.
async fn writes_alternate_after_a_loss(a: &dyn Store, b: &dyn Store) {
    let (key, v0) = created(a).await;
    let v1 = replace(a, &key, b"a1", v0)
        .await
        .expect("no claim yet: a writes");

    // b loads v0's era and loses: it is answered v1 and claims the next write.
    assert_eq!(replace(b, &key, b"b1", v0).await, Err(v1));
    // a is up to date, but b's claim refuses it (the version it is answered is its own).
    assert_eq!(
        replace(a, &key, b"a2", v1).await,
        Err(v1),
        "b's claim holds a back"
    );
    // b writes; its claim passes to a, refused meanwhile.
    let v2 = replace(b, &key, b"b1", v1)
        .await
        .expect("b's claimed write");
    assert_eq!(
        replace(b, &key, b"b2", v2).await,
        Err(v2),
        "a's turn now, passed on by b's write"
    );
    let v3 = replace(a, &key, b"a2", v2)
        .await
        .expect("a's claimed write");
    // Nobody was refused during a's turn: the claim is gone, and either writes.
    let v4 = replace(b, &key, b"b2", v3).await.expect("no claim left");
    let v5 = replace(a, &key, b"a3", v4).await.expect("no claim left");
    assert_eq!(a.load(&key).await.unwrap().unwrap().version, v5);
    assert_eq!(a.load(&key).await.unwrap().unwrap().data, b"a3");
}

/// A claim whose store never comes back holds the others back for a moment only.
async fn an_abandoned_claim_lapses(a: &dyn Store, b: &dyn Store) {
    let (key, v0) = created(a).await;
    let v1 = replace(a, &key, b"a1", v0).await.unwrap();
    assert_eq!(
        replace(b, &key, b"b1", v0).await,
        Err(v1),
        "b claims, then gives up"
    );
    assert_eq!(replace(a, &key, b"a2", v1).await, Err(v1));
    // The claim lasts 20 ms.
    tokio::time::sleep(Duration::from_millis(60)).await;
    let v2 = replace(a, &key, b"a2", v1).await.expect("the claim lapsed");
    assert!(v2 != v1);
}

#[tokio::test]
async fn redis_writes_alternate_after_a_loss() {
    let prefix = unique("test:");
    let store = || async {
        typed_sessions::RedisStore::connect(&redis_url())
            .await
            .unwrap()
            .with_prefix(prefix.clone())
    };
    let (a, b) = (store().await, store().await);
    writes_alternate_after_a_loss(&a, &b).await;
    an_abandoned_claim_lapses(&a, &b).await;
    // A claim is not a session: a scan of the prefix, while one is held, finds the
    // sessions alone.
    let (key, v0) = created(&a).await;
    let v1 = replace(&a, &key, b"a1", v0).await.unwrap();
    assert_eq!(replace(&b, &key, b"b1", v0).await, Err(v1), "b claims");
    let (mut records, mut cursor) = (0, None);
    loop {
        let page = a.scan(cursor.as_ref(), 1000).await.unwrap();
        records += page.records.len();
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(records, 3, "three sessions, no claim");
}

#[tokio::test]
async fn postgres_writes_alternate_after_a_loss() {
    let table = unique("t_");
    let store = || async {
        let store = typed_sessions::PostgresStore::connect(&database_url())
            .await
            .unwrap()
            .with_table(Some("typed_sessions_tests"), &table)
            .unwrap();
        store.migrate().await.unwrap();
        store
    };
    let (a, b) = (store().await, store().await);
    writes_alternate_after_a_loss(&a, &b).await;
    an_abandoned_claim_lapses(&a, &b).await;
}

/// A table made before claims, not migrated since: replaces work as they did (without
/// claims), rather than failing on the missing columns.
#[tokio::test]
async fn postgres_replaces_on_a_table_made_before_claims() {
    let table = unique("old_");
    // Makes the tests' schema, under the migrations' lock.
    let _ = postgres_store().await;
    let pool = sqlx::PgPool::connect(&database_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE typed_sessions_tests.\"{table}\" (id BYTEA PRIMARY KEY, data BYTEA NOT NULL, \
         version BIGINT NOT NULL, expires_at BIGINT NOT NULL, owner TEXT)"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let store = || async {
        typed_sessions::PostgresStore::connect(&database_url())
            .await
            .unwrap()
            .with_table(Some("typed_sessions_tests"), &table)
            .unwrap()
    };
    let (a, b) = (store().await, store().await);
    let (key, v0) = created(&a).await;
    let v1 = replace(&a, &key, b"a1", v0)
        .await
        .expect("saved without claims");
    assert_eq!(
        replace(&b, &key, b"b1", v0).await,
        Err(v1),
        "the loser is answered the winner"
    );
    // No claim was made: a writes again at once.
    replace(&a, &key, b"a2", v1)
        .await
        .expect("no claim on an old table");
    // And once migrated, the next store claims.
    a.migrate().await.unwrap();
    let (c, d) = (store().await, store().await);
    writes_alternate_after_a_loss(&c, &d).await;
}
