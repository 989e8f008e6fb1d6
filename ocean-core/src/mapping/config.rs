//! The port-app-config ("resource mapping") model: which kinds to sync and how each raw item
//! becomes a Port entity.
//!
//! Parsed from YAML or JSON with Ocean's rules: camelCase keys (snake_case accepted), unknown
//! top-level keys ignored, only the mapping keys present in the document evaluated and emitted.
//! Errors name the offending field, e.g. `resources[2].port.entity.mappings.identifier: missing`.

use super::jq::{JqEngine, JqError};
use serde_json::{Map, Value};

/// Why a port-app-config was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The document is neither valid YAML nor valid JSON.
    #[error("port-app-config is not valid YAML or JSON: {0}")]
    Syntax(String),
    /// A field is missing or has the wrong type or value.
    #[error("{path}: {message}")]
    Field {
        /// The field, e.g. `resources[0].selector.query`.
        path: String,
        /// What was expected and what came.
        message: String,
    },
    /// A jq expression does not compile.
    #[error("{path}: invalid jq expression `{expr}`: {message}")]
    InvalidJq {
        /// The field holding the expression.
        path: String,
        /// The expression.
        expr: String,
        /// The parse or compile error.
        message: String,
    },
}

/// A jq expression of a config that does not compile. At run time that field is `null` on
/// every item (a misconfiguration), as in Ocean; strict checks reject the config instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: invalid jq expression `{expr}`: {message}")]
pub struct FieldCompileError {
    /// The field, e.g. `resources[0].port.entity.mappings.properties.status`.
    pub path: String,
    /// The expression as written.
    pub expr: String,
    /// Why it does not compile (syntax error, unknown function or arity, ...).
    pub message: String,
}

impl From<FieldCompileError> for ConfigError {
    fn from(e: FieldCompileError) -> Self {
        Self::InvalidJq {
            path: e.path,
            expr: e.expr,
            message: e.message,
        }
    }
}

/// The whole resource mapping of an integration.
#[derive(Debug, Clone, PartialEq)]
pub struct PortAppConfig {
    /// Sent as the upsert `merge` parameter (default true).
    pub enable_merge_entity: bool,
    /// Sent as `delete_dependents` on deletes (default true).
    pub delete_dependent_entities: bool,
    /// Sent as `create_missing_related_entities` on upserts (default true).
    pub create_missing_related_entities: bool,
    /// Largest fraction of owned entities a reconciliation may delete (0..=1, default 0.9).
    pub entity_deletion_threshold: f64,
    /// The resources, in order (the order is part of each kind's identity).
    pub resources: Vec<ResourceConfig>,
}

impl Default for PortAppConfig {
    fn default() -> Self {
        Self {
            enable_merge_entity: true,
            delete_dependent_entities: true,
            create_missing_related_entities: true,
            entity_deletion_threshold: 0.9,
            resources: Vec::new(),
        }
    }
}

/// One resource: a kind, a selector, and how its items map to entities.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceConfig {
    /// The kind (not jq); must match a resync handler of the integration.
    pub kind: String,
    /// Which items to keep, plus integration-specific settings.
    pub selector: Selector,
    /// How items become entities.
    pub port: PortResourceConfig,
}

/// The selector of a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// jq that must yield a boolean for each item.
    pub query: String,
    /// Integration-specific keys (`jql`, `includeMembers`, ...), as written.
    pub extra: Map<String, Value>,
}

impl Selector {
    /// The integration-specific keys read as the integration's own type.
    pub fn extra_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConfigError> {
        serde_json::from_value(Value::Object(self.extra.clone())).map_err(|e| ConfigError::Field {
            path: "selector".into(),
            message: e.to_string(),
        })
    }
}

/// The `port` section of a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct PortResourceConfig {
    /// jq yielding a list to fan each item out into (one entity per element).
    pub items_to_parse: Option<String>,
    /// The key each element is stored under in the copy of its parent (default `item`).
    pub items_to_parse_name: String,
    /// Whether the extracted list is removed from the parent copies (default true).
    pub items_to_parse_top_level_transform: bool,
    /// The entity mapping.
    pub entity: EntityConfig,
}

