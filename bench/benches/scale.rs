//! The memory store with 1 thousand, 100 thousand and 1 million live sessions: the time of a
//! whole request through a `Router` (a read and a write of an existing session), of a
//! store load and of a save, and the resident bytes each idle session costs (read from
//! `/proc/self/statm`, printed before the timings).
//!
//! `cargo bench -p typed-sessions-bench --bench scale`; other sizes with `SCALE_SESSIONS`
//! (comma-separated): `SCALE_SESSIONS=10000000` for ten million.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, SystemTime};
use typed_sessions::internals::bench::{encode_record, record};
use typed_sessions::store::StorageKey;
use typed_sessions::{Key, MemoryStore, SessionLayer, Store};
use typed_sessions_bench::{call, router};

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn scale(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // A small idle session: a user id and a visit count, as the demo keeps after login.
    let bytes = encode_record(&record(&[
        (
            "demo.user",
            postcard::to_allocvec(&Some("user-123456")).unwrap(),
        ),
        ("demo.visits", postcard::to_allocvec(&12u64).unwrap()),
    ]));
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let mut group = c.benchmark_group("memory store with live sessions");
    group.measurement_time(Duration::from_secs(3));
    // Every store is filled and measured before any benchmark runs: memory freed earlier
    // (by criterion's analysis, or another size's requests) would be reused and hide from
    // the resident count.
    let sizes = std::env::var("SCALE_SESSIONS").unwrap_or_else(|_| "1000,100000,1000000".into());
    let sizes = sizes
        .split(',')
        .map(|n| n.trim().parse::<usize>().expect("SCALE_SESSIONS: counts"));
    let filled: Vec<(usize, MemoryStore, Vec<StorageKey>)> = sizes
        .map(|count| {
            let store = MemoryStore::new();
            let ids: Vec<StorageKey> = (0..count).map(|_| StorageKey::random()).collect();
            // After the ids, so that only the store's own bytes count.
            let before = resident_bytes();
            for id in &ids {
                let _ = runtime
                    .block_on(store.save(id, &bytes, expires, None, None))
                    .unwrap();
            }
            let per_session = (resident_bytes().saturating_sub(before)) as f64 / count as f64;
            println!(
                "{count} sessions: {per_session:.0} resident bytes each, payload {} bytes, ratio {:.2}",
                bytes.len(),
                per_session / bytes.len() as f64
            );
            (count, store, ids)
        })
        .collect();
    for (count, store, ids) in filled {
        let mut next = 0usize;
        group.bench_function(format!("load, {count} sessions"), |b| {
            b.iter(|| {
                next = (next + 7919) % count;
                runtime
                    .block_on(store.load(black_box(&ids[next])))
                    .unwrap()
                    .unwrap()
            });
        });
        group.bench_function(format!("save, {count} sessions"), |b| {
            b.iter(|| {
                next = (next + 7919) % count;
                let version = runtime
                    .block_on(store.load(&ids[next]))
                    .unwrap()
                    .unwrap()
                    .version;
                runtime
                    .block_on(store.save(
                        &ids[next],
                        black_box(&bytes),
                        expires,
                        Some(version),
                        None,
                    ))
                    .unwrap()
            });
        });
        // Whole requests: `count` visitors, each with the cookie its first write set.
        let app = router(SessionLayer::new(
            MemoryStore::new(),
            &Key::from_secret(&[7; 64]).unwrap(),
        ))
        .with_state(());
        let cookies: Vec<String> = (0..count)
            .map(|_| runtime.block_on(call(&app, "/write", None)).unwrap())
            .collect();
        for path in ["/read", "/write"] {
            group.bench_function(format!("request {path}, {count} sessions"), |b| {
                b.iter(|| {
                    next = (next + 7919) % count;
                    runtime.block_on(call(&app, path, Some(&cookies[next])))
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
