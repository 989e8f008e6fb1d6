//! Resync: handler batches → mapping → applier → Port, then reconciliation (guarded deletion).

pub mod diff;
pub mod topo;
