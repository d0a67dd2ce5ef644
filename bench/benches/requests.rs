//! Whole requests through a real axum `Router` (in process, `tower::ServiceExt::oneshot`),
//! for four workloads, on bare axum (no session layer: the ceiling), this crate with its
//! memory, file and sealed-cookie stores, and tower-sessions with its `MemoryStore`, all in
//! one run so that the ratios hold on a noisy machine.
//!
//! `cargo bench -p typed-sessions-bench --bench requests`

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stacks = typed_sessions_bench::stacks::all(dir.path());
    for workload in &typed_sessions_bench::stacks::WORKLOADS {
        let mut group = c.benchmark_group(workload.name);
        group
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        for stack in &stacks {
            let cookie = runtime.block_on(workload.cookie(&stack.router));
            group.bench_function(stack.name, |b| {
                b.to_async(&runtime).iter(|| {
                    typed_sessions_bench::call(&stack.router, workload.path, cookie.as_deref())
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, requests);
criterion_main!(benches);
