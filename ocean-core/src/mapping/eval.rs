//! Mapping raw items to Port entities with a compiled resource.
//!
//! Each expression's first output is taken; an error or no output gives `null` and records a
//! misconfiguration of that field (`identifier`, `properties.url`, `identifier.rules.value`, ...).
//! The selector must yield a boolean, else the item fails. An entity is produced only when its
//! identifier and blueprint are truthy, with only the keys its mapping has.
//!
//! Every expression is compiled on its own, as in Ocean, so one that does not compile (a
//! syntax error, a function jq 1.8 does not define, a wrong arity) spoils nothing else: it is
//! logged once, when the resource is compiled, and then acts as a failing expression. A
//! mapping field is `null` on every item and recorded as a misconfiguration (an identifier or
//! blueprint that does not compile thus skips every item); a selector fails every item (which,
//! as in Ocean, keeps the resync from deleting anything); an `itemsToParse` maps no item. The
//! other fields and resources map as usual. Strict checks use
//! [`PortAppConfig::compile_errors`](super::PortAppConfig::compile_errors).
//!
//! Each item is converted for jq at most once (most mapping expressions run on the JSON
//! directly, without jaq) and every expression runs on that one conversion. Each expression is
//! evaluated on its own and the entity assembled here, which is about twice as fast in jaq as
//! one object-building filter. Programs that read no input are evaluated once, when compiled.
//! Results go straight into one accumulator per batch (per chunk in parallel), and
//! misconfigured fields are recorded by reference, so that mapping an item allocates little
//! beyond the entity itself.

use super::config::{MappingValue, ResourceConfig, SearchQueryMapping, SearchRuleMapping};
use super::items_to_parse::{Expansion, ItemsToParse};
use super::jq::value::json_type_name;
use super::jq::{JqEngine, JqError, JqInput, JqProgram, mapping_pool};
use crate::port::{Blueprint, Entity};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One jq field of a mapping: its misconfiguration path and its program (or compile error).
#[derive(Debug, Clone)]
struct Field {
    path: String,
    source: String,
    program: Result<JqProgram, JqError>,
}

impl Field {
    fn new(engine: &JqEngine, path: impl Into<String>, source: &str) -> Self {
        Self {
            path: path.into(),
            source: source.to_owned(),
            program: engine.compile(source),
        }
    }

    /// Evaluates to the first output; `null` (recorded as a misconfiguration) when there is
    /// none, it is null, or the expression fails.
    fn eval<'r>(&'r self, input: &JqInput<'_>, misconfigured: &mut Misconfigured<'r>) -> Value {
        // A field that does not compile is reported once, when the mapping is compiled.
        let result = match &self.program {
            Ok(program) => program.first_on(input),
            Err(_) => Ok(None),
        };
        match result {
            Ok(Some(v)) if !v.is_null() => return v,
            Ok(_) => {}
            Err(e) => tracing::warn!(
                field = %self.path,
                pattern = %self.source,
                error = %e.message(),
                "Search failed for field '{}' - pattern: {}: {}",
                self.path,
                self.source,
                e.message().lines().next().unwrap_or_default()
            ),
        }
        misconfigured.insert(&self.path, &self.source);
        Value::Null
    }
}

/// Misconfigured fields by path, borrowed from the compiled mapping.
type Misconfigured<'r> = BTreeMap<&'r str, &'r str>;

#[derive(Debug, Clone)]
enum CompiledValue {
    Jq(Field),
    Search(CompiledSearch),
}

#[derive(Debug, Clone)]
struct CompiledSearch {
    combinator: Field,
    rules: Vec<CompiledRule>,
}

#[derive(Debug, Clone)]
enum CompiledRule {
    Rule {
        property: Field,
        operator: Field,
        value: Field,
    },
    Query(CompiledSearch),
}

impl CompiledValue {
    fn new(engine: &JqEngine, path: &str, value: &MappingValue) -> Self {
        match value {
            MappingValue::Jq(expr) => Self::Jq(Field::new(engine, path, expr)),
            MappingValue::Search(q) => Self::Search(CompiledSearch::new(engine, path, q)),
        }
    }

