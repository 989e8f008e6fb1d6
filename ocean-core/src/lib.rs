//! # Ocean for Rust
//!
//! A framework for building [Port](https://www.getport.io) integrations. An integration pulls
//! data from a third party, maps it with jq expressions into Port entities, and keeps Port up to
//! date with resyncs and live events (webhooks).
//!
//! The modules follow the data flow: [`config`] → [`port`] (client and local Port) →
//! [`mapping`] → sync → live events. [`signature`] verifies webhook senders.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod config;
pub mod mapping;
pub mod port;
pub mod signature;
