//! Compile-fail tests: each file in `tests/ui/` must fail to compile with
//! exactly the message checked in beside it. Regenerate the expected output
//! with `TRYBUILD=overwrite cargo test -p tests --test ui` and review it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
