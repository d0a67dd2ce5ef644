//! What ARCHITECTURE.md says of the runtime crate's shape, checked on its source: imports
//! between its top-level modules run one way, down its rows (so no cycle), the record
//! format sits below the typed layer, and no source file passes 400 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate root's re-exports, by the module that defines each.
const REEXPORTS: &[(&str, &str)] = &[
    ("Accounts", "accounts"),
    ("ActiveSession", "accounts"),
    ("InvalidOwner", "owner"),
    ("CsrfFuture", "extract"),
    ("CsrfLayer", "extract"),
    ("CsrfService", "extract"),
    ("CsrfToken", "extract"),
    ("Flash", "extract"),
    ("Transport", "transport"),
    ("SessionBackend", "backend"),
    ("SaveMode", "config"),
    ("CookieStore", "cookie"),
    ("SignedCookieStore", "cookie"),
    ("Error", "error"),
    ("Session", "extract"),
    ("SessionRejection", "extract"),
    ("SessionId", "id"),
    ("Fingerprint", "id"),
    ("NotAFingerprint", "id"),
    ("Key", "key"),
    ("KeyError", "key"),
    ("metric_names", "observe"),
    ("SessionLayer", "layer"),
    ("ResponseFuture", "layer"),
    ("SessionService", "layer"),
    ("PostgresStore", "store"),
    ("RedisStore", "store"),
    ("SqliteStore", "store"),
    ("FileStore", "store"),
    ("MemoryStore", "store"),
    ("Store", "store"),
    ("StoreError", "store"),
    ("SessionData", "typed"),
];

/// Not part of the layering: the root, and code compiled only for tests and benchmarks.
const OUTSIDE: &[&str] = &["lib", "proptests", "internals", "test"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../session/src")
}

/// The module a path under `src/` belongs to: its first component.
fn top_module(path: &Path) -> String {
    let relative = path.strip_prefix(src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_str().unwrap().trim_end_matches(".rs").to_owned()
}

/// The top-level modules `code` names through `crate::`, outside comments and unit tests.
fn imports(code: &str) -> BTreeSet<String> {
    let code = code.split("#[cfg(test)]\nmod tests").next().unwrap();
    let reexports: BTreeMap<_, _> = REEXPORTS.iter().copied().collect();
    let resolve = |name: &str| reexports.get(name).map_or(name, |m| m).to_owned();
    let mut found = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (_, rest) in line
            .match_indices("crate::")
            .map(|(at, _)| line.split_at(at + 7))
        {
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap();
                for name in group
                    .split(',')
                    .map(|n| n.trim().split("::").next().unwrap())
                {
                    if !name.is_empty() {
                        found.insert(resolve(name));
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.insert(resolve(&name));
            }
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    session_tests::rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = top_module(&file);
        if OUTSIDE.contains(&module.as_str()) || file.ends_with("tests.rs") {
            continue;
        }
        let mut names = imports(&std::fs::read_to_string(&file).unwrap());
        names.remove(&module);
        graph.entry(module).or_default().extend(names);
    }
    graph
}

fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(module) = stack.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    false
}

#[test]
fn imports_between_modules_run_one_way() {
    let graph = graph();
    assert!(graph.len() > 10, "found the modules: {graph:?}");
    let cycles: Vec<_> = graph
        .iter()
        .flat_map(|(from, to)| to.iter().map(move |to| (from, to)))
        .filter(|(from, to)| reaches(&graph, to, from))
        .collect();
    assert!(cycles.is_empty(), "imports that come back: {cycles:?}");
}

/// ARCHITECTURE.md's rows, top first: a module imports only from rows below its own.
const ROWS: &[&[&str]] = &[
    &["extract"],
    &["layer"],
    &["request"],
    &["accounts"],
    &["config"],
    &["backend", "lifetime", "owner", "csrf", "flash", "transport"],
    &["typed", "cookie", "observe"],
    &["error"],
    &["store"],
    &["record"],
    &["key", "id", "time", "chain", "cache"],
    &["random"],
];

fn row(module: &str) -> usize {
    ROWS.iter()
        .position(|row| row.contains(&module))
        .unwrap_or_else(|| panic!("`{module}` is in no row of ARCHITECTURE.md"))
}

#[test]
fn each_module_imports_only_from_the_rows_below() {
    let upward: Vec<_> = graph()
        .iter()
        .flat_map(|(from, to)| to.iter().map(move |to| (from.clone(), to.clone())))
        .filter(|(from, to)| row(to) <= row(from))
        .collect();
    assert!(
        upward.is_empty(),
        "imports from the same row or above: {upward:?}"
    );
}

#[test]
fn the_record_format_knows_nothing_above_it() {
    let graph = graph();
    assert_eq!(graph["time"], BTreeSet::new());
    assert_eq!(graph["record"], BTreeSet::from(["time".to_owned()]));
    for below_the_request in ["typed", "record", "cookie", "store"] {
        for above in ["request", "layer", "extract", "config"] {
            assert!(
                !reaches(&graph, below_the_request, above),
                "`{below_the_request}` reaches `{above}`"
            );
        }
    }
}

#[test]
fn the_import_scan_sees_imports() {
    let found = imports(
        "use crate::{Error, SessionData};\nlet x = crate::time::unix_ms(t);\n/// [`x`](crate::layer)\n",
    );
    assert_eq!(
        found,
        BTreeSet::from(["error", "typed", "time"].map(str::to_owned))
    );
}

#[test]
fn no_source_file_passes_400_lines() {
    let mut files = Vec::new();
    session_tests::rust_files(&src(), &mut files);
    let long: Vec<_> = files
        .iter()
        .map(|file| (file, std::fs::read_to_string(file).unwrap().lines().count()))
        .filter(|&(_, lines)| lines > 400)
        .collect();
    assert!(long.is_empty(), "{long:?}");
}
