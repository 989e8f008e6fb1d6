//! One resync: every resource of the port-app-config, in order, from handler batches to Port,
//! then the retry of entities that waited for related ones, then reconciliation.
//!
//! Each resource runs as a bounded pipeline of three stages joined by channels of
//! [`SyncOptions::pipeline_depth`] batches: fetch (the handlers' streams, one handler after
//! another) → map (jq on the rayon pool, off the async runtime) → write (compare with Port, bulk
//! upsert). The next batch is fetched and mapped while the previous one is written, and at most
//! a few batches exist at once, so memory stays flat in the number of items.

use super::applier::{Applier, is_missing_related};
use super::diff::entity_key;
use super::handler::{ResyncHandler, ResyncHandlers};
use super::reconcile::{self, ReconcileSettings, SeenEntities};
use super::seen::SpillSettings;
use super::unchanged;
use crate::mapping::{CompiledResource, JqEngine, PortAppConfig, ResourceConfig};
use crate::port::client::{EventInfo, PortClient, UpsertStatus};
use crate::port::{Entity, RelationSchema};
use crate::{Context, RawItem};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Raw items sent to Port as examples, per kind and resync.
const RAW_EXAMPLES: usize = 5;

/// Errors kept per kind; more are counted, not kept.
const MAX_KIND_ERRORS: usize = 20;

/// Most entities kept for the retry in relation order; beyond, they are counted as failed.
const MAX_AWAITING_RELATED: usize = 100_000;

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
    /// At least one kind failed, or reconciliation could not list the owned entities.
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
    /// Entities Port rejected (those retried after all kinds are counted here too; the retry
    /// is reported in [`ReconcileReport`]).
    pub failed: u64,
    /// Entities deleted by reconciliation, attributed to the first kind that produced their
    /// blueprint in this resync.
    pub deleted: u64,
    /// Errors that make the kind failed (handler errors, selector errors).
    pub errors: Vec<String>,
}

/// What reconciliation (the retry of failed upserts and deleting stale entities) did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReconcileReport {
    /// Entities deleted.
    pub deleted: u64,
    /// Why nothing (or not everything) was deleted, when reconciliation held back.
    pub skipped: Option<String>,
    /// Entities this integration owned before the resync (the threshold's denominator).
    pub owned_before: u64,
    /// Owned entities not seen in the resync and last updated before it: the candidates.
    pub stale: u64,
    /// Candidates kept because a seen entity relates to them (`createMissingRelatedEntities`).
    pub kept_related: u64,
    /// Candidates Port did not delete.
    pub delete_failed: u64,
    /// Entities stored by the retry in relation order.
    pub retried: u64,
    /// Entities that failed the retry too (or were not kept for it).
    pub retry_failed: u64,
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
    handlers: Arc<dyn ResyncHandlers>,
    jq: Arc<JqEngine>,
    context: Context,
    options: SyncOptions,
    /// Where the seen keys spill once a resync has too many to hold in memory.
    spill: SpillSettings,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The state one resync accumulates across kinds.
struct ResyncTracker {
    seen: SeenEntities,
    /// With `createMissingRelatedEntities`, what seen entities relate to protects it from
    /// deletion; that needs the relation targets' blueprints.
    track_relations: bool,
    /// Without `createMissingRelatedEntities`, entities missing a related entity are retried.
    retry_missing_related: bool,
    awaiting_related: Vec<Entity>,
    awaiting_dropped: u64,
    relation_schemas: HashMap<String, Option<HashMap<String, RelationSchema>>>,
}

impl ResyncTracker {
    fn new(config: &PortAppConfig, spill: SpillSettings) -> Self {
        Self {
            seen: SeenEntities::new(spill),
            track_relations: config.create_missing_related_entities,
            retry_missing_related: !config.create_missing_related_entities,
            awaiting_related: Vec::new(),
            awaiting_dropped: 0,
            relation_schemas: HashMap::new(),
        }
    }