    fn eval<'r>(&'r self, input: &JqInput<'_>, misconfigured: &mut Misconfigured<'r>) -> Value {
        match self {
            Self::Jq(f) => f.eval(input, misconfigured),
            Self::Search(q) => q.eval(input, misconfigured),
        }
    }
}

impl CompiledSearch {
    fn new(engine: &JqEngine, path: &str, q: &SearchQueryMapping) -> Self {
        // List indices are not part of misconfiguration paths (Ocean's `identifier.rules.value`).
        let rules_path = format!("{path}.rules");
        let rules = q
            .rules
            .iter()
            .map(|r| match r {
                SearchRuleMapping::Rule {
                    property,
                    operator,
                    value,
                } => CompiledRule::Rule {
                    property: Field::new(engine, format!("{rules_path}.property"), property),
                    operator: Field::new(engine, format!("{rules_path}.operator"), operator),
                    value: Field::new(engine, format!("{rules_path}.value"), value),
                },
                SearchRuleMapping::Query(inner) => {
                    CompiledRule::Query(Self::new(engine, &rules_path, inner))
                }
            })
            .collect();
        Self {
            combinator: Field::new(engine, format!("{path}.combinator"), &q.combinator),
            rules,
        }
    }

    fn eval<'r>(&'r self, input: &JqInput<'_>, misconfigured: &mut Misconfigured<'r>) -> Value {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| match r {
                CompiledRule::Rule {
                    property,
                    operator,
                    value,
                } => {
                    let mut m = Map::with_capacity(3);
                    m.insert("property".into(), property.eval(input, misconfigured));
                    m.insert("operator".into(), operator.eval(input, misconfigured));
                    m.insert("value".into(), value.eval(input, misconfigured));
                    Value::Object(m)
                }
                CompiledRule::Query(q) => q.eval(input, misconfigured),
            })
            .collect();
        let mut m = Map::with_capacity(2);
        m.insert(
            "combinator".into(),
            self.combinator.eval(input, misconfigured),
        );
        m.insert("rules".into(), Value::Array(rules));
        Value::Object(m)
    }
}

/// An entity mapping with every expression compiled once; shareable across threads.
#[derive(Debug, Clone)]
pub struct CompiledMapping {
    identifier: CompiledValue,
    blueprint: Field,
    title: Option<Field>,
    icon: Option<Field>,
    team: Option<CompiledValue>,
    properties: Option<Vec<(String, Field)>>,
    relations: Option<Vec<(String, CompiledValue)>>,
}