/// `port.entity`.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityConfig {
    /// The mapping of one item to one entity.
    pub mappings: EntityMapping,
}

/// A jq expression, or a search query whose leaves are jq (resolved by Port server side).
#[derive(Debug, Clone, PartialEq)]
pub enum MappingValue {
    /// A jq expression.
    Jq(String),
    /// `{combinator, rules}` with jq leaves.
    Search(SearchQueryMapping),
}

/// A search query in a mapping: `{combinator, rules}` whose leaves are jq.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQueryMapping {
    /// jq yielding `"and"` or `"or"`.
    pub combinator: String,
    /// The rules and nested queries.
    pub rules: Vec<SearchRuleMapping>,
}

/// One rule of a search query mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchRuleMapping {
    /// `{property, operator, value}`, each jq.
    Rule {
        /// jq yielding the property, e.g. `'"$identifier"'`.
        property: String,
        /// jq yielding the operator, e.g. `'"="'`.
        operator: String,
        /// jq yielding the value.
        value: String,
    },
    /// A nested query.
    Query(SearchQueryMapping),
}

/// The mapping of one item to one entity. Absent optional fields are neither evaluated nor
/// emitted.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityMapping {
    /// The entity identifier.
    pub identifier: MappingValue,
    /// jq yielding the blueprint identifier.
    pub blueprint: String,
    /// jq yielding the title.
    pub title: Option<String>,
    /// jq yielding the icon.
    pub icon: Option<String>,
    /// jq or search query yielding the team(s).
    pub team: Option<MappingValue>,
    /// Property name to jq, in order.
    pub properties: Option<Vec<(String, String)>>,
    /// Relation name to jq or search query, in order.
    pub relations: Option<Vec<(String, MappingValue)>>,
}

/// Looks up `camel` or its snake_case twin.
fn get<'a>(map: &'a Map<String, Value>, camel: &str) -> Option<&'a Value> {
    map.get(camel).or_else(|| map.get(&to_snake(camel)))
}

fn to_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn field_err(path: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn describe(v: &Value) -> String {
    let text = v.to_string();
    let short: String = text.chars().take(60).collect();
    format!("{} {short}", super::jq::value::json_type_name(v))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ConfigError> {
    v.as_object()
        .ok_or_else(|| field_err(path, format!("expected an object, got {}", describe(v))))
}

/// A jq leaf: a string; numbers and booleans are taken as their jq literal.
fn jq_leaf(v: &Value, path: &str) -> Result<String, ConfigError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(field_err(
            path,
            format!("expected a jq expression (string), got {}", describe(other)),
        )),
    }
}

fn required<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Value, ConfigError> {
    match get(map, key) {
        Some(Value::Null) | None => Err(field_err(&join(path, key), "missing")),
        Some(v) => Ok(v),
    }
}

fn optional<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    get(map, key).filter(|v| !v.is_null())
}

fn bool_field(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
    default: bool,
) -> Result<bool, ConfigError> {
    match optional(map, key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(field_err(
            &join(path, key),
            format!("expected a boolean, got {}", describe(other)),
        )),
    }
}

/// Deepest bracket nesting [`PortAppConfig::parse`] hands to the YAML parser.
const MAX_TEXT_NESTING: usize = 1000;

impl PortAppConfig {
    /// Parses a YAML or JSON document.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        // The YAML parser takes time quadratic in the nesting of flow collections (100000 `[`
        // take minutes) before its own limit of 128 levels refuses them: refuse far deeper
        // texts first. Brackets are counted naively (inside strings too), hence the margin.
        let mut depth = 0usize;
        for c in text.bytes() {
            match c {
                b'[' | b'{' => depth += 1,
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > MAX_TEXT_NESTING {
                return Err(ConfigError::Syntax(format!(
                    "brackets nested more than {MAX_TEXT_NESTING} deep"
                )));
            }
        }
        let trimmed = text.trim_start();
        let value: Value = if trimmed.starts_with('{') {
            serde_json::from_str(text)
                .or_else(|_| serde_norway::from_str(text))
                .map_err(|e: serde_norway::Error| ConfigError::Syntax(e.to_string()))?
        } else {
            serde_norway::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?
        };
        Self::from_value(&value)
    }

