//! Startup and shutdown: configuration, Port connection, default resources, listeners, server.

mod context;

pub use context::Context;