impl CompiledMapping {
    /// Compiles the mapping of `resource`. Expressions that do not compile stay in the mapping
    /// and evaluate to `null` (a misconfiguration), as in Ocean.
    pub fn new(resource: &ResourceConfig, engine: &JqEngine) -> Self {
        let m = &resource.port.entity.mappings;
        Self {
            identifier: CompiledValue::new(engine, "identifier", &m.identifier),
            blueprint: Field::new(engine, "blueprint", &m.blueprint),
            title: m.title.as_deref().map(|t| Field::new(engine, "title", t)),
            icon: m.icon.as_deref().map(|t| Field::new(engine, "icon", t)),
            team: m
                .team
                .as_ref()
                .map(|t| CompiledValue::new(engine, "team", t)),
            properties: m.properties.as_ref().map(|props| {
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), Field::new(engine, format!("properties.{k}"), v)))
                    .collect()
            }),
            relations: m.relations.as_ref().map(|rels| {
                rels.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            CompiledValue::new(engine, &format!("relations.{k}"), v),
                        )
                    })
                    .collect()
            }),
        }
    }

    /// Maps one converted item: the entity when identifier and blueprint are truthy. With
    /// [`Fields::Identity`] only those two are evaluated (what a delete needs).
    fn map<'r>(
        &'r self,
        input: &JqInput<'_>,
        fields: Fields,
        misconfigured: &mut Misconfigured<'r>,
    ) -> Option<Entity> {
        let identifier = self.identifier.eval(input, misconfigured);
        let blueprint = self.blueprint.eval(input, misconfigured);
        if fields == Fields::Identity {
            if !truthy(&identifier) || !truthy(&blueprint) {
                return None;
            }
            let blueprint = match blueprint {
                Value::String(s) => s,
                other => other.to_string(),
            };
            // Relations order deletes (dependents first); a relation the payload cannot give
            // is simply absent, so their misconfigurations are not reported.
            let mut unreported = Misconfigured::new();
            let relations = self.relations.as_ref().map(|rels| {
                rels.iter()
                    .map(|(k, f)| (k.clone(), f.eval(input, &mut unreported)))
                    .filter(|(_, v)| !v.is_null())
                    .collect::<Map<String, Value>>()
            });
            return Some(Entity {
                identifier,
                blueprint,
                title: None,
                icon: None,
                team: None,
                properties: None,
                relations,
                extra: Map::new(),
            });
        }
        let title = self.title.as_ref().map(|f| f.eval(input, misconfigured));
        let icon = self.icon.as_ref().map(|f| f.eval(input, misconfigured));
        let team = self.team.as_ref().map(|f| f.eval(input, misconfigured));
        let properties = self.properties.as_ref().map(|props| {
            props
                .iter()
                .map(|(k, f)| (k.clone(), f.eval(input, misconfigured)))
                .collect::<Map<String, Value>>()
        });
        let relations = self.relations.as_ref().map(|rels| {
            rels.iter()
                .map(|(k, f)| (k.clone(), f.eval(input, misconfigured)))
                .collect::<Map<String, Value>>()
        });
        if !truthy(&identifier) || !truthy(&blueprint) {
            return None;
        }
        let blueprint = match blueprint {
            Value::String(s) => s,
            other => other.to_string(),
        };
        Some(Entity {
            identifier,
            blueprint,
            title,
            icon,
            team,
            properties,
            relations,
            extra: Map::new(),
        })
    }
}

/// Which fields of the mapping an item is mapped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fields {
    /// Every field: what upserts need.
    All,
    /// The identifier and the blueprint (reported when misconfigured) and the relations (not
    /// reported): what deletes need. No property is evaluated, so a minimal "deleted" payload
    /// does not report a misconfiguration per missing property.
    Identity,
}

/// Python truthiness, which Ocean uses to decide whether an entity has an identifier and a
/// blueprint: null, false, 0, "", [] and {} are false.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A resource with its selector, `itemsToParse` and mapping compiled; shareable across threads.
#[derive(Debug, Clone)]
pub struct CompiledResource {
    kind: String,
    selector_source: String,
    selector: Result<JqProgram, JqError>,
    fan_out: Option<ItemsToParse>,
    mapping: CompiledMapping,
}

/// An item that could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFailure {
    /// Index of the raw item in the batch.
    pub index: usize,
    /// What went wrong.
    pub message: String,
}

/// Items the selector rejected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilteredOut {
    /// How many items the selector rejected.
    pub count: usize,
    /// In `parse_all` mode, the entities those items map to (candidates for deletion).
    pub entities: Vec<Entity>,
}

/// The result of mapping a batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappingOutcome {
    /// Entities of the items that passed the selector, in input order.
    pub entities: Vec<Entity>,
    /// Items the selector rejected.
    pub filtered_out: FilteredOut,
    /// Items that passed the selector but whose identifier or blueprint came out empty.
    pub skipped: usize,
    /// Misconfigured fields (path to expression): null, missing, or failing.
    pub misconfigurations: BTreeMap<String, String>,
    /// Items that failed (selector not boolean or failing, `itemsToParse` not a list).
    pub failures: Vec<ItemFailure>,
}

impl MappingOutcome {
    /// Logs each misconfigured field once (ERROR when the blueprint requires it, else WARNING)
    /// and the number of skipped items.
    pub fn log_issues(&self, kind: &str, required: Option<&BTreeSet<String>>) {
        for (path, expr) in &self.misconfigurations {
            let message = format!(
                "Unable to find valid data for: '{path}': {expr} (null, missing, or misconfigured)"
            );
            if required.is_some_and(|r| r.contains(path)) {
                tracing::error!(kind, field = %path, pattern = %expr, "{message}");
            } else {
                tracing::warn!(kind, field = %path, pattern = %expr, "{message}");
            }
        }
        if self.skipped > 0 {
            tracing::warn!(
                kind,
                "{} transformations of batch failed due to empty, null or missing values",
                self.skipped
            );
        }
        for failure in &self.failures {
            tracing::warn!(kind, index = failure.index, "{}", failure.message);
        }
    }
}