    /// Reads the config from its JSON form (as stored on the integration in Port).
    pub fn from_value(value: &Value) -> Result<Self, ConfigError> {
        let map = as_object(value, "(root)")?;
        let defaults = Self::default();
        let threshold = match optional(map, "entityDeletionThreshold") {
            None => defaults.entity_deletion_threshold,
            Some(v) => {
                let t = v.as_f64().ok_or_else(|| {
                    field_err(
                        "entityDeletionThreshold",
                        format!("expected a number, got {}", describe(v)),
                    )
                })?;
                if !(0.0..=1.0).contains(&t) {
                    return Err(field_err(
                        "entityDeletionThreshold",
                        format!("expected a number between 0 and 1, got {t}"),
                    ));
                }
                t
            }
        };
        let resources = match optional(map, "resources") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, r)| ResourceConfig::from_value(r, &format!("resources[{i}]")))
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(field_err(
                    "resources",
                    format!("expected a list, got {}", describe(other)),
                ));
            }
        };
        Ok(Self {
            enable_merge_entity: bool_field(
                map,
                "enableMergeEntity",
                "",
                defaults.enable_merge_entity,
            )?,
            delete_dependent_entities: bool_field(
                map,
                "deleteDependentEntities",
                "",
                defaults.delete_dependent_entities,
            )?,
            create_missing_related_entities: bool_field(
                map,
                "createMissingRelatedEntities",
                "",
                defaults.create_missing_related_entities,
            )?,
            entity_deletion_threshold: threshold,
            resources,
        })
    }

    /// The resources of a kind, in config order, with their index.
    pub fn resources_of_kind<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (usize, &'a ResourceConfig)> + 'a {
        self.resources
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.kind == kind)
    }

    /// Compiles every jq expression and reports the first that does not compile, with its
    /// field path.
    pub fn validate_jq(&self, engine: &JqEngine) -> Result<(), ConfigError> {
        match self.compile_errors(engine).into_iter().next() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Every jq expression that does not compile, in config order, with its field path
    /// (`resources[0].port.entity.mappings.properties.status`). Empty when all compile.
    pub fn compile_errors(&self, engine: &JqEngine) -> Vec<FieldCompileError> {
        self.resources
            .iter()
            .enumerate()
            .flat_map(|(i, resource)| resource.compile_errors(engine, &format!("resources[{i}]")))
            .collect()
    }

    /// The JSON body used when writing the config to Port: the four flags and the resources,
    /// camelCase, with only the mapping keys that were set.
    pub fn to_request(&self) -> Value {
        let mut out = Map::new();
        out.insert(
            "deleteDependentEntities".into(),
            self.delete_dependent_entities.into(),
        );
        out.insert(
            "createMissingRelatedEntities".into(),
            self.create_missing_related_entities.into(),
        );
        out.insert("enableMergeEntity".into(), self.enable_merge_entity.into());
        out.insert(
            "entityDeletionThreshold".into(),
            self.entity_deletion_threshold.into(),
        );
        out.insert(
            "resources".into(),
            Value::Array(
                self.resources
                    .iter()
                    .map(ResourceConfig::to_value)
                    .collect(),
            ),
        );
        Value::Object(out)
    }

    /// The query parameters Port upserts and deletes take from this config.
    pub fn port_request_options(&self) -> Value {
        serde_json::json!({
            "merge": self.enable_merge_entity,
            "create_missing_related_entities": self.create_missing_related_entities,
            "delete_dependent_entities": self.delete_dependent_entities,
            "validation_only": false,
        })
    }
}

