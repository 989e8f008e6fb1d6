//! Entities: single and bulk upserts, deletes, searches and the datasource listing.

use super::chunking::{BULK_ENVELOPE_BYTES, Chunk, plan_chunks};
use super::{PortClient, PortError, Request};
use crate::port::types::{BulkUpsertResponse, Entity, Query, QueryNode};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

/// How many per-entity errors of one bulk request are quoted in the log line.
const LOGGED_ERROR_SAMPLES: usize = 5;

/// The event a write belongs to, sent as `ocean_info_*` query parameters so Port can attribute it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInfo {
    /// The event type: one of Port's `resync`, `http_request` and `start`.
    pub event_type: String,
    /// The resync id, for writes made by a resync.
    pub resync_id: Option<String>,
}

impl EventInfo {
    /// A write made by the resync `resync_id` (`resync`).
    pub fn resync(resync_id: impl Into<String>) -> Self {
        Self {
            event_type: "resync".into(),
            resync_id: Some(resync_id.into()),
        }
    }

    /// A write made while processing a live event: Port calls these `http_request`, as Python
    /// Ocean sends them.
    pub fn live_event() -> Self {
        Self {
            event_type: "http_request".into(),
            resync_id: None,
        }
    }

    fn apply(&self, mut req: Request) -> Request {
        req = req.query("ocean_info_event_type", &self.event_type);
        if let Some(id) = &self.resync_id {
            req = req.query("ocean_info_resync_id", id);
        }
        req
    }
}

/// Query options of entity upserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertOptions {
    /// Merge properties into the stored entity instead of replacing it (`enableMergeEntity`).
    pub merge: bool,
    /// Let Port create placeholder entities for missing relation targets.
    pub create_missing_related_entities: bool,
    /// The event the write belongs to.
    pub event: Option<EventInfo>,
}

impl Default for UpsertOptions {
    /// Port app config's defaults: merge and create missing related entities.
    fn default() -> Self {
        Self {
            merge: true,
            create_missing_related_entities: true,
            event: None,
        }
    }
}

impl UpsertOptions {
    fn apply(&self, req: Request) -> Request {
        let req = req
            .query("upsert", "true")
            .query("merge", bool_str(self.merge))
            .query(
                "create_missing_related_entities",
                bool_str(self.create_missing_related_entities),
            )
            .query("validation_only", "false");
        match &self.event {
            Some(event) => event.apply(req),
            None => req,
        }
    }
}

/// Query options of entity deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Also delete entities that depend on the deleted ones (`deleteDependentEntities`).
    pub delete_dependents: bool,
    /// The event the write belongs to.
    pub event: Option<EventInfo>,
}

impl DeleteOptions {
    fn apply(&self, req: Request) -> Request {
        let req = req.query("delete_dependents", bool_str(self.delete_dependents));
        match &self.event {
            Some(event) => event.apply(req),
            None => req,
        }
    }
}

fn bool_str(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// Why Port did not store one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertFailure {
    /// The status Port gave for this entity (or for its whole request); `None` when no answer came.
    pub status: Option<u16>,
    /// Port's error code (`not_found`, `schema_mismatch`, ...) or a code of the client's own
    /// (`request_failed`, `missing_result`, `invalid_response`).
    pub error: String,
    /// Port's message, or what went wrong with the request.
    pub message: String,
}

/// What happened to one entity of a bulk upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertStatus {
    /// Port stored it; `created` says whether it was new (unknown after a single upsert).
    Stored {
        /// True when created, false when updated, `None` when Port did not say.
        created: Option<bool>,
    },
    /// Port rejected it, or its request failed.
    Failed(UpsertFailure),
    /// Its search identifier matched no entity (Port reports identifier `unknown`); sending it
    /// again cannot help.
    Unresolved(UpsertFailure),
}

/// One entity of a bulk upsert and what happened to it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityUpsert {
    /// The entity as sent; once stored, its identifier is the one Port stored (a search
    /// identifier resolves to the real one here).
    pub entity: Entity,
    /// The result.
    pub status: UpsertStatus,
}

/// The result of [`PortClient::upsert_entities_bulk`], one entry per input entity, in input order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkUpsertOutcome {
    /// Per-entity results, in the order the entities were given.
    pub results: Vec<EntityUpsert>,
}

