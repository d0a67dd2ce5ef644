//! The fuzzers' kept inputs, replayed through the same checks the fuzz targets run: the
//! seed corpus (`fuzz/seeds/<target>/`) and every crash ever found
//! (`fuzz/regressions/<target>/`, one file per crash, named after the issue it shows).

use std::fs;
use std::path::{Path, PathBuf};
use typed_sessions::internals::fuzz::{TARGETS, seeds};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn kept_inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    entries
        .map(|entry| {
            let path = entry.expect("a readable directory").path();
            let bytes = fs::read(&path).expect("a readable input");
            (path, bytes)
        })
        .collect()
}

#[test]
fn every_kept_fuzz_input_passes_its_targets_checks() {
    for (target, check) in TARGETS {
        let kept_seeds = kept_inputs("seeds", target);
        assert!(
            !kept_seeds.is_empty(),
            "fuzz/seeds/{target} is empty: run `cargo test -p typed-sessions-tests -- --ignored write_fuzz_seeds`"
        );
        for (path, bytes) in kept_seeds
            .into_iter()
            .chain(kept_inputs("regressions", target))
        {
            eprintln!("{}", path.display());
            check(&bytes);
        }
    }
}

#[test]
fn fresh_seeds_pass_the_checks_too() {
    for (target, check) in TARGETS {
        let fresh = seeds(target);
        assert!(!fresh.is_empty(), "no seeds for {target}");
        fresh.iter().for_each(|seed| check(seed));
    }
}

/// Writes the seed corpus. Seeds hold random ids and nonces, so they are written once and
/// kept, not compared.
#[test]
#[ignore = "writes fuzz/seeds; run by hand"]
fn write_fuzz_seeds() {
    for (target, _) in TARGETS {
        let dir = fuzz_dir().join("seeds").join(target);
        fs::create_dir_all(&dir).unwrap();
        for (index, seed) in seeds(target).into_iter().enumerate() {
            fs::write(dir.join(format!("seed-{index}")), seed).unwrap();
        }
    }
}
