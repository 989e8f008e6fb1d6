//! Shared helpers of the end-to-end tests: building and locating the binaries under test,
//! running them as child processes with bounded waits, a standalone local Port per test,
//! reading what the runs reported, and sending a running integration webhooks.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod binaries;
pub mod emulator;
pub mod fake;
pub mod process;
pub mod webhooks;

pub use binaries::{Binaries, binaries};
pub use emulator::PortEmulator;
pub use fake::{FakeIntegration, RunReport};
pub use process::{ChildProcess, Finished};
pub use webhooks::LiveIntegration;