impl BulkUpsertOutcome {
    /// The entities Port stored.
    pub fn stored(&self) -> impl Iterator<Item = &Entity> {
        self.results
            .iter()
            .filter(|r| matches!(r.status, UpsertStatus::Stored { .. }))
            .map(|r| &r.entity)
    }

    /// The entities that failed, with the reason.
    pub fn failed(&self) -> impl Iterator<Item = (&Entity, &UpsertFailure)> {
        self.results.iter().filter_map(|r| match &r.status {
            UpsertStatus::Failed(f) => Some((&r.entity, f)),
            _ => None,
        })
    }

    /// True when every entity was stored.
    pub fn all_stored(&self) -> bool {
        self.results
            .iter()
            .all(|r| matches!(r.status, UpsertStatus::Stored { .. }))
    }
}

/// Identifiers a bulk delete could not delete, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFailure {
    /// The identifiers of the failed request.
    pub identifiers: Vec<String>,
    /// What went wrong.
    pub reason: String,
}

/// The result of [`PortClient::delete_entities_bulk`]: each chunk succeeds or fails as a whole,
/// so partial success is possible across chunks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkDeleteOutcome {
    /// Identifiers that are gone: those of every chunk Port accepted (deleted by this call, or
    /// already absent).
    pub deleted: Vec<String>,
    /// Chunks Port refused, each with all its identifiers.
    pub failures: Vec<DeleteFailure>,
}

#[derive(Deserialize)]
struct SearchAnswer {
    #[serde(default)]
    entities: Vec<Entity>,
}

#[derive(Deserialize)]
struct DatasourcePage {
    #[serde(default)]
    entities: Vec<Entity>,
    #[serde(default)]
    next: Option<Value>,
}

#[derive(Deserialize)]
struct DeleteAnswer {
    #[serde(default, rename = "deletedEntities")]
    #[expect(
        dead_code,
        reason = "decoded to check Port's answer; every identifier sent is gone"
    )]
    deleted_entities: Vec<String>,
}

/// Per-index results of one chunk.
type ChunkResults = Vec<(usize, UpsertStatus, Option<Value>)>;