impl ResourceConfig {
    /// Reads one resource; `path` prefixes error paths (e.g. `resources[2]`).
    pub fn from_value(value: &Value, path: &str) -> Result<Self, ConfigError> {
        let map = as_object(value, path)?;
        let kind = match required(map, "kind", path)? {
            Value::String(s) => s.clone(),
            other => {
                return Err(field_err(
                    &join(path, "kind"),
                    format!("expected a string, got {}", describe(other)),
                ));
            }
        };
        let selector_path = join(path, "selector");
        let selector_map = as_object(required(map, "selector", path)?, &selector_path)?;
        let query = jq_leaf(
            required(selector_map, "query", &selector_path)?,
            &join(&selector_path, "query"),
        )?;
        let extra = selector_map
            .iter()
            .filter(|(k, _)| k.as_str() != "query")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();

        let port_path = join(path, "port");
        let port = as_object(required(map, "port", path)?, &port_path)?;
        let items_to_parse = optional(port, "itemsToParse")
            .map(|v| jq_leaf(v, &join(&port_path, "itemsToParse")))
            .transpose()?;
        let items_to_parse_name = match optional(port, "itemsToParseName") {
            None => "item".to_owned(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => {
                return Err(field_err(
                    &join(&port_path, "itemsToParseName"),
                    format!("expected a non-empty string, got {}", describe(other)),
                ));
            }
        };
        let top_level = bool_field(port, "itemsToParseTopLevelTransform", &port_path, true)?;
        let entity_path = join(&port_path, "entity");
        let entity = as_object(required(port, "entity", &port_path)?, &entity_path)?;
        let mappings_path = join(&entity_path, "mappings");
        let mappings_value = required(entity, "mappings", &entity_path)?;
        // The lakehouse wire format wraps the mapping in a one-element list.
        let mappings_value = match mappings_value {
            Value::Array(items) if items.len() == 1 => &items[0],
            other => other,
        };
        let mappings = EntityMapping::from_value(mappings_value, &mappings_path)?;
        Ok(Self {
            kind,
            selector: Selector { query, extra },
            port: PortResourceConfig {
                items_to_parse,
                items_to_parse_name,
                items_to_parse_top_level_transform: top_level,
                entity: EntityConfig { mappings },
            },
        })
    }

    /// Compiles every jq expression of the resource and reports the first that does not
    /// compile; `path` prefixes the field path (e.g. `resources[2]`).
    pub fn validate_jq(&self, engine: &JqEngine, path: &str) -> Result<(), ConfigError> {
        match self.compile_errors(engine, path).into_iter().next() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Every jq expression of the resource that does not compile, in field order; `path`
    /// prefixes the field paths (e.g. `resources[2]`; empty for paths relative to the
    /// resource).
    pub fn compile_errors(&self, engine: &JqEngine, path: &str) -> Vec<FieldCompileError> {
        self.jq_fields()
            .into_iter()
            .filter_map(|(field, expr)| match engine.compile(&expr) {
                Err(JqError::Compile { message, .. }) => Some(FieldCompileError {
                    path: join(path, &field),
                    expr,
                    message,
                }),
                _ => None,
            })
            .collect()
    }

    /// Every jq expression of the resource with its field path relative to the resource.
    pub fn jq_fields(&self) -> Vec<(String, String)> {
        let mut out = vec![("selector.query".to_owned(), self.selector.query.clone())];
        if let Some(expr) = &self.port.items_to_parse {
            out.push(("port.itemsToParse".into(), expr.clone()));
        }
        let m = &self.port.entity.mappings;
        let prefix = "port.entity.mappings";
        m.identifier
            .collect_jq(&format!("{prefix}.identifier"), &mut out);
        out.push((format!("{prefix}.blueprint"), m.blueprint.clone()));
        if let Some(t) = &m.title {
            out.push((format!("{prefix}.title"), t.clone()));
        }
        if let Some(t) = &m.icon {
            out.push((format!("{prefix}.icon"), t.clone()));
        }
        if let Some(t) = &m.team {
            t.collect_jq(&format!("{prefix}.team"), &mut out);
        }
        for (name, expr) in m.properties.iter().flatten() {
            out.push((format!("{prefix}.properties.{name}"), expr.clone()));
        }
        for (name, value) in m.relations.iter().flatten() {
            value.collect_jq(&format!("{prefix}.relations.{name}"), &mut out);
        }
        out
    }

    fn to_value(&self) -> Value {
        let mut selector = Map::new();
        selector.insert("query".into(), self.selector.query.clone().into());
        selector.extend(self.selector.extra.clone());
        let mut port = Map::new();
        if let Some(expr) = &self.port.items_to_parse {
            port.insert("itemsToParse".into(), expr.clone().into());
        }
        if self.port.items_to_parse_name != "item" {
            port.insert(
                "itemsToParseName".into(),
                self.port.items_to_parse_name.clone().into(),
            );
        }
        if !self.port.items_to_parse_top_level_transform {
            port.insert("itemsToParseTopLevelTransform".into(), false.into());
        }
        port.insert(
            "entity".into(),
            serde_json::json!({"mappings": self.port.entity.mappings.to_value()}),
        );
        serde_json::json!({"kind": self.kind, "selector": selector, "port": port})
    }
}

impl MappingValue {
    fn from_value(v: &Value, path: &str) -> Result<Self, ConfigError> {
        match v {
            Value::Object(_) => SearchQueryMapping::from_value(v, path).map(Self::Search),
            other => jq_leaf(other, path).map(Self::Jq),
        }
    }

    fn collect_jq(&self, path: &str, out: &mut Vec<(String, String)>) {
        match self {
            Self::Jq(expr) => out.push((path.to_owned(), expr.clone())),
            Self::Search(q) => q.collect_jq(path, out),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Self::Jq(expr) => expr.clone().into(),
            Self::Search(q) => q.to_value(),
        }
    }
}

impl SearchQueryMapping {
    fn from_value(v: &Value, path: &str) -> Result<Self, ConfigError> {
        let map = as_object(v, path)?;
        let combinator = jq_leaf(
            required(map, "combinator", path)?,
            &join(path, "combinator"),
        )?;
        let rules_path = join(path, "rules");
        let rules = match required(map, "rules", path)? {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let rule_path = format!("{rules_path}[{i}]");
                    let rule = as_object(r, &rule_path)?;
                    if get(rule, "combinator").is_some() {
                        return Self::from_value(r, &rule_path).map(SearchRuleMapping::Query);
                    }
                    Ok(SearchRuleMapping::Rule {
                        property: jq_leaf(
                            required(rule, "property", &rule_path)?,
                            &join(&rule_path, "property"),
                        )?,
                        operator: jq_leaf(
                            required(rule, "operator", &rule_path)?,
                            &join(&rule_path, "operator"),
                        )?,
                        value: jq_leaf(
                            required(rule, "value", &rule_path)?,
                            &join(&rule_path, "value"),
                        )?,
                    })
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(field_err(
                    &rules_path,
                    format!("expected a list, got {}", describe(other)),
                ));
            }
        };
        Ok(Self { combinator, rules })
    }

    fn collect_jq(&self, path: &str, out: &mut Vec<(String, String)>) {
        out.push((format!("{path}.combinator"), self.combinator.clone()));
        for (i, rule) in self.rules.iter().enumerate() {
            let rule_path = format!("{path}.rules[{i}]");
            match rule {
                SearchRuleMapping::Rule {
                    property,
                    operator,
                    value,
                } => {
                    out.push((format!("{rule_path}.property"), property.clone()));
                    out.push((format!("{rule_path}.operator"), operator.clone()));
                    out.push((format!("{rule_path}.value"), value.clone()));
                }
                SearchRuleMapping::Query(q) => q.collect_jq(&rule_path, out),
            }
        }
    }

    fn to_value(&self) -> Value {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| match r {
                SearchRuleMapping::Rule {
                    property,
                    operator,
                    value,
                } => {
                    serde_json::json!({"property": property, "operator": operator, "value": value})
                }
                SearchRuleMapping::Query(q) => q.to_value(),
            })
            .collect();
        serde_json::json!({"combinator": self.combinator, "rules": rules})
    }
}