    /// Marks a mapped batch as seen, with its relation targets when they protect.
    async fn see(&mut self, port: &PortClient, entities: &[Entity]) {
        for entity in entities {
            self.seen.see(&entity_key(entity));
        }
        if !self.track_relations {
            return;
        }
        for entity in entities.iter().filter(|e| e.relations.is_some()) {
            if !self.relation_schemas.contains_key(&entity.blueprint) {
                let schemas = match port.get_blueprint(&entity.blueprint).await {
                    Ok(bp) => Some(
                        bp.relation_schemas()
                            .map(|(name, schema)| (name.to_owned(), schema))
                            .collect(),
                    ),
                    Err(error) => {
                        // Protecting the identifiers in every blueprint errs on keeping.
                        tracing::warn!(
                            blueprint = %entity.blueprint,
                            %error,
                            "Could not read the blueprint's relations; its relation targets are kept in any blueprint"
                        );
                        None
                    }
                };
                self.relation_schemas
                    .insert(entity.blueprint.clone(), schemas);
            }
            let schemas = self
                .relation_schemas
                .get(&entity.blueprint)
                .and_then(Option::as_ref);
            reconcile::record_relations(&mut self.seen, entity, schemas);
        }
        self.seen.spill_if_full().await;
    }

    fn await_related(&mut self, entity: Entity) {
        if self.awaiting_related.len() < MAX_AWAITING_RELATED {
            self.awaiting_related.push(entity);
        } else {
            if self.awaiting_dropped == 0 {
                tracing::warn!(
                    max = MAX_AWAITING_RELATED,
                    "Too many entities wait for related entities; the rest will not be retried"
                );
            }
            self.awaiting_dropped += 1;
        }
    }
}

/// Errors of a kind, bounded.
#[derive(Debug, Default)]
struct KindErrors {
    kept: Vec<String>,
    more: usize,
}

impl KindErrors {
    fn push(&mut self, error: String) {
        if self.kept.len() < MAX_KIND_ERRORS {
            self.kept.push(error);
        } else {
            self.more += 1;
        }
    }

    fn into_vec(mut self) -> Vec<String> {
        if self.more > 0 {
            self.kept.push(format!("... and {} more errors", self.more));
        }
        self.kept
    }

    fn extend(&mut self, other: KindErrors) {
        self.more += other.more;
        for e in other.kept {
            self.push(e);
        }
    }
}

#[derive(Default)]
struct FetchTally {
    fetched: u64,
    errors: KindErrors,
}

#[derive(Default)]
struct MapTally {
    mapped: u64,
    filtered: u64,
    errors: KindErrors,
}

#[derive(Default)]
struct WriteTally {
    unchanged: u64,
    upserted: u64,
    failed: u64,
    blueprints: BTreeSet<String>,
}

/// The first raw items of a kind, sent once as examples.
struct Examples {
    items: Vec<RawItem>,
    sent: bool,
}

impl Examples {
    fn new(enabled: bool) -> Self {
        Self {
            items: Vec::new(),
            sent: !enabled,
        }
    }

    /// The examples to send once [`RAW_EXAMPLES`] items arrived.
    fn add(&mut self, batch: &[RawItem]) -> Option<Vec<RawItem>> {
        if self.sent {
            return None;
        }
        let room = RAW_EXAMPLES - self.items.len();
        self.items.extend(batch.iter().take(room).cloned());
        (self.items.len() >= RAW_EXAMPLES).then(|| self.take())
    }