impl PortClient {
    /// Upserts one entity (`POST /v1/blueprints/{bp}/entities`) and returns the entity Port
    /// stored. A 404 means a related entity (or the blueprint) is missing.
    pub async fn upsert_entity(
        &self,
        entity: &Entity,
        options: &UpsertOptions,
    ) -> Result<Entity, PortError> {
        let body = serde_json::to_vec(entity).map_err(|e| PortError::InvalidConfig {
            message: format!("the entity could not be serialized: {e}"),
        })?;
        let answer = self
            .execute(&self.single_upsert_request(&entity.blueprint, Bytes::from(body), options))
            .await?;
        if !answer.is_success() {
            return Err(answer.error(format!(
                "entity `{}` of blueprint `{}` or an entity it relates to",
                entity.normalized_identifier(),
                entity.blueprint
            )));
        }
        // Port answers `{ok, entity}`; without a readable entity the sent one is what was stored.
        let stored: Option<Entity> = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|mut v| serde_json::from_value(v.get_mut("entity")?.take()).ok());
        Ok(stored.unwrap_or_else(|| entity.clone()))
    }

    fn single_upsert_request(
        &self,
        blueprint: &str,
        body: Bytes,
        options: &UpsertOptions,
    ) -> Request {
        let req = self
            .request(Method::POST, &["v1", "blueprints", blueprint, "entities"])
            .retryable()
            .raw_body(body);
        options.apply(req)
    }

    /// Upserts many entities with Port's bulk endpoint: grouped by blueprint, cut into chunks of
    /// at most [`BulkLimits::max_entities`](super::BulkLimits) entities and
    /// [`BulkLimits::max_bytes`](super::BulkLimits) bytes, sent concurrently. A chunk Port finds
    /// too large (413) is halved until single upserts. Never fails as a whole: every entity gets
    /// its own result, in input order.
    pub async fn upsert_entities_bulk(
        &self,
        entities: Vec<Entity>,
        options: &UpsertOptions,
    ) -> BulkUpsertOutcome {
        let mut statuses: Vec<Option<(UpsertStatus, Option<Value>)>> = vec![None; entities.len()];
        let mut bodies: Vec<Bytes> = Vec::with_capacity(entities.len());
        for (i, entity) in entities.iter().enumerate() {
            match serde_json::to_vec(entity) {
                Ok(body) => bodies.push(Bytes::from(body)),
                Err(e) => {
                    statuses[i] = Some((
                        UpsertStatus::Failed(UpsertFailure {
                            status: None,
                            error: "invalid_entity".into(),
                            message: format!("the entity could not be serialized: {e}"),
                        }),
                        None,
                    ));
                    bodies.push(Bytes::new());
                }
            }
        }
        let sendable = entities
            .iter()
            .zip(&bodies)
            .enumerate()
            .filter(|(i, _)| statuses[*i].is_none());
        let positions: Vec<usize> = sendable.clone().map(|(i, _)| i).collect();
        let chunks = plan_chunks(
            sendable.map(|(_, (e, b))| (e.blueprint.as_str(), b.len())),
            &self.inner.config.bulk,
        );
        let chunks = chunks.into_iter().map(|chunk| Chunk {
            indexes: chunk.indexes.iter().map(|i| positions[*i]).collect(),
            ..chunk
        });
        let concurrency = self.inner.config.max_concurrency;
        let mut results = stream::iter(chunks)
            .map(|chunk| self.upsert_chunk(chunk, &bodies, options))
            .buffer_unordered(concurrency);
        while let Some(chunk_results) = results.next().await {
            for (index, status, identifier) in chunk_results {
                if let Some(slot) = statuses.get_mut(index) {
                    *slot = Some((status, identifier));
                }
            }
        }
        drop(results);
        let results = entities
            .into_iter()
            .zip(statuses)
            .map(|(mut entity, status)| {
                let (status, identifier) = status.unwrap_or_else(|| {
                    (
                        UpsertStatus::Failed(UpsertFailure {
                            status: None,
                            error: "missing_result".into(),
                            message: "no request reported on this entity".into(),
                        }),
                        None,
                    )
                });
                if let Some(identifier) = identifier {
                    entity.identifier = identifier;
                }
                EntityUpsert { entity, status }
            })
            .collect();
        BulkUpsertOutcome { results }
    }

    /// Sends one chunk as a bulk request; on 413 halves it (down to single upserts). Results are
    /// by input index.
    fn upsert_chunk<'a>(
        &'a self,
        chunk: Chunk,
        bodies: &'a [Bytes],
        options: &'a UpsertOptions,
    ) -> BoxFuture<'a, ChunkResults> {
        async move {
            let Chunk { blueprint, indexes } = chunk;
            let req = options.apply(
                self.request(
                    Method::POST,
                    &["v1", "blueprints", &blueprint, "entities", "bulk"],
                )
                .retryable()
                .raw_body(bulk_body(&indexes, bodies)),
            );
            match self.execute(&req).await {
                Ok(answer) if answer.is_success() => {
                    match answer.json::<BulkUpsertResponse>("{entities, errors}") {
                        Ok(response) => map_bulk_response(&blueprint, &indexes, response),
                        Err(e) => fail_all(&indexes, None, "invalid_response", &e.to_string()),
                    }
                }
                Ok(answer) if answer.status == 413 => {
                    tracing::info!(
                        blueprint = %blueprint,
                        entities = indexes.len(),
                        "Port found the bulk request too large; splitting it"
                    );
                    if let [only] = indexes[..] {
                        return vec![
                            self.single_upsert_result(&blueprint, only, bodies, options)
                                .await,
                        ];
                    }
                    let (left, right) = indexes.split_at(indexes.len() / 2);
                    let (mut a, b) = futures::join!(
                        self.upsert_smaller(&blueprint, left, bodies, options),
                        self.upsert_smaller(&blueprint, right, bodies, options)
                    );
                    a.extend(b);
                    a
                }
                Ok(answer) => {
                    let detail = answer.detail();
                    let error = if detail.code.is_empty() {
                        "request_failed"
                    } else {
                        detail.code.as_str()
                    };
                    fail_all(&indexes, Some(answer.status), error, &detail.message)
                }
                Err(e) => fail_all(&indexes, e.status(), "request_failed", &e.to_string()),
            }
        }
        .boxed()
    }

    /// A part of a chunk Port found too large: a single upsert for one entity, else a smaller bulk.
    async fn upsert_smaller(
        &self,
        blueprint: &str,
        indexes: &[usize],
        bodies: &[Bytes],
        options: &UpsertOptions,
    ) -> ChunkResults {
        match indexes {
            [only] => vec![
                self.single_upsert_result(blueprint, *only, bodies, options)
                    .await,
            ],
            _ => {
                let chunk = Chunk {
                    blueprint: blueprint.to_owned(),
                    indexes: indexes.to_vec(),
                };
                self.upsert_chunk(chunk, bodies, options).await
            }
        }
    }

    async fn single_upsert_result(
        &self,
        blueprint: &str,
        index: usize,
        bodies: &[Bytes],
        options: &UpsertOptions,
    ) -> (usize, UpsertStatus, Option<Value>) {
        let body = bodies.get(index).cloned().unwrap_or_default();
        let req = self.single_upsert_request(blueprint, body, options);
        let failed = |status, error: &str, message: String| {
            (
                index,
                UpsertStatus::Failed(UpsertFailure {
                    status,
                    error: error.to_owned(),
                    message,
                }),
                None,
            )
        };
        match self.execute(&req).await {
            Ok(answer) if answer.is_success() => {
                let identifier = answer
                    .json::<Value>("{ok, entity}")
                    .ok()
                    .and_then(|v| v.get("entity")?.get("identifier").cloned())
                    .filter(Value::is_string);
                (index, UpsertStatus::Stored { created: None }, identifier)
            }
            Ok(answer) => {
                let detail = answer.detail();
                let code = if detail.code.is_empty() {
                    "request_failed"
                } else {
                    &detail.code
                };
                failed(Some(answer.status), code, detail.message.clone())
            }
            Err(e) => failed(e.status(), "request_failed", e.to_string()),
        }
    }

    /// Deletes entities of one blueprint with Port's bulk delete, in chunks of
    /// [`BulkLimits::delete_chunk`](super::BulkLimits) sent concurrently. A failed chunk does not
    /// stop the others; it is reported in [`BulkDeleteOutcome::failures`].
    pub async fn delete_entities_bulk(
        &self,
        blueprint: &str,
        identifiers: &[String],
        options: &DeleteOptions,
    ) -> BulkDeleteOutcome {
        let chunk = self.inner.config.bulk.delete_chunk.max(1);
        // Chunks by position: a closure taking `&[String]` would be higher-ranked over the
        // slice's lifetime, and rustc then cannot prove callers' futures `Send`.
        let mut answers = stream::iter((0..identifiers.len()).step_by(chunk))
            .map(|start| {
                let ids = &identifiers[start..identifiers.len().min(start + chunk)];
                async move {
                    let result = self.delete_chunk(blueprint, ids, options).await;
                    (ids, result)
                }
            })
            .buffered(self.inner.config.max_concurrency);
        let mut outcome = BulkDeleteOutcome::default();
        while let Some((ids, result)) = answers.next().await {
            match result {
                Ok(()) => outcome.deleted.extend(ids.iter().cloned()),
                Err(e) => {
                    tracing::warn!(
                        blueprint,
                        entities = ids.len(),
                        error = %e,
                        "bulk delete of entities failed"
                    );
                    outcome.failures.push(DeleteFailure {
                        identifiers: ids.to_vec(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        outcome
    }

    async fn delete_chunk(
        &self,
        blueprint: &str,
        identifiers: &[String],
        options: &DeleteOptions,
    ) -> Result<(), PortError> {
        let req = options.apply(
            self.request(
                Method::POST,
                &["v1", "blueprints", blueprint, "bulk", "entities", "delete"],
            )
            .retryable()
            .json(&json!({ "entities": identifiers }))?,
        );
        let answer = self.execute(&req).await?;
        if !answer.is_success() {
            return Err(answer.error(format!("blueprint `{blueprint}`")));
        }
        // Port answers 200 when the whole request succeeded (identifiers that were already gone
        // included) and fails the whole request otherwise.
        answer.json::<DeleteAnswer>("{ok, deletedEntities}")?;
        Ok(())
    }

    /// Deletes one entity. Returns false when it did not exist (already deleted).
    pub async fn delete_entity(
        &self,
        blueprint: &str,
        identifier: &str,
        options: &DeleteOptions,
    ) -> Result<bool, PortError> {
        let req = options.apply(self.request(
            Method::DELETE,
            &["v1", "blueprints", blueprint, "entities", identifier],
        ));
        let answer = self.execute(&req).await?;
        match answer.status {
            404 => Ok(false),
            _ if answer.is_success() => Ok(true),
            _ => Err(answer.error(format!("entity `{identifier}` of blueprint `{blueprint}`"))),
        }
    }

    /// Searches entities (`POST /v1/entities/search`) without calculated properties; `include`
    /// limits the returned fields (empty: Port's default).
    pub async fn search_entities(
        &self,
        query: &Query,
        include: &[&str],
    ) -> Result<Vec<Entity>, PortError> {
        let mut req = self
            .request(Method::POST, &["v1", "entities", "search"])
            .retryable()
            .query("exclude_calculated_properties", "true");
        for field in include {
            req = req.query("include", field);
        }
        let req = req.json(query)?;
        let answer = self.execute(&req).await?;
        if !answer.is_success() {
            return Err(answer.error("the searched blueprint".into()));
        }
        Ok(answer.json::<SearchAnswer>("{ok, entities}")?.entities)
    }

    /// Like [`search_entities`](Self::search_entities), restricted to entities this integration
    /// and feature wrote (Port's `$datasource` rules).
    ///
    /// Unlike Python Ocean, the rules are added even when the query has no rules, and an `or`
    /// query is wrapped rather than extended, so the result never leaves this datasource.
    pub async fn search_owned_entities(
        &self,
        query: &Query,
        include: &[&str],
    ) -> Result<Vec<Entity>, PortError> {
        self.search_entities(&self.owned(query), include).await
    }

    fn owned(&self, query: &Query) -> Query {
        let ds = self.datasource();
        let rules = [
            QueryNode::rule("$datasource", "contains", Value::String(ds.prefix())),
            QueryNode::rule("$datasource", "contains", Value::String(ds.suffix())),
        ];
        match query.combinator {
            crate::port::types::Combinator::And => {
                let mut owned = query.clone();
                owned.rules.extend(rules);
                owned
            }
            crate::port::types::Combinator::Or => {
                let mut all = vec![QueryNode::Group(query.clone())];
                all.extend(rules);
                Query::and(all)
            }
        }
    }

    /// Pages through the entities this integration and feature own
    /// (`POST /v1/blueprints/entities/datasource-entities`), optionally only those last updated
    /// before `before`. One page is held in memory at a time.
    pub fn datasource_entities(
        &self,
        before: Option<DateTime<Utc>>,
    ) -> impl Stream<Item = Result<Vec<Entity>, PortError>> + Send + 'static {
        let client = self.clone();
        let before = before.map(|b| b.to_rfc3339_opts(SecondsFormat::AutoSi, false));
        // State: the cursor of the next page, `None` once the last page was read.
        stream::try_unfold(Some(Value::Null), move |cursor| {
            let client = client.clone();
            let before = before.clone();
            async move {
                let Some(cursor) = cursor else {
                    return Ok(None);
                };
                let (entities, next) = client.datasource_page(before.as_deref(), &cursor).await?;
                let next = next.filter(|n| !is_falsy(n));
                if next.as_ref().is_some_and(|n| *n == cursor) {
                    return Err(PortError::Decode {
                        endpoint: "POST /v1/blueprints/entities/datasource-entities".into(),
                        expected: "a new `next` cursor or none",
                        message: "Port returned the same cursor again".into(),
                    });
                }
                Ok(Some((entities, next)))
            }
        })
    }

    /// All the entities [`datasource_entities`](Self::datasource_entities) yields, collected.
    pub async fn all_datasource_entities(
        &self,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<Entity>, PortError> {
        let pages: Vec<Vec<Entity>> = self.datasource_entities(before).try_collect().await?;
        Ok(pages.into_iter().flatten().collect())
    }

    async fn datasource_page(
        &self,
        before: Option<&str>,
        cursor: &Value,
    ) -> Result<(Vec<Entity>, Option<Value>), PortError> {
        let ds = self.datasource();
        let mut body = json!({
            "datasource_prefix": ds.prefix(),
            "datasource_suffix": ds.suffix(),
            "limit": self.inner.config.bulk.datasource_page,
        });
        if let Some(before) = before {
            body["before"] = Value::String(before.to_owned());
        }
        if !cursor.is_null() {
            body["from"] = cursor.clone();
        }
        let req = self
            .request(
                Method::POST,
                &["v1", "blueprints", "entities", "datasource-entities"],
            )
            .retryable()
            .json(&body)?;
        let answer = self.execute(&req).await?;
        if !answer.is_success() {
            return Err(answer.error("the datasource entities".into()));
        }
        let page: DatasourcePage = answer.json("{ok, entities, next}")?;
        Ok((page.entities, page.next))
    }
}

fn is_falsy(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// `{"entities":[...]}` from already serialized entities, so each is serialized once.
fn bulk_body(indexes: &[usize], bodies: &[Bytes]) -> Bytes {
    let len: usize = indexes
        .iter()
        .filter_map(|i| bodies.get(*i))
        .map(|b| b.len() + 1)
        .sum();
    let mut out = Vec::with_capacity(BULK_ENVELOPE_BYTES + len);
    out.extend_from_slice(br#"{"entities":["#);
    for (n, body) in indexes.iter().filter_map(|i| bodies.get(*i)).enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(body);
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

fn fail_all(indexes: &[usize], status: Option<u16>, error: &str, message: &str) -> ChunkResults {
    indexes
        .iter()
        .map(|i| {
            let failure = UpsertFailure {
                status,
                error: error.to_owned(),
                message: message.to_owned(),
            };
            (*i, UpsertStatus::Failed(failure), None)
        })
        .collect()
}

/// Maps Port's per-index answer back to input indexes. An index Port did not mention failed.
fn map_bulk_response(
    blueprint: &str,
    indexes: &[usize],
    response: BulkUpsertResponse,
) -> ChunkResults {
    let mut by_position: Vec<Option<(UpsertStatus, Option<Value>)>> = vec![None; indexes.len()];
    for stored in response.entities {
        if let Some(slot) = by_position.get_mut(stored.index) {
            *slot = Some((
                UpsertStatus::Stored {
                    created: Some(stored.created),
                },
                Some(Value::String(stored.identifier)),
            ));
        }
    }
    if !response.errors.is_empty() {
        let samples: Vec<String> = response
            .errors
            .iter()
            .take(LOGGED_ERROR_SAMPLES)
            .map(|e| {
                format!(
                    "{} ({} {}): {}",
                    e.identifier, e.status_code, e.error, e.message
                )
            })
            .collect();
        tracing::error!(
            blueprint,
            failed = response.errors.len(),
            samples = ?samples,
            "Port rejected entities of a bulk upsert"
        );
    }
    for error in response.errors {
        if let Some(slot) = by_position.get_mut(error.index) {
            let unresolved = error.identifier == "unknown";
            let failure = UpsertFailure {
                status: Some(error.status_code),
                error: error.error,
                message: error.message,
            };
            let status = if unresolved {
                UpsertStatus::Unresolved(failure)
            } else {
                UpsertStatus::Failed(failure)
            };
            *slot = Some((status, None));
        }
    }
    indexes
        .iter()
        .zip(by_position)
        .map(|(index, result)| {
            let (status, identifier) = result.unwrap_or_else(|| {
                (
                    UpsertStatus::Failed(UpsertFailure {
                        status: None,
                        error: "missing_result".into(),
                        message: "Port's bulk answer did not mention this entity".into(),
                    }),
                    None,
                )
            });
            (*index, status, identifier)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::types::{BulkEntityError, BulkEntityResult};

    #[test]
    fn bulk_body_joins_preserialized_entities() {
        let bodies = vec![
            Bytes::from_static(b"{\"a\":1}"),
            Bytes::from_static(b"{\"b\":2}"),
            Bytes::from_static(b"{\"c\":3}"),
        ];
        let body = bulk_body(&[0, 2], &bodies);
        assert_eq!(&body[..], br#"{"entities":[{"a":1},{"c":3}]}"#);
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["entities"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn bulk_response_maps_by_position_and_flags_unknown_and_missing() {
        let response = BulkUpsertResponse {
            entities: vec![BulkEntityResult {
                index: 0,
                identifier: "resolved".into(),
                created: true,
            }],
            errors: vec![BulkEntityError {
                index: 1,
                identifier: "unknown".into(),
                status_code: 404,
                error: "not_found".into(),
                message: "no match".into(),
            }],
        };
        let mapped = map_bulk_response("svc", &[7, 8, 9], response);
        assert_eq!(mapped[0].0, 7);
        assert_eq!(
            mapped[0].1,
            UpsertStatus::Stored {
                created: Some(true)
            }
        );
        assert_eq!(mapped[0].2, Some(Value::String("resolved".into())));
        assert!(matches!(&mapped[1].1, UpsertStatus::Unresolved(f) if f.status == Some(404)));
        assert!(matches!(&mapped[2].1, UpsertStatus::Failed(f) if f.error == "missing_result"));
    }
}