impl EntityMapping {
    fn from_value(v: &Value, path: &str) -> Result<Self, ConfigError> {
        let map = as_object(v, path)?;
        let identifier = MappingValue::from_value(
            required(map, "identifier", path)?,
            &join(path, "identifier"),
        )?;
        let blueprint = jq_leaf(required(map, "blueprint", path)?, &join(path, "blueprint"))?;
        let title = optional(map, "title")
            .map(|t| jq_leaf(t, &join(path, "title")))
            .transpose()?;
        let icon = optional(map, "icon")
            .map(|t| jq_leaf(t, &join(path, "icon")))
            .transpose()?;
        let team = optional(map, "team")
            .map(|t| MappingValue::from_value(t, &join(path, "team")))
            .transpose()?;
        let properties = match get(map, "properties") {
            None => None,
            Some(Value::Null) => Some(Vec::new()),
            Some(p) => {
                let p_path = join(path, "properties");
                let obj = as_object(p, &p_path)?;
                Some(
                    obj.iter()
                        .map(|(k, v)| Ok((k.clone(), jq_leaf(v, &join(&p_path, k))?)))
                        .collect::<Result<_, ConfigError>>()?,
                )
            }
        };
        let relations = match get(map, "relations") {
            None => None,
            Some(Value::Null) => Some(Vec::new()),
            Some(r) => {
                let r_path = join(path, "relations");
                let obj = as_object(r, &r_path)?;
                Some(
                    obj.iter()
                        .map(|(k, v)| {
                            Ok((k.clone(), MappingValue::from_value(v, &join(&r_path, k))?))
                        })
                        .collect::<Result<_, ConfigError>>()?,
                )
            }
        };
        Ok(Self {
            identifier,
            blueprint,
            title,
            icon,
            team,
            properties,
            relations,
        })
    }