    /// The examples still unsent at the end of the kind.
    fn finish(&mut self) -> Option<Vec<RawItem>> {
        (!self.sent && !self.items.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> Vec<RawItem> {
        self.sent = true;
        std::mem::take(&mut self.items)
    }
}

impl SyncEngine {
    /// An engine writing through `port`, calling `handlers` (the runtime passes its registry),
    /// compiling mappings with `jq`, and handing `context` to the handlers.
    pub fn new(
        port: PortClient,
        handlers: Arc<dyn ResyncHandlers>,
        jq: Arc<JqEngine>,
        context: Context,
        options: SyncOptions,
    ) -> Self {
        Self {
            port,
            handlers,
            jq,
            context,
            options,
            spill: SpillSettings::default(),
        }
    }

    /// The same engine spilling the seen keys as `spill` says (small bounds exercise the
    /// spilled path with few entities).
    #[cfg(test)]
    fn with_spill(mut self, spill: SpillSettings) -> Self {
        self.spill = spill;
        self
    }

    /// The options the engine runs with.
    pub fn options(&self) -> &SyncOptions {
        &self.options
    }

    /// Runs one resync of every resource in `config`, stopping early when `cancel` fires.
    ///
    /// Cancellation is honoured between batches and inside every wait (handler streams,
    /// mapping, Port calls); an aborted resync deletes nothing and reports
    /// [`ResyncStatus::Aborted`].
    pub async fn resync(&self, config: &PortAppConfig, cancel: &CancellationToken) -> ResyncReport {
        let resync_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!("resync", resync_id = %resync_id);
        self.run_resync(config, cancel, resync_id)
            .instrument(span)
            .await
    }

    async fn run_resync(
        &self,
        config: &PortAppConfig,
        cancel: &CancellationToken,
        resync_id: String,
    ) -> ResyncReport {
        let started_at = Utc::now();
        tracing::info!(resources = config.resources.len(), "Resync started");
        let applier = Applier::for_config(
            self.port.clone(),
            config,
            Some(EventInfo::resync(resync_id)),
        );
        let mut tracker = ResyncTracker::new(config, self.spill.clone());
        let mut kinds = Vec::with_capacity(config.resources.len());
        let mut kind_blueprints: Vec<BTreeSet<String>> = Vec::new();
        for (index, resource) in config.resources.iter().enumerate() {
            if cancel.is_cancelled() {
                break;
            }
            let (report, blueprints) = self
                .sync_resource(index, resource, &applier, &mut tracker, cancel)
                .await;
            tracing::info!(
                kind = %report.kind, index, fetched = report.fetched, mapped = report.mapped,
                filtered = report.filtered, unchanged = report.unchanged,
                upserted = report.upserted, failed = report.failed,
                errors = report.errors.len(),
                "Finished syncing kind {}", report.kind
            );
            kinds.push(report);
            kind_blueprints.push(blueprints);
        }

        let mut reconciliation = ReconcileReport::default();
        let mut reconcile_error = false;
        let mut seen_count = None;
        if !cancel.is_cancelled() {
            self.retry_awaiting(
                &applier,
                &mut tracker,
                started_at,
                &mut reconciliation,
                cancel,
            )
            .await;
        }
        if cancel.is_cancelled() {
            reconciliation.skipped = Some("the resync was aborted; nothing was deleted".into());
        } else if let Some(reason) =
            reconcile::failed_kinds_reason(kinds.iter().map(|k| (k.kind.as_str(), k.errors.len())))
        {
            tracing::warn!("Skipping the delete phase: {reason}");
            reconciliation.skipped = Some(reason);
        } else {
            let settings = ReconcileSettings {
                started_at,
                threshold: config.entity_deletion_threshold,
                create_missing_related_entities: config.create_missing_related_entities,
            };
            let seen = std::mem::take(&mut tracker.seen);
            let outcome = reconcile::reconcile(&applier, seen, &settings, cancel).await;
            reconcile_error = outcome.error.is_some();
            seen_count = outcome.seen;
            if let Some(error) = &outcome.error {
                tracing::error!("Reconciliation failed: {error}");
            }
            reconciliation.deleted = outcome.deleted;
            reconciliation.skipped = outcome.skipped;
            reconciliation.owned_before = outcome.owned_before;
            reconciliation.stale = outcome.stale;
            reconciliation.kept_related = outcome.kept_related;
            reconciliation.delete_failed = outcome.delete_failed;
            for (blueprint, deleted) in outcome.deleted_by_blueprint {
                if let Some(i) = kind_blueprints.iter().position(|b| b.contains(&blueprint)) {
                    kinds[i].deleted += deleted;
                }
            }
        }

        let status = if cancel.is_cancelled() {
            ResyncStatus::Aborted
        } else if reconcile_error || kinds.iter().any(|k| !k.errors.is_empty()) {
            ResyncStatus::Failed
        } else {
            ResyncStatus::Completed
        };
        let report = ResyncReport {
            status,
            started_at,
            finished_at: Utc::now(),
            kinds,
            reconciliation,
        };
        tracing::info!(
            status = status.as_str(),
            kinds = report.kinds.len(),
            seen = seen_count,
            upserted = report.kinds.iter().map(|k| k.upserted).sum::<u64>(),
            unchanged = report.kinds.iter().map(|k| k.unchanged).sum::<u64>(),
            failed = report.kinds.iter().map(|k| k.failed).sum::<u64>(),
            retried = report.reconciliation.retried,
            deleted = report.reconciliation.deleted,
            skipped_deletion = report.reconciliation.skipped.as_deref(),
            "Resync finished: {}",
            status.as_str()
        );
        report
    }

    /// Retries, in relation order, the entities that failed because a related entity was
    /// missing (only without `createMissingRelatedEntities`).
    async fn retry_awaiting(
        &self,
        applier: &Applier,
        tracker: &mut ResyncTracker,
        started_at: DateTime<Utc>,
        report: &mut ReconcileReport,
        cancel: &CancellationToken,
    ) {
        report.retry_failed = tracker.awaiting_dropped;
        let awaiting = std::mem::take(&mut tracker.awaiting_related);
        if awaiting.is_empty() {
            return;
        }
        let retry = applier.retry_in_relation_order(awaiting, cancel).await;
        report.retried = retry.stored.len() as u64;
        report.retry_failed += retry.failures.len() as u64;
        for stored in &retry.stored {
            let key = entity_key(stored);
            tracker.seen.see(&key);
            if let Some(created_at) = stored
                .extra
                .get("createdAt")
                .and_then(serde_json::Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            {
                tracker.seen.stored(&key, created_at >= started_at);
            }
        }
        tracker.seen.spill_if_full().await;
    }

    async fn sync_resource(
        &self,
        index: usize,
        resource: &ResourceConfig,
        applier: &Applier,
        tracker: &mut ResyncTracker,
        cancel: &CancellationToken,
    ) -> (KindReport, BTreeSet<String>) {
        let kind = resource.kind.as_str();
        let mut report = KindReport {
            kind: resource.kind.clone(),
            index,
            ..KindReport::default()
        };
        let handlers: Vec<ResyncHandler> = self.handlers.handlers_for(kind);
        if handlers.is_empty() {
            let available: Vec<&str> = self.handlers.kinds();
            let error = format!("Kind {kind} is not implemented. Available kinds: {available:?}");
            tracing::error!(kind, "{error}");
            report.errors.push(error);
            return (report, BTreeSet::new());
        }
        let compiled = Arc::new(CompiledResource::new(resource, &self.jq));
        let ctx = self.context.with_resource(Arc::new(resource.clone()));
        let depth = self.options.pipeline_depth.max(1);
        let (raw_tx, raw_rx) = mpsc::channel::<Vec<RawItem>>(depth);
        let (mapped_tx, mapped_rx) = mpsc::channel::<Vec<Entity>>(depth);
        let (fetch, map, write) = tokio::join!(
            self.fetch_stage(kind, handlers, ctx, raw_tx, cancel),
            map_stage(kind, compiled, raw_rx, mapped_tx, cancel),
            self.write_stage(applier, mapped_rx, tracker, cancel),
        );
        report.fetched = fetch.fetched;
        report.mapped = map.mapped;
        report.filtered = map.filtered;
        report.unchanged = write.unchanged;
        report.upserted = write.upserted;
        report.failed = write.failed;
        let mut errors = fetch.errors;
        errors.extend(map.errors);
        report.errors = errors.into_vec();
        (report, write.blueprints)
    }

    /// Pulls the handlers' batches, one handler after the other, and hands them to mapping.
    async fn fetch_stage(
        &self,
        kind: &str,
        handlers: Vec<ResyncHandler>,
        ctx: Context,
        tx: mpsc::Sender<Vec<RawItem>>,
        cancel: &CancellationToken,
    ) -> FetchTally {
        let mut tally = FetchTally::default();
        let mut examples = Examples::new(self.options.send_raw_data_examples);
        'handlers: for handler in handlers {
            let mut batches = (handler.handler)(ctx.clone());
            loop {
                let next = tokio::select! {
                    biased;
                    () = cancel.cancelled() => break 'handlers,
                    next = batches.next() => next,
                };
                let items = match next {
                    None => break,
                    Some(Ok(items)) => items,
                    Some(Err(error)) => {
                        let error = format!("resync handler `{}` failed: {error}", handler.name);
                        tracing::error!(kind, handler = handler.name, "{error}");
                        tally.errors.push(error);
                        break;
                    }
                };
                tally.fetched += items.len() as u64;
                if let Some(sample) = examples.add(&items) {
                    self.send_examples(kind, sample, cancel).await;
                }
                if items.is_empty() {
                    continue;
                }
                let sent = tokio::select! {
                    biased;
                    () = cancel.cancelled() => break 'handlers,
                    sent = tx.send(items) => sent,
                };
                if sent.is_err() {
                    // The next stage stopped (cancelled); nothing more to do.
                    break 'handlers;
                }
            }
        }
        if let Some(sample) = examples.finish()
            && !cancel.is_cancelled()
        {
            self.send_examples(kind, sample, cancel).await;
        }
        tally
    }

    /// Best effort: a failure is logged and ignored.
    async fn send_examples(&self, kind: &str, items: Vec<RawItem>, cancel: &CancellationToken) {
        let id = self.options.integration_identifier.as_str();
        if id.is_empty() {
            tracing::debug!(kind, "No integration identifier; raw examples not sent");
            return;
        }
        let sent = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            sent = self.port.post_raw_examples(id, kind, &items) => sent,
        };
        if let Err(error) = sent {
            tracing::warn!(kind, %error, "Failed to send raw data examples");
        }
    }

    /// Compares each mapped batch with Port, upserts what changed and records what was seen.
    async fn write_stage(
        &self,
        applier: &Applier,
        mut rx: mpsc::Receiver<Vec<Entity>>,
        tracker: &mut ResyncTracker,
        cancel: &CancellationToken,
    ) -> WriteTally {
        let mut tally = WriteTally::default();
        loop {
            let entities = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                next = rx.recv() => match next {
                    Some(entities) => entities,
                    None => break,
                },
            };
            tally
                .blueprints
                .extend(entities.iter().map(|e| e.blueprint.clone()));
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = tracker.see(&self.port, &entities) => {}
            }
            let changed = if unchanged::worth_comparing(&entities) {
                let compared = tokio::select! {
                    biased;
                    () = cancel.cancelled() => break,
                    compared = unchanged::changed_in_port(&self.port, entities) => compared,
                };
                match compared {
                    Ok((changed, same)) => {
                        tally.unchanged += same;
                        changed
                    }
                    Err((error, entities)) => {
                        tracing::warn!(
                            %error,
                            "Could not compare the batch with Port; upserting all of it"
                        );
                        entities
                    }
                }
            } else {
                entities
            };
            if changed.is_empty() {
                tracing::info!("Entities in batch didn't change since last sync, skipping");
                continue;
            }
            let summary = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                summary = applier.upsert(changed) => summary,
            };
            tally.upserted += summary.upserted;
            tally.failed += summary.failed;
            for result in summary.results {
                match &result.status {
                    UpsertStatus::Stored { created } => {
                        let key = entity_key(&result.entity);
                        // A search identifier resolves to a real one: that is what Port holds.
                        tracker.seen.see(&key);
                        if let Some(created) = created {
                            tracker.seen.stored(&key, *created);
                        }
                    }
                    UpsertStatus::Failed(failure)
                        if tracker.retry_missing_related && is_missing_related(failure) =>
                    {
                        tracker.await_related(result.entity);
                    }
                    UpsertStatus::Failed(_) | UpsertStatus::Unresolved(_) => {}
                }
            }
            tracker.seen.spill_if_full().await;
        }
        tally
    }
}

