//! The contract of [`super::Store`], as tests any store can run.
//!
//! ```no_run
//! # async fn example() {
//! use typed_sessions::MemoryStore;
//! use std::sync::Arc;
//!
//! typed_sessions::store::conformance::run_all(Arc::new(MemoryStore::new())).await;
//! # }
//! ```
//!
//! Each check uses fresh random ids, so they share one store with other data. They panic,
//! with a message naming the broken rule, when the store breaks the contract.

use super::{ReplaceOutcome, SaveOutcome, ScanCursor, Store, StoreError, Version};
use crate::id::StorageKey;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn later(ms: u64) -> SystemTime {
    SystemTime::now() + Duration::from_millis(ms)
}

async fn create(store: &dyn Store, id: &StorageKey, data: &[u8], ms: u64) -> Version {
    match store
        .save(id, data, later(ms), None, None)
        .await
        .expect("save")
    {
        SaveOutcome::Saved(version) => version,
        other => panic!("creating a new id must succeed, got {other:?}"),
    }
}

/// Runs every check.
pub async fn run_all(store: Arc<dyn Store>) {
    load_save_delete(&*store).await;
    compare_and_swap(&*store).await;
    a_lost_replace_answers_the_record_that_won(&*store).await;
    pipelined_replaces_write_the_versions_they_announce(&*store).await;
    touch_keeps_data_and_version(&*store).await;
    expiry(&*store).await;
    no_resurrection(&*store).await;
    ids_are_never_reused_while_live(&*store).await;
    bytes_round_trip_exactly(&*store).await;
    scan_lists_every_live_record(&*store).await;
    concurrent_saves(store).await;
}

/// Absent ids load as `None`; a created record loads back; deleting removes it once.
pub async fn load_save_delete(store: &dyn Store) {
    let id = StorageKey::random();
    assert_eq!(
        store.load(&id).await.expect("load"),
        None,
        "an unknown id loads as None"
    );
    let version = create(store, &id, b"one", 60_000).await;
    let loaded = store
        .load(&id)
        .await
        .expect("load")
        .expect("a created record loads");
    assert_eq!(
        (loaded.data.as_slice(), loaded.version),
        (&b"one"[..], version)
    );
    assert!(
        store.delete(&id, None).await.expect("delete"),
        "deleting a live record returns true"
    );
    assert!(
        !store.delete(&id, None).await.expect("delete"),
        "deleting twice returns false"
    );
    assert_eq!(
        store.load(&id).await.expect("load"),
        None,
        "a deleted record is gone"
    );
}

/// A save with the loaded version wins and changes the version; a stale version loses.
pub async fn compare_and_swap(store: &dyn Store) {
    let id = StorageKey::random();
    let v1 = create(store, &id, b"one", 60_000).await;
    let SaveOutcome::Saved(v2) = store
        .save(&id, b"two", later(60_000), Some(v1), None)
        .await
        .expect("save")
    else {
        panic!("a save with the current version must succeed")
    };
    assert_ne!(v1, v2, "a save changes the version");
    let stale = store
        .save(&id, b"stale", later(60_000), Some(v1), None)
        .await
        .expect("save");
    assert_eq!(
        stale,
        SaveOutcome::Conflict,
        "a save with a stale version must conflict"
    );
    let current = store.load(&id).await.expect("load").expect("live");
    assert_eq!(
        (current.data.as_slice(), current.version),
        (&b"two"[..], v2),
        "a conflict writes nothing"
    );
}

/// A replace with the current version saves; with a stale one it writes nothing and answers
/// the record stored now; with none stored, `Missing`.
pub async fn a_lost_replace_answers_the_record_that_won(store: &dyn Store) {
    let id = StorageKey::random();
    let v1 = create(store, &id, b"one", 60_000).await;
    let ReplaceOutcome::Saved(v2) = store
        .replace(&id, b"two", later(60_000), v1, None)
        .await
        .expect("replace")
    else {
        panic!("a replace with the current version must succeed")
    };
    assert_ne!(v1, v2, "a replace changes the version");
    let stale = store
        .replace(&id, b"stale", later(60_000), v1, None)
        .await
        .expect("replace");
    let ReplaceOutcome::Lost(won) = stale else {
        panic!("a replace with a stale version must lose, got {stale:?}")
    };
    assert_eq!(
        (won.data.as_slice(), won.version),
        (&b"two"[..], v2),
        "a lost replace answers the record stored now"
    );
    assert_eq!(
        store.load(&id).await.expect("load"),
        Some(*won),
        "and writes nothing"
    );
    assert!(store.delete(&id, None).await.expect("delete"));
    assert_eq!(
        store
            .replace(&id, b"three", later(60_000), v2, None)
            .await
            .expect("replace"),
        ReplaceOutcome::Missing,
        "a replace never brings a deleted record back"
    );
    assert_eq!(store.load(&id).await.expect("load"), None);
}

