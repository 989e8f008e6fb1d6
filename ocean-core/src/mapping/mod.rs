//! The mapping engine: the port-app-config model and jq (jq 1.8 semantics on jaq).

pub mod jq;