/// Maps raw batches on the rayon pool (never on the async runtime) and hands the entities on.
async fn map_stage(
    kind: &str,
    compiled: Arc<CompiledResource>,
    mut rx: mpsc::Receiver<Vec<RawItem>>,
    tx: mpsc::Sender<Vec<Entity>>,
    cancel: &CancellationToken,
) -> MapTally {
    let mut tally = MapTally::default();
    loop {
        let items = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            next = rx.recv() => match next {
                Some(items) => items,
                None => break,
            },
        };
        let mapper = Arc::clone(&compiled);
        let job = tokio::task::spawn_blocking(move || mapper.map_batch_parallel(&items, false));
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            outcome = job => outcome,
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                tally
                    .errors
                    .push(format!("mapping a batch of kind {kind} failed: {error}"));
                continue;
            }
        };
        outcome.log_issues(kind, None);
        tally.filtered += outcome.filtered_out.count as u64;
        tally.mapped += outcome.entities.len() as u64;
        for failure in &outcome.failures {
            tally.errors.push(failure.message.clone());
        }
        if outcome.entities.is_empty() {
            continue;
        }
        let sent = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            sent = tx.send(outcome.entities) => sent,
        };
        if sent.is_err() {
            break;
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::port::Datasource;
    use crate::port::client::PortClientConfig;
    use crate::port::local::{LocalPort, LocalPortHandle};
    use crate::port::types::{Blueprint, Integration};
    use crate::sync::ResyncStream;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// How many persons the test source serves (the integration config of the test engine).
    #[derive(Clone, Default)]
    struct PersonCount(Arc<AtomicUsize>);

    fn serve_persons(ctx: Context) -> ResyncStream {
        let count = ctx
            .config::<PersonCount>()
            .map(|c| c.0.load(Ordering::SeqCst));
        Box::pin(crate::stream! {
            let count = match count {
                Ok(count) => count,
                Err(e) => { yield Err(e); return; }
            };
            let items: Vec<RawItem> = (0..count).map(|i| json!({"id": format!("p{i}")})).collect();
            for chunk in items.chunks(250) {
                yield Ok(chunk.to_vec());
            }
        })
    }

    const PERSONS_CONFIG: &str = "entityDeletionThreshold: 0.5\nresources:\n  - kind: person\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"person\"'\n";

    async fn persons_port() -> (LocalPortHandle, PortClient) {
        let port = LocalPort::builder()
            .client_id("id")
            .client_secret("secret")
            .start()
            .await
            .unwrap();
        let client = PortClient::new(PortClientConfig::new(
            port.url(),
            Secret::from(port.client_id()),
            Secret::new(port.client_secret().expose()),
            Datasource::exporter("fake", "1.0.0", "spill-test"),
        ))
        .unwrap();
        let person: Blueprint = serde_json::from_value(
            json!({"identifier": "person", "title": "Person", "schema": {"properties": {}}}),
        )
        .unwrap();
        client.create_blueprint(&person).await.unwrap();
        client
            .create_integration(&Integration {
                installation_id: "spill-test".into(),
                installation_app_type: Some("fake".into()),
                ..Integration::default()
            })
            .await
            .unwrap();
        (port, client)
    }

    fn persons_engine(
        client: &PortClient,
        count: &PersonCount,
        spill: SpillSettings,
    ) -> SyncEngine {
        let handlers = vec![ResyncHandler {
            kind: Some("person"),
            name: "serve_persons",
            file: file!(),
            line: line!(),
            handler: serve_persons,
        }];
        let context = Context::new(count.clone(), reqwest::Client::new()).with_port(client.clone());
        SyncEngine::new(
            client.clone(),
            Arc::new(handlers),
            Arc::new(JqEngine::default()),
            context,
            SyncOptions {
                integration_identifier: "spill-test".into(),
                send_raw_data_examples: false,
                pipeline_depth: 2,
            },
        )
        .with_spill(spill)
    }

    #[tokio::test]
    async fn a_resync_whose_seen_keys_spill_deletes_exactly_the_dropped_entities() {
        let (_port, client) = persons_port().await;
        let count = PersonCount::default();
        // 100 records in memory: 3,000 persons spill many runs and merge them in levels.
        let spill = SpillSettings {
            buffer_records: 100,
            dir: None,
        };
        let engine = persons_engine(&client, &count, spill);
        let config = PortAppConfig::parse(PERSONS_CONFIG).unwrap();
        let cancel = CancellationToken::new();

        count.0.store(3000, Ordering::SeqCst);
        let first = engine.resync(&config, &cancel).await;
        assert_eq!(first.status, ResyncStatus::Completed);
        assert_eq!(first.kinds[0].upserted, 3000);

        count.0.store(2900, Ordering::SeqCst);
        let second = engine.resync(&config, &cancel).await;
        assert_eq!(second.status, ResyncStatus::Completed, "{second:?}");
        let r = &second.reconciliation;
        assert_eq!(
            (r.owned_before, r.stale, r.deleted),
            (3000, 100, 100),
            "{r:?}"
        );
        let left = client.all_datasource_entities(None).await.unwrap();
        assert_eq!(left.len(), 2900);
        assert!(left.iter().all(|e| {
            let n: usize = e.normalized_identifier()[1..].parse().unwrap();
            n < 2900
        }));
    }

    #[tokio::test]
    async fn seen_keys_that_cannot_be_spilled_delete_nothing_and_fail_the_resync() {
        let (_port, client) = persons_port().await;
        let count = PersonCount::default();
        let config = PortAppConfig::parse(PERSONS_CONFIG).unwrap();
        let cancel = CancellationToken::new();
        count.0.store(1000, Ordering::SeqCst);
        let engine = persons_engine(&client, &count, SpillSettings::default());
        assert_eq!(
            engine.resync(&config, &cancel).await.status,
            ResyncStatus::Completed
        );

        count.0.store(900, Ordering::SeqCst);
        let broken = SpillSettings {
            buffer_records: 100,
            dir: Some(std::path::PathBuf::from("/nonexistent/ocean-spill")),
        };
        let report = persons_engine(&client, &count, broken)
            .resync(&config, &cancel)
            .await;
        assert_eq!(report.status, ResyncStatus::Failed);
        assert_eq!(report.reconciliation.deleted, 0);
        let skipped = report.reconciliation.skipped.unwrap_or_default();
        assert!(
            skipped
                .starts_with("the keys of the entities seen in this resync could not be written")
                && skipped.ends_with("nothing was deleted"),
            "{skipped}"
        );
        assert_eq!(
            client.all_datasource_entities(None).await.unwrap().len(),
            1000
        );
    }

    /// The runtime spawns resyncs on tokio, so the future must be `Send` (checked at compile
    /// time).
    #[allow(dead_code)]
    fn resync_can_be_spawned(engine: SyncEngine, config: PortAppConfig) {
        tokio::spawn(async move {
            let cancel = CancellationToken::new();
            engine.resync(&config, &cancel).await
        });
    }

    #[test]
    fn examples_are_the_first_five_items_sent_once() {
        let mut examples = Examples::new(true);
        assert_eq!(examples.add(&[json!(1), json!(2)]), None);
        assert_eq!(
            examples.add(&[json!(3), json!(4), json!(5), json!(6)]),
            Some(vec![json!(1), json!(2), json!(3), json!(4), json!(5)])
        );
        assert_eq!(examples.add(&[json!(7)]), None);
        assert_eq!(examples.finish(), None);
    }

    #[test]
    fn fewer_than_five_examples_are_sent_at_the_end_of_the_kind() {
        let mut examples = Examples::new(true);
        assert_eq!(examples.add(&[json!(1), json!(2)]), None);
        assert_eq!(examples.finish(), Some(vec![json!(1), json!(2)]));
        let mut disabled = Examples::new(false);
        assert_eq!(disabled.add(&vec![json!(1); 9]), None);
        assert_eq!(disabled.finish(), None);
    }

    #[test]
    fn kind_errors_are_bounded_and_count_the_rest() {
        let mut errors = KindErrors::default();
        for i in 0..(MAX_KIND_ERRORS + 3) {
            errors.push(format!("e{i}"));
        }
        let list = errors.into_vec();
        assert_eq!(list.len(), MAX_KIND_ERRORS + 1);
        assert_eq!(list.last().unwrap(), "... and 3 more errors");
    }
}