/// The misconfiguration paths a blueprint requires: `properties.<n>` for its required
/// properties and `relations.<n>` for its required relations.
pub fn required_fields(blueprint: &Blueprint) -> BTreeSet<String> {
    let props = blueprint
        .schema
        .required
        .iter()
        .map(|p| format!("properties.{p}"));
    let rels = blueprint
        .relation_schemas()
        .filter(|(_, r)| r.required)
        .map(|(name, _)| format!("relations.{name}"));
    props.chain(rels).collect()
}

/// What the items of a batch (or of a chunk of one, in parallel) mapped to so far.
#[derive(Default)]
struct Sink<'r> {
    entities: Vec<Entity>,
    filtered_entities: Vec<Entity>,
    filtered: usize,
    skipped: usize,
    misconfigured: Misconfigured<'r>,
    failures: Vec<ItemFailure>,
}

impl Sink<'_> {
    fn append(&mut self, mut other: Self) {
        self.entities.append(&mut other.entities);
        self.filtered_entities.append(&mut other.filtered_entities);
        self.filtered += other.filtered;
        self.skipped += other.skipped;
        self.misconfigured.append(&mut other.misconfigured);
        self.failures.append(&mut other.failures);
    }

    fn into_outcome(self) -> MappingOutcome {
        MappingOutcome {
            entities: self.entities,
            filtered_out: FilteredOut {
                count: self.filtered,
                entities: self.filtered_entities,
            },
            skipped: self.skipped,
            misconfigurations: self
                .misconfigured
                .into_iter()
                .map(|(path, expr)| (path.to_owned(), expr.to_owned()))
                .collect(),
            failures: self.failures,
        }
    }
}

/// Items mapped per rayon task: large enough to amortise scheduling.
const PARALLEL_CHUNK: usize = 32;

impl CompiledResource {
    /// Compiles the resource's selector, `itemsToParse` and mapping with `engine`.
    pub fn new(resource: &ResourceConfig, engine: &JqEngine) -> Self {
        let fan_out = resource.port.items_to_parse.as_ref().map(|expr| {
            ItemsToParse::new(
                engine,
                expr,
                &resource.port.items_to_parse_name,
                resource.port.items_to_parse_top_level_transform,
            )
        });
        for e in resource.compile_errors(engine, "") {
            let consequence = if e.path == "selector.query" {
                "every item fails"
            } else if e.path == "port.itemsToParse" {
                "no item is mapped"
            } else {
                "the field is null on every item"
            };
            tracing::warn!(
                kind = %resource.kind,
                field = %e.path,
                pattern = %e.expr,
                error = %e.message,
                "Invalid jq for field '{}' - pattern: {}: {}; {consequence}",
                e.path,
                e.expr,
                e.message.lines().next().unwrap_or_default()
            );
        }
        if let Some(warning) = fan_out.as_ref().and_then(ItemsToParse::skips_every_item) {
            tracing::warn!(kind = %resource.kind, "{warning}");
        }
        Self {
            kind: resource.kind.clone(),
            selector_source: resource.selector.query.clone(),
            selector: engine.compile(&resource.selector.query),
            fan_out,
            mapping: CompiledMapping::new(resource, engine),
        }
    }

    /// The kind of the resource.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Why no item of this resource can be mapped whatever it holds, if so: its
    /// `itemsToParse` top-level transform gives `null` on every item (see [`ItemsToParse`]).
    pub fn skips_every_item(&self) -> Option<String> {
        self.fan_out
            .as_ref()
            .and_then(ItemsToParse::skips_every_item)
    }

