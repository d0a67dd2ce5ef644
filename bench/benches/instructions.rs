//! Runs one stack's workload N times, for counting instructions under callgrind: a count,
//! not a time, so it is the same from run to run on this noisy machine. Setup is the same
//! for every N, so the difference between two N is the requests' own.
//!
//! ```sh
//! cargo bench -p typed-sessions-bench --bench instructions --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg \
//!     target/release/deps/instructions-* "session MemoryStore" 2 1000
//! ```
//! With `--features metrics` and `BENCH_PROMETHEUS=1`, a Prometheus recorder records the
//! session metrics (what the feature costs; without the variable, metrics go nowhere).
//!
//! Arguments: a stack's name (as in the `requests` tables), a workload's index (0 untouched,
//! 1 read, 2 write, 3 new visitor), and the number of requests. Without arguments (as in
//! `cargo test --benches`) it runs each cell once.

use typed_sessions_bench::call;
use typed_sessions_bench::stacks::{WORKLOADS, all};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    #[cfg(feature = "metrics")]
    if std::env::var_os("BENCH_PROMETHEUS").is_some() {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("the only recorder");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stacks = all(dir.path());
    let cells: Vec<(usize, usize, u32)> = match args.as_slice() {
        [stack, workload, count] => {
            let stack = stacks
                .iter()
                .position(|s| s.name == stack)
                .expect("a stack's name");
            vec![(stack, workload.parse().unwrap(), count.parse().unwrap())]
        }
        _ => (0..stacks.len())
            .flat_map(|stack| (0..WORKLOADS.len()).map(move |workload| (stack, workload, 1)))
            .collect(),
    };
    for (stack, workload, count) in cells {
        let (router, workload) = (&stacks[stack].router, &WORKLOADS[workload]);
        let cookie = runtime.block_on(workload.cookie(router));
        for _ in 0..count {
            runtime.block_on(call(router, workload.path, cookie.as_deref()));
        }
    }
}
