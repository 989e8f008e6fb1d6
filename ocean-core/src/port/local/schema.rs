//! Blueprint schemas: checking a blueprint definition and checking entity values against it.

use super::clock::parse_time;
use super::error::{ApiError, describe};
use crate::port::types::{Blueprint, RelationSchema};
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

/// The string formats Port knows for `type: string` (and array items).
const STRING_FORMATS: &[&str] = &[
    "date-time",
    "timer",
    "url",
    "email",
    "user",
    "team",
    "markdown",
    "yaml",
    "ipv4",
    "ipv6",
    "proto",
    "entity",
];

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").ok());

/// True when `id` is a valid entity identifier for Port: `^[A-Za-z0-9@_.+:\/=-]+$`, at most 1000
/// characters.
pub(crate) fn is_valid_entity_identifier(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 1000
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@_.+:/=-".contains(&b))
}

/// True when `id` is a valid blueprint (or webhook) identifier for Port: `^[A-Za-z0-9@_=-]+$`.
pub(crate) fn is_valid_blueprint_identifier(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@_=-".contains(&b))
}

/// The JSON type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PropertyType {
    String,
    Number,
    Boolean,
    Object,
    Array,
}

impl PropertyType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            "object" => Self::Object,
            "array" => Self::Array,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Self::String, Value::String(_))
                | (Self::Number, Value::Number(_))
                | (Self::Boolean, Value::Bool(_))
                | (Self::Object, Value::Object(_))
                | (Self::Array, Value::Array(_))
        )
    }
}

/// A checked property schema, ready to validate values quickly.
#[derive(Debug, Clone)]
struct PropertySchema {
    kind: PropertyType,
    format: Option<String>,
    enumeration: Option<Vec<Value>>,
    pattern: Option<Regex>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    items: Option<Box<PropertySchema>>,
}

