//! The examples of odm are in this folder, run with `cargo run -p odm-examples --example NAME`.
