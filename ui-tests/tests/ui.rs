//! What `#[derive(Session)]` accepts, and the error for each thing it rejects. The `.stderr`
//! files are reviewed by hand: each message must make sense without reading the macro.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*/*.rs");
}
