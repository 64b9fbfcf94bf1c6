//! Shape mismatches between layers are compile errors (checked with trybuild).

#![allow(clippy::unwrap_used)] // tests may unwrap

#[test]
fn shape_mismatches_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
