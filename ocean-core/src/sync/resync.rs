//! One resync: every resource of the port-app-config, in order, from handler batches to Port.

use crate::mapping::{CompiledResource, JqEngine, PortAppConfig, ResourceConfig};
use crate::port::client::{EventInfo, PortClient, UpsertOptions, UpsertStatus};
use crate::registry::Registry;
use crate::{Context, RawItem};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Tuning of the resync engine.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The installation identifier (for logs and raw examples).
    pub integration_identifier: String,
    /// Send the first raw items of each kind to Port as examples.
    pub send_raw_data_examples: bool,
    /// Batches in flight between fetching and upserting.
    pub pipeline_depth: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            integration_identifier: String::new(),
            send_raw_data_examples: true,
            pipeline_depth: 2,
        }
    }
}

/// How a resync ended, with Port's wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResyncStatus {
    /// Every kind synced and reconciliation ran (or had nothing to do).
    Completed,
    /// At least one kind failed.
    Failed,
    /// Cancelled before the end.
    Aborted,
}

impl ResyncStatus {
    /// The status as Port's resync state spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ResyncStatus::Completed => "completed",
            ResyncStatus::Failed => "failed",
            ResyncStatus::Aborted => "aborted",
        }
    }
}

/// What happened to one resource (kind) during a resync.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindReport {
    /// The resource's kind.
    pub kind: String,
    /// The resource's position in the port-app-config.
    pub index: usize,
    /// Raw items the handlers yielded.
    pub fetched: u64,
    /// Entities the mapping produced (selector passed, identifier and blueprint set).
    pub mapped: u64,
    /// Items the selector rejected.
    pub filtered: u64,
    /// Entities identical to their copy in Port, not written again.
    pub unchanged: u64,
    /// Entities Port stored.
    pub upserted: u64,
    /// Entities Port rejected.
    pub failed: u64,
    /// Entities deleted by reconciliation.
    pub deleted: u64,
    /// Errors that make the kind failed (handler errors, selector errors).
    pub errors: Vec<String>,
}

/// What reconciliation (deleting stale entities) did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReconcileReport {
    /// Entities deleted.
    pub deleted: u64,
    /// Why nothing (or not everything) was deleted, when reconciliation held back.
    pub skipped: Option<String>,
}

/// The outcome of one resync.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResyncReport {
    /// How it ended.
    pub status: ResyncStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// Per resource, in config order.
    pub kinds: Vec<KindReport>,
    /// The deletion phase.
    pub reconciliation: ReconcileReport,
}

/// Runs resyncs: calls the registered handlers, maps their batches, and writes the entities.
#[derive(Clone)]
pub struct SyncEngine {
    port: PortClient,
    registry: Arc<Registry>,
    jq: Arc<JqEngine>,
    context: Context,
    options: SyncOptions,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    /// An engine writing through `port`, calling the handlers of `registry`, compiling mappings
    /// with `jq`, and handing `context` to the handlers.
    pub fn new(
        port: PortClient,
        registry: Arc<Registry>,
        jq: Arc<JqEngine>,
        context: Context,
        options: SyncOptions,
    ) -> Self {
        Self {
            port,
            registry,
            jq,
            context,
            options,
        }
    }

    /// Runs one resync of every resource in `config`, stopping early when `cancel` fires.
    pub async fn resync(&self, config: &PortAppConfig, cancel: &CancellationToken) -> ResyncReport {
        let started_at = Utc::now();
        let resync_id = uuid::Uuid::new_v4().to_string();
        let upsert_options = UpsertOptions {
            merge: config.enable_merge_entity,
            create_missing_related_entities: config.create_missing_related_entities,
            event: Some(EventInfo {
                event_type: "resync".into(),
                resync_id: Some(resync_id),
            }),
        };
        let mut kinds = Vec::with_capacity(config.resources.len());
        let mut aborted = false;
        for (index, resource) in config.resources.iter().enumerate() {
            if cancel.is_cancelled() {
                aborted = true;
                break;
            }
            let report = self
                .sync_resource(index, resource, &upsert_options, cancel)
                .await;
            tracing::info!(
                kind = %report.kind, fetched = report.fetched, mapped = report.mapped,
                filtered = report.filtered, upserted = report.upserted, failed = report.failed,
                errors = report.errors.len(), "kind synced"
            );
            kinds.push(report);
        }
        aborted |= cancel.is_cancelled();
        let status = if aborted {
            ResyncStatus::Aborted
        } else if kinds.iter().any(|k| !k.errors.is_empty()) {
            ResyncStatus::Failed
        } else {
            ResyncStatus::Completed
        };
        ResyncReport {
            status,
            started_at,
            finished_at: Utc::now(),
            kinds,
            reconciliation: ReconcileReport::default(),
        }
    }

    async fn sync_resource(
        &self,
        index: usize,
        resource: &ResourceConfig,
        upsert_options: &UpsertOptions,
        cancel: &CancellationToken,
    ) -> KindReport {
        let mut report = KindReport {
            kind: resource.kind.clone(),
            index,
            ..KindReport::default()
        };
        let handlers: Vec<_> = self.registry.handlers_for(&resource.kind).collect();
        if handlers.is_empty() {
            let available: Vec<&str> = self.registry.kinds().collect();
            report.errors.push(format!(
                "Kind {} is not implemented. Available kinds: {available:?}",
                resource.kind
            ));
            return report;
        }
        let compiled = Arc::new(CompiledResource::new(resource, &self.jq));
        let ctx = self.context.with_resource(Arc::new(resource.clone()));
        for handler in handlers {
            let mut batches = (handler.handler)(ctx.clone());
            loop {
                let next = tokio::select! {
                    () = cancel.cancelled() => return report,
                    next = batches.next() => next,
                };
                match next {
                    None => break,
                    Some(Err(error)) => {
                        report.errors.push(format!("{}: {error}", handler.name));
                        break;
                    }
                    Some(Ok(items)) => {
                        self.sync_batch(&compiled, items, upsert_options, &mut report)
                            .await;
                    }
                }
            }
        }
        report
    }

    async fn sync_batch(
        &self,
        compiled: &Arc<CompiledResource>,
        items: Vec<RawItem>,
        upsert_options: &UpsertOptions,
        report: &mut KindReport,
    ) {
        report.fetched += items.len() as u64;
        let mapper = Arc::clone(compiled);
        let outcome =
            match tokio::task::spawn_blocking(move || mapper.map_batch_parallel(&items, false))
                .await
            {
                Ok(outcome) => outcome,
                Err(error) => {
                    report.errors.push(format!("mapping failed: {error}"));
                    return;
                }
            };
        outcome.log_issues(&report.kind, None);
        report.filtered += outcome.filtered_out.count as u64;
        report.mapped += outcome.entities.len() as u64;
        report
            .errors
            .extend(outcome.failures.iter().map(|f| f.message.clone()));
        if outcome.entities.is_empty() {
            return;
        }
        tracing::info!(kind = %report.kind, "Upserting {} entities", outcome.entities.len());
        let result = self
            .port
            .upsert_entities_bulk(outcome.entities, upsert_options)
            .await;
        for r in &result.results {
            match r.status {
                UpsertStatus::Stored { .. } => report.upserted += 1,
                _ => report.failed += 1,
            }
        }
    }
}
