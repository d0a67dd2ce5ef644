//! Seal and open of a 256-byte record: `CookieBackend::sealed()` (XChaCha20-Poly1305) and
//! `CookieBackend::signed()` (HMAC-SHA256), against axum-extra's `PrivateCookieJar` (AES-256-GCM)
//! doing the same job, in the same run.
//!
//! `cargo bench -p typed-sessions-bench --bench cookie`

use axum_extra::extract::cookie::{Cookie, Key as JarKey, PrivateCookieJar};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use typed_sessions::internals::bench::{CookieSealer, Record, encode_record, record};

/// A record whose encoding is exactly `size` bytes.
fn record_of(size: usize) -> Record {
    let mut value_len = size;
    loop {
        let candidate = record(&[("app.note", vec![b'x'; value_len])]);
        match encode_record(&candidate).len() {
            len if len == size => return candidate,
            len if len > size => value_len -= len - size,
            _ => value_len += 1,
        }
    }
}

fn seal_and_open(c: &mut Criterion) {
    let key = typed_sessions::Key::from_secret(&[7; 64]).expect("64 bytes");
    let record = record_of(256);
    let mut group = c.benchmark_group("seal+open 256-byte record");
    for (name, sealer) in [
        ("CookieBackend (sealed)", CookieSealer::sealed(&key)),
        ("CookieBackend", CookieSealer::signed(&key)),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let value = sealer.seal("id", black_box(&record));
                sealer.open("id", black_box(&value)).expect("opens")
            });
        });
    }
    // The same job for PrivateCookieJar: a 256-byte value in, encrypted into the jar, and
    // decrypted back out.
    let jar_key = JarKey::from(&[7; 64]);
    let value = "x".repeat(256);
    group.bench_function("axum-extra PrivateCookieJar", |b| {
        b.iter(|| {
            let jar = PrivateCookieJar::new(jar_key.clone())
                .add(Cookie::new("id", black_box(value.clone())));
            jar.get("id").expect("decrypts")
        });
    });
    group.finish();
}

criterion_group!(benches, seal_and_open);
criterion_main!(benches);