/// Where a store pipelines replaces: each writes the version it announced, so that one sent
/// right behind another, expecting that version, wins once it did; one expecting a version
/// that was never written loses.
pub async fn pipelined_replaces_write_the_versions_they_announce(store: &dyn Store) {
    let id = StorageKey::random();
    let v1 = create(store, &id, b"one", 60_000).await;
    let Some(first) = store.replace_pipelined(&id, b"two", later(60_000), v1, None) else {
        return;
    };
    let v2 = first.version;
    let second = store
        .replace_pipelined(&id, b"three", later(60_000), v2, None)
        .expect("a store that pipelines one replace pipelines the next");
    let v3 = second.version;
    // Polled in order, as the layer sends them: the second goes out before the first's
    // answer.
    let (first, second) = tokio::join!(first.replace, second.replace);
    assert_eq!(first.expect("replace"), ReplaceOutcome::Saved(v2));
    assert_eq!(second.expect("replace"), ReplaceOutcome::Saved(v3));
    let behind_a_loss = store
        .replace_pipelined(&id, b"lost", later(60_000), v1, None)
        .expect("pipelined");
    let never_written = behind_a_loss.version;
    assert!(matches!(
        behind_a_loss.replace.await,
        Ok(ReplaceOutcome::Lost(_))
    ));
    let behind = store.replace_pipelined(&id, b"behind", later(60_000), never_written, None);
    let outcome = behind.expect("pipelined").replace.await.expect("replace");
    assert!(
        matches!(&outcome, ReplaceOutcome::Lost(won) if won.version == v3),
        "a replace expecting the version of one that lost must lose, got {outcome:?}"
    );
    assert!(store.delete(&id, None).await.expect("delete"));
}

/// Touch moves the expiry (to the millisecond) and keeps data and version.
pub async fn touch_keeps_data_and_version(store: &dyn Store) {
    let id = StorageKey::random();
    let version = create(store, &id, b"data", 60_000).await;
    let moved = later(120_000);
    assert!(
        store.touch(&id, moved, None).await.expect("touch"),
        "touching a live record returns true"
    );
    let touched = store.load(&id).await.expect("load").expect("live");
    assert_eq!(
        (touched.data.as_slice(), touched.version),
        (&b"data"[..], version),
        "touch keeps data and version"
    );
    let drift = touched
        .expires_at
        .duration_since(moved)
        .unwrap_or_else(|e| e.duration());
    assert!(
        drift <= Duration::from_millis(1),
        "expiry is kept to the millisecond (off by {drift:?})"
    );
    assert!(
        !store
            .touch(&StorageKey::random(), later(1_000), None)
            .await
            .expect("touch"),
        "touching an unknown id returns false"
    );
}

/// An expired record behaves exactly like an absent one.
pub async fn expiry(store: &dyn Store) {
    let id = StorageKey::random();
    let version = create(store, &id, b"brief", 100).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        store.load(&id).await.expect("load"),
        None,
        "an expired record loads as None"
    );
    assert!(
        !store.touch(&id, later(60_000), None).await.expect("touch"),
        "an expired record cannot be touched"
    );
    let late = store
        .save(&id, b"x", later(60_000), Some(version), None)
        .await
        .expect("save");
    assert_eq!(
        late,
        SaveOutcome::Missing,
        "saving over an expired record is Missing"
    );
    assert!(
        matches!(
            store
                .save(&id, b"new", later(60_000), None, None)
                .await
                .expect("save"),
            SaveOutcome::Saved(_)
        ),
        "an expired id can be created again"
    );
}

