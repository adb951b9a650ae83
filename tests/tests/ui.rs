//! Compile-fail tests of the derives and the typed builders: each `ui/*/*.rs` must fail
//! to compile with exactly the message in its `.stderr`, pointing at the user's token.
//!
//! Compiler messages change between Rust versions, so the `.stderr` files belong to one
//! toolchain: the one the project builds with (`rust-version` aside, the machines run
//! Rust 1.95). With another compiler, regenerate them with `TRYBUILD=overwrite` and
//! review the diff.

use std::process::Command;

const TOOLCHAIN: &str = "rustc 1.95.";

#[test]
fn ui() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .expect("rustc runs");
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(
        version.starts_with(TOOLCHAIN),
        "the .stderr files were written by {TOOLCHAIN}x; this is {version}: regenerate them with TRYBUILD=overwrite"
    );
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*/*.rs");
}
