//! A shared store is a store: `Arc<S>` forwards every method of [`Store`], those with
//! defaults included.

use super::{
    BoxFuture, CreateOutcome, ExpiredOwned, OwnedRecord, Pipelined, ReplaceOutcome, SaveOutcome,
    ScanCursor, ScanPage, StorageKey, Store, StoreError, StoredRecord, Version,
};
use crate::id::Owner;
use std::time::SystemTime;

/// A shared store is a store.
impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn load<'a>(
        &'a self,
        key: &'a StorageKey,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        (**self).load(key)
    }

    fn save<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        (**self).save(key, data, expires_at, expected, owner)
    }

    fn replace<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<ReplaceOutcome, StoreError>> {
        (**self).replace(key, data, expires_at, expected, owner)
    }

    fn replace_pipelined<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Version,
        owner: Option<&'a Owner>,
    ) -> Option<Pipelined<'a>> {
        (**self).replace_pipelined(key, data, expires_at, expected, owner)
    }

    fn touch<'a>(
        &'a self,
        key: &'a StorageKey,
        expires_at: SystemTime,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).touch(key, expires_at, owner)
    }

    fn delete<'a>(
        &'a self,
        key: &'a StorageKey,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).delete(key, owner)
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn owned<'a>(
        &'a self,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Vec<OwnedRecord>, StoreError>> {
        (**self).owned(owner)
    }

    fn create_owned<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        owner: &'a Owner,
        max: usize,
    ) -> BoxFuture<'a, Result<CreateOutcome, StoreError>> {
        (**self).create_owned(key, data, expires_at, owner, max)
    }

    fn delete_owned<'a>(
        &'a self,
        owner: &'a Owner,
        except: Option<&'a StorageKey>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        (**self).delete_owned(owner, except)
    }

    fn scan<'a>(
        &'a self,
        cursor: Option<&'a ScanCursor>,
        limit: usize,
    ) -> BoxFuture<'a, Result<ScanPage, StoreError>> {
        (**self).scan(cursor, limit)
    }

    fn sweep_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        (**self).sweep_expired()
    }

    fn broadcast(&self) -> Option<std::sync::Arc<dyn crate::store::Broadcast>> {
        (**self).broadcast()
    }

    fn expired_owned(&self) -> Option<&ExpiredOwned> {
        (**self).expired_owned()
    }
}
