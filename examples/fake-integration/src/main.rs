//! The fake integration: departments and persons from a deterministic in-process source.

fn main() {}
