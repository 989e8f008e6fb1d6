//! Resync: handler batches → mapping → applier → Port, then reconciliation (guarded deletion).
//!
//! - [`SyncEngine`] runs resyncs as a bounded pipeline per resource;
//! - [`Applier`] writes and deletes entities with the port-app-config's options: the one path
//!   to Port, for resyncs and live events alike;
//! - reconciliation deletes what this integration owns but no longer sees, never when a kind
//!   failed and never above the deletion threshold;
//! - [`diff`] compares entities, [`topo`] orders them by their relations.

pub mod applier;
pub mod diff;
mod handler;
mod reconcile;
mod resync;
mod seen;
pub mod topo;
mod unchanged;

pub use applier::{
    Applier, DeleteSummary, EntityFailure, RetrySummary, UpsertSummary, is_missing_related,
};
pub use handler::{ResyncFn, ResyncHandler, ResyncHandlers, ResyncStream};
pub use reconcile::{check_deletion_threshold, failed_kinds_reason, owned_before};
pub use resync::{
    KindReport, ReconcileReport, ResyncReport, ResyncStatus, SyncEngine, SyncOptions,
};
