//! Two app instances sharing one store, on Redis and on PostgreSQL: what one writes the
//! other reads, and a logout through one ends the session for both.

use typed_sessions::RedisStore;
use typed_sessions_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_through_redis_and_postgres() {
    let prefix = unique("test:");
    let redis = async || {
        RedisStore::connect(&redis_url())
            .await
            .unwrap()
            .with_prefix(prefix.clone())
    };
    two_instances(redis().await, redis().await).await;
    let postgres = postgres_store().await;
    two_instances(postgres.clone(), postgres).await;
}
