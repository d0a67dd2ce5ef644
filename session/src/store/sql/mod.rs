//! The SQL stores: [`PostgresStore`](postgres.rs) and [`SqliteStore`](sqlite.rs), newtypes
//! over one private generic core, [`SqlCore`], which runs the statements of [`Queries`]
//! (written once per table and dialect) through sqlx against either database.

#[cfg(feature = "postgres")]
mod claim;
mod core;
mod expired;
mod queries;
mod rows;
mod scan;
mod statement;
mod sweep;
mod table;

#[cfg(feature = "postgres")]
mod notify;
mod outbox;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use table::InvalidTableNameError;
#[cfg(feature = "tower-sessions-import")]
pub(crate) use table::Table;

use crate::store::StoreError;
use core::SqlCore;

fn backend(error: sqlx::Error) -> StoreError {
    StoreError::backend(error)
}

/// Implements [`Store`](crate::store::Store) for a newtype over a [`SqlCore`] by handing
/// each call to it: the one thing the two SQL stores write twice.
macro_rules! delegate_store {
    ($store:ty, $name:literal) => {
        impl $crate::store::Store for $store {
            fn name(&self) -> &'static str {
                $name
            }

            fn load<'a>(
                &'a self,
                key: &'a $crate::store::StorageKey,
            ) -> $crate::store::BoxFuture<
                'a,
                Result<Option<$crate::store::StoredRecord>, $crate::store::StoreError>,
            > {
                Box::pin(self.core.load(key))
            }

            fn save<'a>(
                &'a self,
                key: &'a $crate::store::StorageKey,
                data: &'a [u8],
                expires_at: std::time::SystemTime,
                expected: Option<$crate::store::Version>,
                owner: Option<&'a $crate::id::Owner>,
            ) -> $crate::store::BoxFuture<
                'a,
                Result<$crate::store::SaveOutcome, $crate::store::StoreError>,
            > {
                Box::pin(self.core.save(key, data, expires_at, expected, owner))
            }

            fn replace<'a>(
                &'a self,
                key: &'a $crate::store::StorageKey,
                data: &'a [u8],
                expires_at: std::time::SystemTime,
                expected: $crate::store::Version,
                owner: Option<&'a $crate::id::Owner>,
            ) -> $crate::store::BoxFuture<
                'a,
                Result<$crate::store::ReplaceOutcome, $crate::store::StoreError>,
            > {
                // A replace keeps the row's owner: it is not written again.
                let _ = owner;
                Box::pin(self.core.replace_now(key, data, expires_at, expected))
            }

            fn touch<'a>(
                &'a self,
                key: &'a $crate::store::StorageKey,
                expires_at: std::time::SystemTime,
                _owner: Option<&'a $crate::id::Owner>,
            ) -> $crate::store::BoxFuture<'a, Result<bool, $crate::store::StoreError>> {
                Box::pin(self.core.touch(key, expires_at))
            }

            fn delete<'a>(
                &'a self,
                key: &'a $crate::store::StorageKey,
                _owner: Option<&'a $crate::id::Owner>,
            ) -> $crate::store::BoxFuture<'a, Result<bool, $crate::store::StoreError>> {
                Box::pin(self.core.delete(key))
            }

            fn owned<'a>(
                &'a self,
                owner: &'a $crate::id::Owner,
            ) -> $crate::store::BoxFuture<
                'a,
                Result<Vec<$crate::store::OwnedRecord>, $crate::store::StoreError>,
            > {
                Box::pin(self.core.owned(owner))
            }

            fn create_owned<'a>(
                &'a self,
                key: &'a $crate::store::StorageKey,
                data: &'a [u8],
                expires_at: std::time::SystemTime,
                owner: &'a $crate::id::Owner,
                max: usize,
            ) -> $crate::store::BoxFuture<
                'a,
                Result<$crate::store::CreateOutcome, $crate::store::StoreError>,
            > {
                Box::pin(self.core.create_owned(key, data, expires_at, owner, max))
            }

            fn delete_owned<'a>(
                &'a self,
                owner: &'a $crate::id::Owner,
                except: Option<&'a $crate::store::StorageKey>,
            ) -> $crate::store::BoxFuture<'a, Result<u64, $crate::store::StoreError>> {
                Box::pin(self.core.delete_owned(owner, except))
            }

            fn sweep_expired(
                &self,
            ) -> $crate::store::BoxFuture<'_, Result<u64, $crate::store::StoreError>> {
                Box::pin(self.core.sweep_expired())
            }

            fn scan<'a>(
                &'a self,
                cursor: Option<&'a $crate::store::ScanCursor>,
                limit: usize,
            ) -> $crate::store::BoxFuture<
                'a,
                Result<$crate::store::ScanPage, $crate::store::StoreError>,
            > {
                Box::pin(self.core.scan(cursor, limit))
            }

            fn broadcast(&self) -> Option<std::sync::Arc<dyn $crate::store::Broadcast>> {
                self.channel()
            }

            fn expired_owned(&self) -> Option<&$crate::store::ExpiredOwned> {
                Some(&self.core.expired)
            }
        }
    };
}
use delegate_store;
