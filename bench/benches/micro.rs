//! The pieces a request pays for: the id cookie, seal and open, the record codec, and the
//! memory store.
//!
//! `cargo bench -p typed-sessions-bench --bench micro`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, SystemTime};
use typed_sessions::internals::bench::{
    CookieSealer, IdCookie, decode_record, encode_record, record,
};
use typed_sessions::{Key, MemoryStore, Store};

fn id_cookie(c: &mut Criterion) {
    let signer = IdCookie::new(&Key::from_secret(&[7; 64]).unwrap());
    let id = [0x2a; 16];
    let value = signer.sign("id", id);
    c.bench_function("id cookie: sign", |b| {
        b.iter(|| signer.sign("id", black_box(id)))
    });
    c.bench_function("id cookie: verify", |b| {
        b.iter(|| signer.verify("id", black_box(&value)).unwrap())
    });
    c.bench_function("id: storage key (SHA-256)", |b| {
        b.iter(|| typed_sessions::internals::bench::storage_key(black_box(id)))
    });
}

fn seal_2k(c: &mut Criterion) {
    let key = Key::from_secret(&[7; 64]).unwrap();
    let record = record(&[("app.note", vec![b'x'; 2030])]);
    for (name, sealer) in [
        ("sealed", CookieSealer::sealed(&key)),
        ("signed", CookieSealer::signed(&key)),
    ] {
        c.bench_function(&format!("{name} cookie: seal+open 2 KiB record"), |b| {
            b.iter(|| {
                let value = sealer.seal("id", black_box(&record));
                sealer.open("id", &value).unwrap()
            });
        });
    }
}

/// The demo's five fields: visits, user, a, b, note.
fn five_fields() -> typed_sessions::internals::bench::Record {
    record(&[
        ("demo.visits", postcard::to_allocvec(&42u64).unwrap()),
        ("demo.user", postcard::to_allocvec(&Some("ada")).unwrap()),
        ("demo.a", postcard::to_allocvec(&7u64).unwrap()),
        ("demo.b", postcard::to_allocvec(&9u64).unwrap()),
        (
            "demo.note",
            postcard::to_allocvec(&"a note of some length").unwrap(),
        ),
    ])
}

fn record_codec(c: &mut Criterion) {
    let record = five_fields();
    let bytes = encode_record(&record);
    c.bench_function("record of 5 fields: encode", |b| {
        b.iter(|| encode_record(black_box(&record)))
    });
    c.bench_function("record of 5 fields: decode", |b| {
        b.iter(|| decode_record(black_box(&bytes)).unwrap())
    });
}

fn memory_store(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = MemoryStore::new();
    let bytes = encode_record(&five_fields());
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let id = typed_sessions::store::StorageKey::from_bytes([0x2a; 16]);
    let _ = runtime
        .block_on(store.save(&id, &bytes, expires, None, None))
        .unwrap();
    c.bench_function("memory store: load", |b| {
        b.iter(|| {
            runtime
                .block_on(store.load(black_box(&id)))
                .unwrap()
                .unwrap()
        });
    });
    c.bench_function("memory store: save (compare-and-swap)", |b| {
        b.iter(|| {
            let version = runtime.block_on(store.load(&id)).unwrap().unwrap().version;
            runtime
                .block_on(store.save(&id, black_box(&bytes), expires, Some(version), None))
                .unwrap()
        });
    });
}

criterion_group!(benches, id_cookie, seal_2k, record_codec, memory_store);
criterion_main!(benches);
