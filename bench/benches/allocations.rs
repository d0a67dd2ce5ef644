//! Heap allocations per request, for the same stacks and workloads as the `requests`
//! benchmark: a count, not a timing, so it is the same on every machine. Each allocation is
//! also a trip through the allocator, which on a large, fragmented heap costs far more than
//! it does in a small benchmark.
//!
//! `cargo bench -p typed-sessions-bench --bench allocations`

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    // In test mode (`cargo test --benches`) one request per cell is enough to check it runs.
    let rounds = if std::env::args().any(|arg| arg == "--bench") {
        1000
    } else {
        1
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stacks = typed_sessions_bench::stacks::all(dir.path());
    println!("allocations per request (bytes allocated)\n");
    print!("{:<28}", "");
    for workload in typed_sessions_bench::stacks::WORKLOADS {
        print!("{:>26}", workload.name);
    }
    println!();
    for stack in &stacks {
        print!("{:<28}", stack.name);
        for workload in typed_sessions_bench::stacks::WORKLOADS {
            let cookie = runtime.block_on(workload.cookie(&stack.router));
            // Warm up: first requests fill lazily built state (shards, pools, caches).
            for _ in 0..10 {
                runtime.block_on(typed_sessions_bench::call(
                    &stack.router,
                    workload.path,
                    cookie.as_deref(),
                ));
            }
            let region = Region::new(GLOBAL);
            for _ in 0..rounds {
                runtime.block_on(typed_sessions_bench::call(
                    &stack.router,
                    workload.path,
                    cookie.as_deref(),
                ));
            }
            let change = region.change();
            let count = (change.allocations + change.reallocations) as f64 / f64::from(rounds);
            let bytes = change.bytes_allocated as f64 / f64::from(rounds);
            print!("{:>26}", format!("{count:.1} ({bytes:.0} B)"));
        }
        println!();
    }
}
