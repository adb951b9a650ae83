//! Empty: the test is in `tests/renamed_crate.rs`.
