//! Resync: handler batches → mapping → applier → Port, then reconciliation (guarded deletion).

pub mod diff;
mod resync;
pub mod topo;

pub use resync::{
    KindReport, ReconcileReport, ResyncReport, ResyncStatus, SyncEngine, SyncOptions,
};
