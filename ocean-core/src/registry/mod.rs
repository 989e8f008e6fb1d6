//! What the attribute macros registered: resync handlers and start hooks (and, with live events,
//! webhook processors), collected at startup into sorted maps.
//!
//! Registration goes through `inventory`: each `#[on_resync]`/`#[on_start]` submits a
//! `const`-constructible record carrying `file!()`/`line!()`, so duplicates can be reported with
//! both places. Iteration order of `inventory` is unspecified; never depend on it, which is why
//! [`Registry::collect`] sorts everything. [`Registry::register_resync`] and
//! [`Registry::register_start`] are the explicit path for tests and for targets where
//! `inventory` does not work.
//!
//! ```standalone_crate
//! use ocean::registry::Registry;
//!
//! #[ocean::on_resync(kind = "person")]
//! async fn persons(_ctx: ocean::Context) -> ocean::Result<Vec<ocean::RawItem>> {
//!     Ok(vec![serde_json::json!({"name": "Ada"})])
//! }
//!
//! let registry = Registry::collect()?;
//! assert_eq!(registry.kinds().collect::<Vec<_>>(), ["person"]);
//! assert_eq!(registry.handlers_for("person").next().map(|h| h.name), Some("persons"));
//! # Ok::<(), ocean::registry::RegistryError>(())
//! ```

mod adapters;
mod collection;

pub use adapters::{ResyncBatch, StartOutcome, batch_stream, one_batch, start_hook};
pub use collection::{Registry, RegistryError};

pub use crate::sync::{ResyncFn, ResyncHandler, ResyncStream};

use crate::{Context, Result};
use futures::future::BoxFuture;

/// A start hook as registered.
pub type StartFn = fn(Context) -> BoxFuture<'static, Result<()>>;

/// A start hook registered by `#[on_start]`.
#[derive(Debug, Clone, Copy)]
pub struct StartHook {
    /// The function name.
    pub name: &'static str,
    /// Source file of the registration.
    pub file: &'static str,
    /// Source line of the registration.
    pub line: u32,
    /// The hook.
    pub hook: StartFn,
}

inventory::collect!(ResyncHandler);
inventory::collect!(StartHook);