/// A save that expects a version never brings a deleted record back.
pub async fn no_resurrection(store: &dyn Store) {
    let id = StorageKey::random();
    let version = create(store, &id, b"alive", 60_000).await;
    assert!(store.delete(&id, None).await.expect("delete"));
    let late = store
        .save(&id, b"zombie", later(60_000), Some(version), None)
        .await
        .expect("save");
    assert_eq!(
        late,
        SaveOutcome::Missing,
        "a save after a delete must be Missing"
    );
    assert_eq!(
        store.load(&id).await.expect("load"),
        None,
        "and must write nothing"
    );
}

/// Creating an id that is live conflicts, and a recreated id gets a fresh version.
pub async fn ids_are_never_reused_while_live(store: &dyn Store) {
    let id = StorageKey::random();
    let first = create(store, &id, b"first", 60_000).await;
    let again = store
        .save(&id, b"second", later(60_000), None, None)
        .await
        .expect("save");
    assert_eq!(
        again,
        SaveOutcome::Conflict,
        "creating a live id must conflict"
    );
    assert_eq!(
        store.load(&id).await.expect("load").expect("live").data,
        b"first"
    );
    assert!(store.delete(&id, None).await.expect("delete"));
    let second = create(store, &id, b"second", 60_000).await;
    assert_ne!(
        first, second,
        "a recreated id must not reuse an old version"
    );
}

/// Empty, binary and 1 MiB records come back byte for byte.
pub async fn bytes_round_trip_exactly(store: &dyn Store) {
    let large: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    for data in [Vec::new(), vec![0, 255, 0, 10, 13, 0], large] {
        let id = StorageKey::random();
        create(store, &id, &data, 60_000).await;
        let loaded = store.load(&id).await.expect("load").expect("live");
        assert!(
            loaded.data == data,
            "a {}-byte record must round-trip exactly",
            data.len()
        );
    }
}

/// Many tasks race to replace one version: exactly one wins, the rest conflict.
pub async fn concurrent_saves(store: Arc<dyn Store>) {
    let id = StorageKey::random();
    let version = create(&*store, &id, b"start", 60_000).await;
    let racers: Vec<_> = (0..16u8)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .save(&id, &[n], later(60_000), Some(version), None)
                    .await
                    .expect("save")
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (n, racer) in racers.into_iter().enumerate() {
        match racer.await.expect("task") {
            SaveOutcome::Saved(_) => winners.push(n as u8),
            SaveOutcome::Conflict => {}
            SaveOutcome::Missing => panic!("a live record must not be Missing"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one racer may win, got {winners:?}"
    );
    assert_eq!(
        store.load(&id).await.expect("load").expect("live").data,
        winners
    );
}

/// A scan, page by page, lists every live record at least once, with its data, version
/// and expiry, and no expired one; a cursor the store did not make is an error. A store
/// that cannot scan ([`StoreError::NoScan`]) passes.
pub async fn scan_lists_every_live_record(store: &dyn Store) {
    let expired = StorageKey::random();
    create(store, &expired, b"gone", 1).await;
    let mut live = std::collections::BTreeMap::new();
    for n in 0..25u8 {
        let id = StorageKey::random();
        let version = create(store, &id, &[n; 3], 60_000).await;
        live.insert(id, (vec![n; 3], version));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut cursor: Option<ScanCursor> = None;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..100_000 {
        let page = match store.scan(cursor.as_ref(), 7).await {
            Err(StoreError::NoScan) => return,
            page => page.expect("scan"),
        };
        for listed in page.records {
            assert_ne!(listed.key, expired, "an expired record is not listed");
            if let Some((data, version)) = live.get(&listed.key) {
                assert_eq!(&listed.record.data, data, "a scan lists the record's data");
                assert_eq!(listed.record.version, *version);
                assert!(listed.record.expires_at > SystemTime::now());
                seen.insert(listed.key);
            }
        }
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), live.len(), "every live record is listed");
    let forged = ScanCursor::new("not a cursor of this store");
    assert!(
        store.scan(Some(&forged), 7).await.is_err(),
        "a cursor the store did not make is refused"
    );
    for id in live.keys() {
        store.delete(id, None).await.expect("delete");
    }
}
