//! SECURITY.md names the test behind each claim, and the guard each test holds: every
//! function it names (`module::name`) exists.

use std::path::Path;
use typed_sessions_tests::rust_files;

#[test]
fn every_test_security_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let security = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let mut files = Vec::new();
    for dir in ["tests", "session/src", "examples"] {
        rust_files(&root.join(dir), &mut files);
    }
    let sources: Vec<String> = files
        .iter()
        .map(|file| std::fs::read_to_string(file).unwrap())
        .collect();
    let is_ident = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let named: Vec<&str> = security
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|name| name.contains("::") && name.split("::").all(is_ident))
        .collect();
    assert!(named.len() > 20, "SECURITY.md names tests: {named:?}");
    let missing: Vec<&&str> = named
        .iter()
        .filter(|name| {
            let test = name.rsplit("::").next().unwrap();
            let declared = [format!("fn {test}("), format!("fn {test}<")];
            !sources
                .iter()
                .any(|source| declared.iter().any(|fn_| source.contains(fn_.as_str())))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "SECURITY.md names no such test: {missing:?}"
    );
}