    fn to_value(&self) -> Value {
        let mut out = Map::new();
        out.insert("identifier".into(), self.identifier.to_value());
        if let Some(t) = &self.title {
            out.insert("title".into(), t.clone().into());
        }
        out.insert("blueprint".into(), self.blueprint.clone().into());
        if let Some(t) = &self.icon {
            out.insert("icon".into(), t.clone().into());
        }
        if let Some(t) = &self.team {
            out.insert("team".into(), t.to_value());
        }
        if let Some(props) = &self.properties {
            let m: Map<String, Value> = props
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect();
            out.insert("properties".into(), Value::Object(m));
        }
        if let Some(rels) = &self.relations {
            let m: Map<String, Value> = rels
                .iter()
                .map(|(k, v)| (k.clone(), v.to_value()))
                .collect();
            out.insert("relations".into(), Value::Object(m));
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const JIRA: &str = r#"
createMissingRelatedEntities: true
deleteDependentEntities: true
resources:
  - kind: issue
    selector:
      query: "true"
      jql: "(statusCategory != Done)"
    port:
      entity:
        mappings:
          identifier: .key
          title: .fields.summary
          blueprint: '"jiraIssue"'
          properties:
            status: .fields.status.name
          relations:
            project: .fields.project.key
"#;

    #[test]
    fn parses_yaml_with_defaults_and_selector_extras() {
        let c = PortAppConfig::parse(JIRA).unwrap();
        assert!(c.enable_merge_entity);
        assert_eq!(c.entity_deletion_threshold, 0.9);
        let r = &c.resources[0];
        assert_eq!(r.kind, "issue");
        assert_eq!(r.selector.query, "true");
        assert_eq!(r.selector.extra["jql"], json!("(statusCategory != Done)"));
        assert_eq!(r.port.items_to_parse_name, "item");
        assert!(r.port.items_to_parse_top_level_transform);
        let m = &r.port.entity.mappings;
        assert_eq!(m.identifier, MappingValue::Jq(".key".into()));
        assert_eq!(m.icon, None);
        assert_eq!(
            m.properties.as_ref().unwrap()[0],
            ("status".into(), ".fields.status.name".into())
        );
    }

    #[test]
    fn selector_extras_are_typed_on_demand() {
        #[derive(serde::Deserialize)]
        struct IssueSelector {
            jql: String,
        }
        let c = PortAppConfig::parse(JIRA).unwrap();
        let s: IssueSelector = c.resources[0].selector.extra_as().unwrap();
        assert_eq!(s.jql, "(statusCategory != Done)");
    }

    #[test]
    fn accepts_snake_case_and_ignores_unknown_top_level_keys() {
        let c = PortAppConfig::from_value(&json!({
            "enable_merge_entity": false, "entity_deletion_threshold": 0.1, "somethingElse": 1,
            "resources": []
        }))
        .unwrap();
        assert!(!c.enable_merge_entity);
        assert_eq!(c.entity_deletion_threshold, 0.1);
    }

    #[test]
    fn rejects_threshold_out_of_range() {
        let err = PortAppConfig::from_value(&json!({"entityDeletionThreshold": 1.5})).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("entityDeletionThreshold: expected a number between 0 and 1"),
            "{err}"
        );
    }

    #[test]
    fn missing_identifier_names_its_path() {
        let mut v: Value = serde_norway::from_str(JIRA).unwrap();
        v["resources"][0]["port"]["entity"]["mappings"]
            .as_object_mut()
            .unwrap()
            .remove("identifier");
        let err = PortAppConfig::from_value(&v).unwrap_err();
        assert_eq!(
            err.to_string(),
            "resources[0].port.entity.mappings.identifier: missing"
        );
    }

    #[test]
    fn missing_selector_query_is_an_error() {
        let err = PortAppConfig::from_value(&json!({"resources": [
            {"kind": "x", "selector": {}, "port": {"entity": {"mappings": {"identifier": ".a", "blueprint": "\"b\""}}}}
        ]}))
        .unwrap_err();
        assert_eq!(err.to_string(), "resources[0].selector.query: missing");
    }

    #[test]
    fn invalid_jq_is_reported_with_path_and_expression() {
        let c =
            PortAppConfig::parse(&JIRA.replace(".fields.status.name", ".fields.status.")).unwrap();
        let err = c.validate_jq(&JqEngine::default()).unwrap_err();
        match err {
            ConfigError::InvalidJq { path, expr, .. } => {
                assert_eq!(path, "resources[0].port.entity.mappings.properties.status");
                assert_eq!(expr, ".fields.status.");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn compile_errors_lists_every_broken_expression_with_its_path() {
        let c = PortAppConfig::from_value(&json!({"resources": [
            {"kind": "a", "selector": {"query": "true"}, "port": {"entity": {"mappings": {
                "identifier": ".id", "blueprint": "\"b\"",
                "properties": {"ok": ".ok", "status": ".status | nosuchfn", "n": "ltrimstr"}}}}},
            {"kind": "b", "selector": {"query": ".x =="}, "port": {
                "itemsToParse": "[.xs[]", "entity": {"mappings": {
                "identifier": {"combinator": "\"and\"", "rules": [
                    {"property": "\"$title\"", "operator": "\"=\"", "value": "{"}]},
                "blueprint": "service"}}}}
        ]}))
        .unwrap();
        let errors = c.compile_errors(&JqEngine::default());
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "resources[0].port.entity.mappings.properties.status",
                "resources[0].port.entity.mappings.properties.n",
                "resources[1].selector.query",
                "resources[1].port.itemsToParse",
                "resources[1].port.entity.mappings.identifier.rules[0].value",
                "resources[1].port.entity.mappings.blueprint",
            ]
        );
        assert_eq!(errors[0].expr, ".status | nosuchfn");
        assert!(
            errors[0].message.contains("nosuchfn"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[0]
                .to_string()
                .starts_with("resources[0].port.entity.mappings.properties.status: invalid jq expression `.status | nosuchfn`: "),
            "{}",
            errors[0]
        );
        assert!(
            PortAppConfig::parse(JIRA)
                .unwrap()
                .compile_errors(&JqEngine::default())
                .is_empty()
        );
    }

    #[test]
    fn search_query_mappings_parse_and_round_trip() {
        let c = PortAppConfig::from_value(&json!({"resources": [{
            "kind": "x", "selector": {"query": "true"},
            "port": {"entity": {"mappings": {
                "identifier": {"combinator": "\"and\"", "rules": [{"property": "\"$title\"", "operator": "\"=\"", "value": ".name"}]},
                "blueprint": "\"b\"", "properties": {}
            }}}
        }]}))
        .unwrap();
        let req = c.to_request();
        assert_eq!(
            req["resources"][0]["port"]["entity"]["mappings"]["identifier"]["rules"][0]["value"],
            json!(".name")
        );
        assert_eq!(
            req["resources"][0]["port"]["entity"]["mappings"]["properties"],
            json!({})
        );
        assert_eq!(req["enableMergeEntity"], json!(true));
        assert_eq!(PortAppConfig::from_value(&req).unwrap(), c);
    }

    #[test]
    fn invalid_yaml_is_a_syntax_error() {
        assert!(matches!(
            PortAppConfig::parse("resources: [\n  - kind: x\n"),
            Err(ConfigError::Syntax(_))
        ));
    }
}
