//! Mapping raw items to Port entities with a compiled resource.
//!
//! Each expression's first output is taken; an error or no output gives `null` and records a
//! misconfiguration of that field (`identifier`, `properties.url`, `identifier.rules.value`, ...).
//! The selector must yield a boolean, else the item fails. An entity is produced only when its
//! identifier and blueprint are truthy, with only the keys its mapping has.
//!
//! Each item is converted for jq once and every expression runs on that one conversion. Each
//! expression is evaluated on its own and the entity assembled here, which is about twice as
//! fast in jaq as one object-building filter. Programs that read no input are evaluated once,
//! when compiled.

use super::config::{MappingValue, ResourceConfig, SearchQueryMapping, SearchRuleMapping};
use super::items_to_parse::{PathStep, delete_path, delete_target};
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
    fn eval(&self, input: &JqInput<'_>, misconfigured: &mut Vec<(String, String)>) -> Value {
        let result = match &self.program {
            Ok(program) => program.first_on(input),
            Err(e) => Err(e.clone()),
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
        misconfigured.push((self.path.clone(), self.source.clone()));
        Value::Null
    }
}

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

    fn eval(&self, input: &JqInput<'_>, misconfigured: &mut Vec<(String, String)>) -> Value {
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

    fn eval(&self, input: &JqInput<'_>, misconfigured: &mut Vec<(String, String)>) -> Value {
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

    /// Maps one converted item: the entity when identifier and blueprint are truthy.
    fn map(
        &self,
        input: &JqInput<'_>,
        misconfigured: &mut Vec<(String, String)>,
    ) -> Option<Entity> {
        let identifier = self.identifier.eval(input, misconfigured);
        let blueprint = self.blueprint.eval(input, misconfigured);
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

/// How `itemsToParse` fans items out.
#[derive(Debug, Clone)]
struct FanOut {
    program: Result<JqProgram, JqError>,
    source: String,
    name: String,
    /// The path removed from parent copies; `None` keeps the parent whole.
    delete: Option<Vec<PathStep>>,
}

/// A resource with its selector, `itemsToParse` and mapping compiled; shareable across threads.
#[derive(Debug, Clone)]
pub struct CompiledResource {
    kind: String,
    selector_source: String,
    selector: Result<JqProgram, JqError>,
    fan_out: Option<FanOut>,
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
    fn absorb(&mut self, item: ItemOutcome) {
        for (entity, passed) in item.entities {
            if passed {
                self.entities.push(entity);
            } else {
                self.filtered_out.entities.push(entity);
            }
        }
        self.filtered_out.count += item.filtered;
        self.skipped += item.skipped;
        for (path, expr) in item.misconfigured {
            self.misconfigurations.insert(path, expr);
        }
        self.failures.extend(item.failure);
    }

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

#[derive(Default)]
struct ItemOutcome {
    entities: Vec<(Entity, bool)>,
    filtered: usize,
    skipped: usize,
    misconfigured: Vec<(String, String)>,
    failure: Option<ItemFailure>,
}

/// Items mapped per rayon task: large enough to amortise scheduling.
const PARALLEL_MIN_CHUNK: usize = 32;

impl CompiledResource {
    /// Compiles the resource's selector, `itemsToParse` and mapping with `engine`.
    pub fn new(resource: &ResourceConfig, engine: &JqEngine) -> Self {
        let fan_out = resource.port.items_to_parse.as_ref().map(|expr| FanOut {
            program: engine.compile(expr),
            source: expr.clone(),
            name: resource.port.items_to_parse_name.clone(),
            delete: if resource.port.items_to_parse_top_level_transform {
                delete_target(expr)
            } else {
                None
            },
        });
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

    /// Maps a batch on the calling thread. With `parse_all` (live events), items that fail the
    /// selector are mapped too and reported in [`FilteredOut::entities`].
    pub fn map_batch(&self, items: &[Value], parse_all: bool) -> MappingOutcome {
        let mut outcome = MappingOutcome::default();
        for (index, item) in items.iter().enumerate() {
            outcome.absorb(self.map_raw_item(index, item, parse_all));
        }
        outcome
    }

    /// Maps a batch across the mapping thread pool, keeping input order.
    pub fn map_batch_parallel(&self, items: &[Value], parse_all: bool) -> MappingOutcome {
        let Some(pool) = mapping_pool() else {
            return self.map_batch(items, parse_all);
        };
        let results: Vec<ItemOutcome> = pool.install(|| {
            items
                .par_iter()
                .enumerate()
                .with_min_len(PARALLEL_MIN_CHUNK)
                .map(|(index, item)| self.map_raw_item(index, item, parse_all))
                .collect()
        });
        let mut outcome = MappingOutcome::default();
        for item in results {
            outcome.absorb(item);
        }
        outcome
    }

    fn map_raw_item(&self, index: usize, item: &Value, parse_all: bool) -> ItemOutcome {
        let mut out = ItemOutcome::default();
        let Some(fan_out) = &self.fan_out else {
            self.map_one(index, item, parse_all, &mut out);
            return out;
        };
        let list = match &fan_out.program {
            Ok(program) => program.first(item),
            Err(e) => Err(e.clone()),
        };
        let elements = match list {
            Ok(Some(Value::Array(elements))) => elements,
            Ok(None | Some(Value::Null)) => {
                tracing::warn!(
                    kind = %self.kind,
                    "Failed to parse items for JQ expression {}, Expected list but got null",
                    fan_out.source
                );
                return out;
            }
            Ok(Some(other)) => {
                out.failure = Some(ItemFailure {
                    index,
                    message: format!(
                        "itemsToParse `{}` must yield a list, got {}",
                        fan_out.source,
                        json_type_name(&other)
                    ),
                });
                return out;
            }
            Err(e) => {
                out.failure = Some(ItemFailure {
                    index,
                    message: format!("itemsToParse failed: {e}"),
                });
                return out;
            }
        };
        let mut parent = item.clone();
        if let Some(path) = &fan_out.delete {
            delete_path(&mut parent, path);
        }
        let Value::Object(parent) = parent else {
            out.failure = Some(ItemFailure {
                index,
                message: format!(
                    "itemsToParse needs an object item to add `{}` to, got {}",
                    fan_out.name,
                    json_type_name(item)
                ),
            });
            return out;
        };
        for element in elements {
            let mut expanded = parent.clone();
            expanded.insert(fan_out.name.clone(), element);
            self.map_one(index, &Value::Object(expanded), parse_all, &mut out);
            if out.failure.is_some() {
                break;
            }
        }
        out
    }

    fn map_one(&self, index: usize, item: &Value, parse_all: bool, out: &mut ItemOutcome) {
        let input = JqInput::new(item);
        let passed = match self.eval_selector(&input) {
            Ok(passed) => passed,
            Err(message) => {
                out.failure = Some(ItemFailure { index, message });
                return;
            }
        };
        if !passed {
            out.filtered += 1;
            if !parse_all {
                return;
            }
        }
        match self.mapping.map(&input, &mut out.misconfigured) {
            Some(entity) => out.entities.push((entity, passed)),
            None if passed => out.skipped += 1,
            None => {}
        }
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