    /// Maps a batch on the calling thread. With `parse_all` (live events), items that fail the
    /// selector are mapped too and reported in [`FilteredOut::entities`].
    pub fn map_batch(&self, items: &[Value], parse_all: bool) -> MappingOutcome {
        let mut sink = Sink {
            entities: Vec::with_capacity(items.len()),
            ..Sink::default()
        };
        for (index, item) in items.iter().enumerate() {
            self.map_raw_item(index, item, parse_all, Fields::All, &mut sink);
        }
        sink.into_outcome()
    }

    /// Maps a batch for deletion: the items the selector passes become entities holding only
    /// their identifier, blueprint and relations (nothing else of the mapping is evaluated).
    pub fn map_batch_for_deletion(&self, items: &[Value]) -> MappingOutcome {
        let mut sink = Sink {
            entities: Vec::with_capacity(items.len()),
            ..Sink::default()
        };
        for (index, item) in items.iter().enumerate() {
            self.map_raw_item(index, item, false, Fields::Identity, &mut sink);
        }
        sink.into_outcome()
    }

    /// Maps a batch across the mapping thread pool, keeping input order.
    pub fn map_batch_parallel(&self, items: &[Value], parse_all: bool) -> MappingOutcome {
        let Some(pool) = mapping_pool() else {
            return self.map_batch(items, parse_all);
        };
        let chunks: Vec<Sink<'_>> = pool.install(|| {
            items
                .par_chunks(PARALLEL_CHUNK)
                .enumerate()
                .map(|(chunk, part)| {
                    let mut sink = Sink {
                        entities: Vec::with_capacity(part.len()),
                        ..Sink::default()
                    };
                    for (offset, item) in part.iter().enumerate() {
                        let index = chunk * PARALLEL_CHUNK + offset;
                        self.map_raw_item(index, item, parse_all, Fields::All, &mut sink);
                    }
                    sink
                })
                .collect()
        });
        let mut sink = Sink {
            entities: Vec::with_capacity(items.len()),
            ..Sink::default()
        };
        for chunk in chunks {
            sink.append(chunk);
        }
        sink.into_outcome()
    }

    /// Maps one raw item into `out`; a failing item adds its failure after any entities of
    /// the elements mapped before it failed.
    fn map_raw_item<'r>(
        &'r self,
        index: usize,
        item: &Value,
        parse_all: bool,
        fields: Fields,
        out: &mut Sink<'r>,
    ) {
        let Some(fan_out) = &self.fan_out else {
            if let Err(message) = self.map_one(item, parse_all, fields, out) {
                out.failures.push(ItemFailure { index, message });
            }
            return;
        };
        let elements = match fan_out.expand(item) {
            Expansion::Items(elements) => elements,
            Expansion::Skipped(message) => {
                tracing::warn!(kind = %self.kind, index, "{message}");
                return;
            }
            Expansion::Failed(message) => {
                out.failures.push(ItemFailure { index, message });
                return;
            }
        };
        for expanded in &elements {
            if let Err(message) = self.map_one(expanded, parse_all, fields, out) {
                out.failures.push(ItemFailure { index, message });
                break;
            }
        }
    }

    /// Maps one (expanded) item; `Err` when the selector fails or is not a boolean.
    fn map_one<'r>(
        &'r self,
        item: &Value,
        parse_all: bool,
        fields: Fields,
        out: &mut Sink<'r>,
    ) -> Result<(), String> {
        let input = JqInput::new(item);
        let passed = self.eval_selector(&input)?;
        if !passed {
            out.filtered += 1;
            if !parse_all {
                return Ok(());
            }
        }
        match self.mapping.map(&input, fields, &mut out.misconfigured) {
            Some(entity) if passed => out.entities.push(entity),
            Some(entity) => out.filtered_entities.push(entity),
            None if passed => out.skipped += 1,
            None => {}
        }
        Ok(())
    }

    fn eval_selector(&self, input: &JqInput<'_>) -> Result<bool, String> {
        let program = self.selector.as_ref().map_err(ToString::to_string)?;
        match program.first_on(input).map_err(|e| e.to_string())? {
            Some(Value::Bool(b)) => Ok(b),
            other => {
                let value = other.unwrap_or(Value::Null);
                Err(format!(
                    "Expected boolean value for pattern '{}', got value:{} of type: {} instead",
                    self.selector_source,
                    value,
                    json_type_name(&value)
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests;
