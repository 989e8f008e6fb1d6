//! Compile-time behaviour of `#[on_resync]`, `#[on_start]` and `ocean::run!`: what compiles
//! (and runs), and the exact errors for what does not. Regenerate the `.stderr` snapshots with
//! `TRYBUILD=overwrite cargo test -p ocean-e2e-tests --test macros_ui`, then read them.

#[test]
fn macros_accept_the_documented_shapes_and_explain_the_rest() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
