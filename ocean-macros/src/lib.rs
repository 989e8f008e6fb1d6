//! Procedural macros of Ocean for Rust. Use them through the `ocean` crate, which re-exports them.
