//! # Ocean for Rust
//!
//! A framework for building [Port](https://www.getport.io) integrations. An integration pulls
//! data from a third party, maps it with jq expressions into Port entities, and keeps Port up to
//! date with resyncs and live events (webhooks).
//!
//! The modules follow the data flow: [`config`] → [`port`] (client and local Port) →
//! [`mapping`] (the port-app-config, where it comes from, and jq) → [`sync`] (resync, the one
//! applier, reconciliation) → [`live_events`]. The [`Context`] handed to author code sits below
//! the stages that use it, with the third-party client of [`http`] and the one [`backoff`].
//! [`signature`] verifies webhook senders. [`registry`] holds what the attribute macros
//! registered, [`runtime`] starts everything, and [`testing`] runs an integration in an
//! author's tests. [`backoff`] is the
//! one retry schedule everything that retries uses; [`http`] is the client for the third party.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod backoff;
pub mod config;
mod context;
mod error;
pub mod http;
pub mod live_events;
pub mod mapping;
pub mod port;
pub mod prelude;
pub mod registry;
pub mod runtime;
pub mod server;
pub mod signature;
pub mod sync;
pub mod testing;

pub use context::{Context, FromContext};
pub use error::{Error, Result};

/// Attribute and entry-point macros: `#[on_resync]`, `#[on_start]`, `#[webhook_processor]`,
/// `ocean::run!()`.
pub use ocean_macros::{on_resync, on_start, run, webhook_processor};

/// Stream of resync batches, as returned by `#[on_resync]` stream handlers.
pub use futures::Stream;

/// Builds a stream with `yield` (re-exported from `async-stream`).
pub use async_stream::stream;

/// Builds a fallible stream with `yield` and `?`, the usual body of a paginating resync
/// handler (re-exported from `async-stream`).
pub use async_stream::try_stream;

/// The framework's version (`ocean-core`'s package version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A raw item from the third party, as JSON (usually an object).
pub type RawItem = serde_json::Value;

/// The README's integration example, compiled as a doctest so that what it shows keeps
/// compiling with only the dependencies it names.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

/// Implementation details used by the code the macros generate. Not a public API.
#[doc(hidden)]
///
/// Macro expansions name only paths under `::ocean::__private`, so the modules behind them can
/// move without breaking authors' code.
pub mod __private {
    pub use crate::global_allocator;
    pub use crate::live_events::{
        DynWebhookProcessor, ProcessorRetryPolicy, WebhookProcessor, WebhookProcessorRegistration,
        processor_factory,
    };
    pub use crate::registry::{
        ResyncHandler, ResyncStream, StartHook, batch_stream, one_batch, start_hook,
    };
    pub use crate::runtime::{IntegrationInfo, NoConfig, run};
    pub use crate::{Context, FromContext, Result};
    pub use futures;
    pub use inventory;
    #[cfg(feature = "mimalloc")]
    pub use mimalloc;
}

/// The [`IntegrationInfo`](runtime::IntegrationInfo) of the crate that calls it (its name,
/// version and directory, from Cargo), as `ocean::run!()` passes it to the runtime; tests give it
/// to [`testing::TestIntegration::builder`].
#[macro_export]
macro_rules! integration_info {
    () => {
        $crate::runtime::IntegrationInfo {
            name: ::core::env!("CARGO_PKG_NAME"),
            version: ::core::env!("CARGO_PKG_VERSION"),
            manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
        }
    };
}

/// Installs the allocator Ocean integrations run with: mimalloc with the `mimalloc` feature
/// (on by default), nothing without it. `ocean::run!()` calls it; a binary with its own `main`
/// calls it once at the top level. To use another allocator, turn the feature off
/// (`default-features = false`) and declare your own `#[global_allocator]`.
#[cfg(feature = "mimalloc")]
#[macro_export]
macro_rules! global_allocator {
    () => {
        #[global_allocator]
        static OCEAN_GLOBAL_ALLOCATOR: $crate::__private::mimalloc::MiMalloc =
            $crate::__private::mimalloc::MiMalloc;
    };
}

/// Installs the allocator Ocean integrations run with: nothing, as the `mimalloc` feature is
/// off (the system allocator, or one the binary declares itself).
#[cfg(not(feature = "mimalloc"))]
#[macro_export]
macro_rules! global_allocator {
    () => {};
}
