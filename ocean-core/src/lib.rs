//! # Ocean for Rust
//!
//! A framework for building [Port](https://www.getport.io) integrations. An integration pulls
//! data from a third party, maps it with jq expressions into Port entities, and keeps Port up to
//! date with resyncs and live events (webhooks).
//!
//! The modules follow the data flow: [`config`] → [`port`] (client and local Port) →
//! [`mapping`] → sync → live events. [`signature`] verifies webhook senders. [`registry`] holds
//! what the attribute macros registered and [`runtime`] starts everything.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod config;
mod error;
pub mod mapping;
pub mod port;
pub mod registry;
pub mod runtime;
pub mod signature;
pub mod sync;

pub use error::{Error, Result};
pub use runtime::Context;

/// A raw item from the third party, as JSON (usually an object).
pub type RawItem = serde_json::Value;

/// Implementation details used by the code the macros generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use futures;
    pub use inventory;
}