impl PropertySchema {
    /// Checks a property definition of a blueprint; `path` names it in errors.
    fn compile(path: &str, def: &Value) -> Result<Self, ApiError> {
        let obj = def.as_object().ok_or_else(|| {
            ApiError::invalid(format!(
                "{path}: expected a property definition object, got {}",
                describe(def)
            ))
        })?;
        let type_name = obj.get("type").and_then(Value::as_str).ok_or_else(|| {
            ApiError::invalid(format!(
                "{path}: expected \"type\" to be one of string, number, boolean, object, array"
            ))
        })?;
        let kind = PropertyType::parse(type_name).ok_or_else(|| {
            ApiError::invalid(format!(
                "{path}: unknown type \"{type_name}\" (expected string, number, boolean, object or array)"
            ))
        })?;
        let format = match obj.get("format") {
            None | Some(Value::Null) => None,
            Some(Value::String(f)) if STRING_FORMATS.contains(&f.as_str()) => {
                if kind != PropertyType::String {
                    return Err(ApiError::invalid(format!(
                        "{path}: format \"{f}\" applies to strings, the type is {}",
                        kind.name()
                    )));
                }
                Some(f.clone())
            }
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "{path}: unknown format {} (expected one of {})",
                    describe(other),
                    STRING_FORMATS.join(", ")
                )));
            }
        };
        let enumeration = match obj.get("enum") {
            None | Some(Value::Null) => None,
            Some(Value::Array(values)) if !values.is_empty() => {
                if let Some(bad) = values.iter().find(|v| !v.is_null() && !kind.accepts(v)) {
                    return Err(ApiError::invalid(format!(
                        "{path}: enum value {} is not of type {}",
                        describe(bad),
                        kind.name()
                    )));
                }
                Some(values.clone())
            }
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "{path}: expected \"enum\" to be a non-empty array, got {}",
                    describe(other)
                )));
            }
        };
        let pattern = match obj.get("pattern") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(Regex::new(p).map_err(|e| {
                ApiError::invalid(format!("{path}: pattern is not a valid regex: {e}"))
            })?),
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "{path}: expected \"pattern\" to be a string, got {}",
                    describe(other)
                )));
            }
        };
        let items = match (kind, obj.get("items")) {
            (PropertyType::Array, Some(items)) if !items.is_null() => Some(Box::new(
                PropertySchema::compile(&format!("{path}.items"), items)?,
            )),
            (_, Some(items)) if !items.is_null() => {
                return Err(ApiError::invalid(format!(
                    "{path}: \"items\" applies to arrays, the type is {}",
                    kind.name()
                )));
            }
            _ => None,
        };
        let number = |key: &str| -> Result<Option<f64>, ApiError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64()),
                Some(other) => Err(ApiError::invalid(format!(
                    "{path}: expected \"{key}\" to be a number, got {}",
                    describe(other)
                ))),
            }
        };
        let length = |key: &str| -> Result<Option<u64>, ApiError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "{path}: expected \"{key}\" to be a non-negative integer, got {}",
                        describe(v)
                    ))
                }),
            }
        };
        Ok(Self {
            kind,
            format,
            enumeration,
            pattern,
            min_length: length("minLength")?,
            max_length: length("maxLength")?,
            minimum: number("minimum")?,
            maximum: number("maximum")?,
            items,
        })
    }

    /// Checks one value; `name` is the property path used in the message.
    fn check(&self, name: &str, value: &Value) -> Result<(), String> {
        if !self.kind.accepts(value) {
            return Err(format!(
                "property \"{name}\" must be of type {}, got {}",
                self.kind.name(),
                describe(value)
            ));
        }
        if let Some(allowed) = &self.enumeration
            && !allowed.iter().any(|a| json_equal(a, value))
        {
            return Err(format!(
                "property \"{name}\" must be one of {}, got {}",
                Value::Array(allowed.clone()),
                describe(value)
            ));
        }
        match value {
            Value::String(s) => self.check_string(name, s)?,
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if self.minimum.is_some_and(|m| x < m) || self.maximum.is_some_and(|m| x > m) {
                    return Err(format!("property \"{name}\" is out of range: {n}"));
                }
            }
            Value::Array(values) => {
                if let Some(items) = &self.items {
                    for (i, item) in values.iter().enumerate() {
                        items.check(&format!("{name}[{i}]"), item)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn check_string(&self, name: &str, s: &str) -> Result<(), String> {
        let chars = || s.chars().count() as u64;
        if self.min_length.is_some_and(|m| chars() < m)
            || self.max_length.is_some_and(|m| chars() > m)
        {
            return Err(format!("property \"{name}\" has a length out of range"));
        }
        if let Some(p) = &self.pattern
            && !p.is_match(s)
        {
            return Err(format!(
                "property \"{name}\" must match the pattern {}, got \"{s}\"",
                p.as_str()
            ));
        }
        let Some(format) = self.format.as_deref() else {
            return Ok(());
        };
        let ok = match format {
            "date-time" | "timer" => parse_time(s).is_some(),
            "url" => url::Url::parse(s).is_ok(),
            "email" | "user" => EMAIL.as_ref().is_some_and(|r| r.is_match(s)),
            "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
            "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
            "yaml" => serde_norway::from_str::<serde_norway::Value>(s).is_ok(),
            "entity" => is_valid_entity_identifier(s),
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "property \"{name}\" must be a string of format {format}, got \"{}\"",
                s.chars().take(80).collect::<String>()
            ))
        }
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
pub(crate) fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A blueprint whose schema was checked, with the parts needed to validate entities.
#[derive(Debug, Clone)]
pub(crate) struct CompiledBlueprint {
    /// The blueprint as Port returns it (with createdAt/updatedAt in `extra`).
    pub(crate) raw: Blueprint,
    properties: BTreeMap<String, PropertySchema>,
    required: HashSet<String>,
    /// Relations by name.
    pub(crate) relations: BTreeMap<String, RelationSchema>,
}

impl CompiledBlueprint {
    /// Checks a blueprint definition. Relation targets are checked by the caller, who knows
    /// which blueprints exist.
    pub(crate) fn compile(raw: Blueprint) -> Result<Self, ApiError> {
        if !is_valid_blueprint_identifier(&raw.identifier) {
            return Err(ApiError::invalid(format!(
                "blueprint identifier \"{}\" must match ^[A-Za-z0-9@_=-]+$ (at most 100 characters)",
                raw.identifier
            )));
        }
        let mut properties = BTreeMap::new();
        for (name, def) in &raw.schema.properties {
            if !is_valid_blueprint_identifier(name) {
                return Err(ApiError::invalid(format!(
                    "property identifier \"{name}\" must match ^[A-Za-z0-9@_=-]+$"
                )));
            }
            let compiled = PropertySchema::compile(&format!("schema.properties.{name}"), def)?;
            properties.insert(name.clone(), compiled);
        }
        let mut required = HashSet::new();
        for name in &raw.schema.required {
            if !properties.contains_key(name) {
                return Err(ApiError::invalid(format!(
                    "schema.required names \"{name}\", which is not a property of the blueprint"
                )));
            }
            required.insert(name.clone());
        }
        let mut relations = BTreeMap::new();
        for (name, def) in &raw.relations {
            if !is_valid_blueprint_identifier(name) {
                return Err(ApiError::invalid(format!(
                    "relation identifier \"{name}\" must match ^[A-Za-z0-9@_=-]+$"
                )));
            }
            let relation: RelationSchema = serde_json::from_value(def.clone()).map_err(|e| {
                ApiError::invalid(format!(
                    "relations.{name}: expected {{target, required?, many?, title?}}: {e}"
                ))
            })?;
            relations.insert(name.clone(), relation);
        }
        Ok(Self {
            raw,
            properties,
            required,
            relations,
        })
    }

    /// The blueprint identifier.
    pub(crate) fn identifier(&self) -> &str {
        &self.raw.identifier
    }

    /// Checks entity properties: known names, types, formats, enums, and (when `complete`) the
    /// required ones. Null is accepted for a property that is not required.
    pub(crate) fn check_properties(
        &self,
        props: &Map<String, Value>,
        complete: bool,
    ) -> Result<(), ApiError> {
        for (name, value) in props {
            let Some(schema) = self.properties.get(name) else {
                return Err(ApiError::schema_mismatch(format!(
                    "property \"{name}\" is not defined in blueprint \"{}\"",
                    self.identifier()
                )));
            };
            if value.is_null() {
                if self.required.contains(name) {
                    return Err(ApiError::schema_mismatch(format!(
                        "required property \"{name}\" of blueprint \"{}\" must not be null",
                        self.identifier()
                    )));
                }
                continue;
            }
            schema
                .check(name, value)
                .map_err(ApiError::schema_mismatch)?;
        }
        if complete {
            let mut missing: Vec<&str> = self
                .required
                .iter()
                .filter(|r| props.get(*r).is_none_or(Value::is_null))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                missing.sort_unstable();
                return Err(ApiError::schema_mismatch(format!(
                    "missing required property \"{}\" of blueprint \"{}\"",
                    missing.join("\", \""),
                    self.identifier()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn blueprint(value: Value) -> Result<CompiledBlueprint, ApiError> {
        CompiledBlueprint::compile(serde_json::from_value(value).unwrap())
    }

    #[test]
    fn identifier_patterns_follow_port() {
        assert!(is_valid_entity_identifier("team/a:b@c.d+e=f-g_h"));
        assert!(!is_valid_entity_identifier("has space"));
        assert!(!is_valid_entity_identifier("back\\slash"));
        assert!(!is_valid_entity_identifier(""));
        assert!(!is_valid_entity_identifier(&"a".repeat(1001)));
        assert!(is_valid_blueprint_identifier("micro_service-1"));
        assert!(!is_valid_blueprint_identifier("micro.service"));
    }

    #[test]
    fn rejects_unknown_types_formats_and_required_names() {
        let err =
            blueprint(json!({"identifier": "s", "schema": {"properties": {"a": {"type": "int"}}}}))
                .unwrap_err();
        assert!(err.message.contains("unknown type \"int\""), "{err}");
        let err = blueprint(json!({"identifier": "s", "schema": {"properties": {"a": {"type": "string", "format": "colour"}}}}))
            .unwrap_err();
        assert!(err.message.contains("unknown format"), "{err}");
        let err =
            blueprint(json!({"identifier": "s", "schema": {"properties": {}, "required": ["x"]}}))
                .unwrap_err();
        assert!(err.message.contains("\"x\""), "{err}");
    }

    #[test]
    fn checks_types_formats_enums_and_items() {
        let bp = blueprint(json!({"identifier": "s", "schema": {"properties": {
            "n": {"type": "number"},
            "when": {"type": "string", "format": "date-time"},
            "link": {"type": "string", "format": "url"},
            "mail": {"type": "string", "format": "email"},
            "level": {"type": "string", "enum": ["low", "high"]},
            "tags": {"type": "array", "items": {"type": "string"}}
        }, "required": ["n"]}}))
        .unwrap();
        let ok = json!({"n": 1.5, "when": "2024-01-01T00:00:00Z", "link": "https://x.io/a",
            "mail": "a@b.io", "level": "low", "tags": ["x"]});
        bp.check_properties(ok.as_object().unwrap(), true).unwrap();
        for (bad, named) in [
            (json!({"n": "1"}), "\"n\""),
            (json!({"n": 1, "when": "tuesday"}), "\"when\""),
            (json!({"n": 1, "link": "not a url"}), "\"link\""),
            (json!({"n": 1, "mail": "nobody"}), "\"mail\""),
            (json!({"n": 1, "level": "mid"}), "\"level\""),
            (json!({"n": 1, "tags": ["x", 2]}), "\"tags[1]\""),
            (json!({"n": 1, "extra": 2}), "\"extra\""),
            (json!({"n": null}), "\"n\""),
            (json!({"level": "low"}), "\"n\""),
        ] {
            let err = bp
                .check_properties(bad.as_object().unwrap(), true)
                .unwrap_err();
            assert_eq!(err.code, "schema_mismatch");
            assert!(err.message.contains(named), "{bad}: {err}");
        }
    }
}
