//! Compile-time behaviour of `#[strand::main]` and `#[strand::test]` (trybuild).
//!
//! `ui/pass/*.rs`: every supported shape compiles, and each program runs and exits 0.
//! `ui/fail/*.rs`: every misuse is a compile error spanned at the offending tokens, with no
//! second wave of errors (the function is still emitted); the expected output is the
//! `.stderr` file next to each case (regenerate with `TRYBUILD=overwrite` after checking it).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
