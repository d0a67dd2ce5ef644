//! A raw `GETDEL`, for what a tower-sessions import takes out of that store's keys.

use super::{RedisStore, backend};
use crate::store::StoreError;

impl RedisStore {
    /// Removes the value of `key`, as it is (no prefix, no format of this store's), and
    /// returns it: one `GETDEL`, so that of two callers one gets it. What a tower-sessions
    /// import takes that store's records with.
    pub(crate) async fn take_raw(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut connection = self.connection().await?;
        redis::cmd("GETDEL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .map_err(backend)
    }
}
