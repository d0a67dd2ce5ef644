//! The memory store with 1 thousand, 100 thousand and 1 million live sessions: the time of a
//! load and of a save, and the resident bytes each idle session costs (read from
//! `/proc/self/statm`, printed before the timings).
//!
//! `cargo bench -p session --bench scale`

use criterion::{Criterion, criterion_group, criterion_main};
use session::__private::{encode_record, record};
use session::{MemoryStore, SessionId, Store};
use std::hint::black_box;
use std::time::{Duration, SystemTime};

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
    for count in [1_000usize, 100_000, 1_000_000] {
        let store = MemoryStore::new();
        let before = resident_bytes();
        let ids: Vec<SessionId> = (0..count).map(|_| SessionId::random()).collect();
        for id in &ids {
            let _ = runtime
                .block_on(store.save(id, &bytes, expires, None))
                .unwrap();
        }
        let per_session = (resident_bytes().saturating_sub(before)) as f64 / count as f64;
        println!(
            "{count} sessions: {per_session:.0} resident bytes each (ids included), payload {} bytes, ratio {:.2}",
            bytes.len(),
            per_session / bytes.len() as f64
        );
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
                    .block_on(store.save(&ids[next], black_box(&bytes), expires, Some(version)))
                    .unwrap()
            });
        });
        drop(ids);
        drop(store);
    }
    group.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
