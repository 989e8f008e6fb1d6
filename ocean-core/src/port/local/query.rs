//! Port search queries: parsing a query tree and matching stored entities against it.
//!
//! Queries sit just above the entity rows: this module may use the rows, the clock, blueprint
//! schemas (JSON equality) and API errors; never the store, which runs queries over its rows.

use super::clock::parse_time;
use super::entity::StoredEntity;
use super::error::{ApiError, describe};
use super::schema::json_equal;
use serde_json::{Map, Value};

/// What a rule looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    Identifier,
    Title,
    Icon,
    Blueprint,
    Team,
    Datasource,
    CreatedAt,
    UpdatedAt,
    CreatedBy,
    UpdatedBy,
    Property(String),
    Relation(String),
}

impl Field {
    fn parse(name: &str) -> Result<Self, ApiError> {
        Ok(match name {
            "$identifier" => Self::Identifier,
            "$title" => Self::Title,
            "$icon" => Self::Icon,
            "$blueprint" => Self::Blueprint,
            "$team" => Self::Team,
            "$datasource" => Self::Datasource,
            "$createdAt" => Self::CreatedAt,
            "$updatedAt" => Self::UpdatedAt,
            "$createdBy" => Self::CreatedBy,
            "$updatedBy" => Self::UpdatedBy,
            meta if meta.starts_with('$') => {
                return Err(ApiError::invalid(format!(
                    "unknown meta property \"{meta}\" (expected $identifier, $title, $icon, \
                     $blueprint, $team, $datasource, $createdAt, $updatedAt, $createdBy or $updatedBy)"
                )));
            }
            other => Self::Property(other.to_owned()),
        })
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Contains,
    DoesNotContain,
    BeginsWith,
    EndsWith,
    Gt,
    Ge,
    Lt,
    Le,
    IsEmpty,
    IsNotEmpty,
    Between,
}

impl Op {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "=" => Self::Eq,
            "!=" => Self::Ne,
            "in" => Self::In,
            "notIn" => Self::NotIn,
            "contains" => Self::Contains,
            "doesNotContains" => Self::DoesNotContain,
            "beginsWith" => Self::BeginsWith,
            "endsWith" => Self::EndsWith,
            ">" => Self::Gt,
            ">=" => Self::Ge,
            "<" => Self::Lt,
            "<=" => Self::Le,
            "isEmpty" => Self::IsEmpty,
            "isNotEmpty" => Self::IsNotEmpty,
            "between" => Self::Between,
            _ => return None,
        })
    }
}

/// A parsed query tree.
#[derive(Debug, Clone)]
pub(crate) enum Query {
    /// Rules combined with and (`all = true`) or or.
    Group {
        /// True for `and`.
        all: bool,
        /// The children.
        rules: Vec<Query>,
    },
    /// One comparison.
    Rule {
        /// The field compared.
        field: Field,
        /// The operator.
        op: Op,
        /// The operand.
        value: Value,
    },
}

impl Query {
    /// Parses and checks a query tree (`{combinator, rules}`).
    pub(crate) fn parse(value: &Value) -> Result<Self, ApiError> {
        let obj = value.as_object().ok_or_else(|| {
            ApiError::invalid(format!(
                "expected a query object {{combinator, rules}}, got {}",
                describe(value)
            ))
        })?;
        if obj.contains_key("combinator") || obj.contains_key("rules") {
            return Self::parse_group(obj);
        }
        Self::parse_rule(obj)
    }

    fn parse_group(obj: &Map<String, Value>) -> Result<Self, ApiError> {
        let all = match obj.get("combinator").and_then(Value::as_str) {
            Some("and") => true,
            Some("or") => false,
            _ => {
                return Err(ApiError::invalid(format!(
                    "expected \"combinator\" to be \"and\" or \"or\", got {}",
                    obj.get("combinator").map_or("nothing".into(), describe)
                )));
            }
        };
        let rules = obj.get("rules").and_then(Value::as_array).ok_or_else(|| {
            ApiError::invalid("expected \"rules\" to be an array of rules and groups")
        })?;
        let rules = rules.iter().map(Self::parse).collect::<Result<_, _>>()?;
        Ok(Self::Group { all, rules })
    }

    fn parse_rule(obj: &Map<String, Value>) -> Result<Self, ApiError> {
        let field = match (obj.get("property"), obj.get("relation")) {
            (Some(Value::String(p)), _) => Field::parse(p)?,
            (None, Some(Value::String(r))) => Field::Relation(r.clone()),
            _ => {
                return Err(ApiError::invalid(
                    "expected a rule {property, operator, value} or a group {combinator, rules}",
                ));
            }
        };
        let op_name = obj.get("operator").and_then(Value::as_str).unwrap_or("");
        let op = Op::parse(op_name).ok_or_else(|| {
            ApiError::invalid(format!(
                "unknown operator \"{op_name}\" (expected =, !=, in, notIn, contains, \
                 doesNotContains, beginsWith, endsWith, >, >=, <, <=, isEmpty, isNotEmpty, between)"
            ))
        })?;
        let value = obj.get("value").cloned().unwrap_or(Value::Null);
        match op {
            Op::In | Op::NotIn if !value.is_array() => {
                return Err(ApiError::invalid(format!(
                    "operator \"{op_name}\" expects an array value, got {}",
                    describe(&value)
                )));
            }
            Op::Contains | Op::DoesNotContain | Op::BeginsWith | Op::EndsWith
                if !(value.is_string()
                    || (matches!(op, Op::Contains | Op::DoesNotContain) && !value.is_null())) =>
            {
                return Err(ApiError::invalid(format!(
                    "operator \"{op_name}\" expects a string value, got {}",
                    describe(&value)
                )));
            }
            Op::Gt | Op::Ge | Op::Lt | Op::Le if !(value.is_number() || value.is_string()) => {
                return Err(ApiError::invalid(format!(
                    "operator \"{op_name}\" expects a number or a date, got {}",
                    describe(&value)
                )));
            }
            Op::Between => {
                let has_range = value
                    .as_object()
                    .is_some_and(|o| o.contains_key("from") && o.contains_key("to"));
                if !has_range {
                    return Err(ApiError::invalid(format!(
                        "operator \"between\" expects {{\"from\": ..., \"to\": ...}} (presets are not \
                         supported by the local Port), got {}",
                        describe(&value)
                    )));
                }
            }
            _ => {}
        }
        Ok(Self::Rule { field, op, value })
    }

    /// The blueprint the query is restricted to, when the top level requires `$blueprint = x`.
    pub(crate) fn blueprint_scope(&self) -> Option<&str> {
        let Self::Group { all: true, rules } = self else {
            return match self {
                Self::Rule {
                    field: Field::Blueprint,
                    op: Op::Eq,
                    value: Value::String(bp),
                } => Some(bp),
                _ => None,
            };
        };
        rules.iter().find_map(Self::blueprint_scope)
    }

    /// The identifiers the query is restricted to, when the top level requires
    /// `$identifier = x` or `$identifier in [..]`: such searches look entities up by key instead
    /// of scanning the blueprint (the resync's change detection sends one per batch).
    pub(crate) fn identifier_scope(&self) -> Option<Vec<&str>> {
        let Self::Group { all: true, rules } = self else {
            return match self {
                Self::Rule {
                    field: Field::Identifier,
                    op: Op::Eq,
                    value: Value::String(id),
                } => Some(vec![id.as_str()]),
                Self::Rule {
                    field: Field::Identifier,
                    op: Op::In,
                    value: Value::Array(ids),
                } => Some(ids.iter().filter_map(Value::as_str).collect()),
                _ => None,
            };
        };
        rules.iter().find_map(Self::identifier_scope)
    }

    /// True when the entity (of blueprint `blueprint`) matches.
    pub(crate) fn matches(&self, blueprint: &str, entity: &StoredEntity) -> bool {
        match self {
            Self::Group { all: true, rules } => rules.iter().all(|r| r.matches(blueprint, entity)),
            Self::Group { all: false, rules } => rules.iter().any(|r| r.matches(blueprint, entity)),
            Self::Rule { field, op, value } => {
                let actual = match field {
                    Field::Identifier => Actual::Str(&entity.identifier),
                    Field::Title => entity.title.as_deref().map_or(Actual::Null, Actual::Str),
                    Field::Icon => entity.icon.as_deref().map_or(Actual::Null, Actual::Str),
                    Field::Blueprint => Actual::Str(blueprint),
                    Field::Team => Actual::List(&entity.team),
                    Field::Datasource => entity
                        .datasource
                        .as_deref()
                        .map_or(Actual::Null, Actual::Str),
                    Field::CreatedAt => Actual::Time(entity.created_at),
                    Field::UpdatedAt => Actual::Time(entity.updated_at),
                    Field::CreatedBy => Actual::Str(&entity.created_by),
                    Field::UpdatedBy => Actual::Str(&entity.updated_by),
                    Field::Property(p) => {
                        entity.properties.get(p).map_or(Actual::Null, Actual::Json)
                    }
                    Field::Relation(r) => {
                        entity.relations.get(r).map_or(Actual::Null, Actual::Json)
                    }
                };
                actual.test(*op, value)
            }
        }
    }
}

/// The value of a field of one entity, borrowed.
#[derive(Debug, Clone, Copy)]
enum Actual<'a> {
    Null,
    Str(&'a str),
    Time(i64),
    Json(&'a Value),
    List(&'a [String]),
}

impl<'a> Actual<'a> {
    fn test(self, op: Op, value: &Value) -> bool {
        match op {
            Op::Eq => self.equals(value),
            Op::Ne => !self.equals(value),
            Op::In => value
                .as_array()
                .is_some_and(|vs| vs.iter().any(|v| self.equals(v))),
            Op::NotIn => !value
                .as_array()
                .is_some_and(|vs| vs.iter().any(|v| self.equals(v))),
            Op::Contains => self.contains(value),
            Op::DoesNotContain => !self.contains(value),
            Op::BeginsWith => self
                .text()
                .zip(value.as_str())
                .is_some_and(|(a, v)| a.starts_with(v)),
            Op::EndsWith => self
                .text()
                .zip(value.as_str())
                .is_some_and(|(a, v)| a.ends_with(v)),
            Op::Gt => self.compare(value).is_some_and(|o| o.is_gt()),
            Op::Ge => self.compare(value).is_some_and(|o| o.is_ge()),
            Op::Lt => self.compare(value).is_some_and(|o| o.is_lt()),
            Op::Le => self.compare(value).is_some_and(|o| o.is_le()),
            Op::IsEmpty => self.is_empty(),
            Op::IsNotEmpty => !self.is_empty(),
            Op::Between => {
                let from = value.get("from").unwrap_or(&Value::Null);
                let to = value.get("to").unwrap_or(&Value::Null);
                self.compare(from).is_some_and(|o| o.is_ge())
                    && self.compare(to).is_some_and(|o| o.is_le())
            }
        }
    }

    fn text(self) -> Option<&'a str> {
        match self {
            Actual::Str(s) => Some(s),
            Actual::Json(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    fn equals(self, value: &Value) -> bool {
        match self {
            Actual::Null => value.is_null(),
            Actual::Str(s) => value.as_str() == Some(s),
            Actual::Time(t) => value.as_str().and_then(parse_time) == Some(t),
            Actual::Json(Value::Array(items)) if !value.is_array() => {
                items.iter().any(|i| json_equal(i, value))
            }
            Actual::Json(j) => json_equal(j, value),
            Actual::List(items) => value.as_str().is_some_and(|v| items.iter().any(|i| i == v)),
        }
    }

    fn contains(self, value: &Value) -> bool {
        match (self, value) {
            (Actual::Json(Value::Array(items)), v) => items.iter().any(|i| {
                json_equal(i, v)
                    || i.as_str()
                        .zip(v.as_str())
                        .is_some_and(|(i, v)| i.contains(v))
            }),
            (Actual::List(items), Value::String(v)) => items.iter().any(|i| i.contains(v.as_str())),
            (actual, Value::String(v)) => actual.text().is_some_and(|a| a.contains(v.as_str())),
            _ => false,
        }
    }

    fn compare(self, value: &Value) -> Option<std::cmp::Ordering> {
        match (self, value) {
            (Actual::Time(t), Value::String(v)) => parse_time(v).map(|v| t.cmp(&v)),
            (Actual::Json(Value::Number(a)), Value::Number(b)) => {
                a.as_f64()?.partial_cmp(&b.as_f64()?)
            }
            (actual, Value::String(v)) => {
                let a = actual.text()?;
                match (parse_time(a), parse_time(v)) {
                    (Some(a), Some(v)) => Some(a.cmp(&v)),
                    _ => Some(a.cmp(v.as_str())),
                }
            }
            _ => None,
        }
    }

    fn is_empty(self) -> bool {
        match self {
            Actual::Null => true,
            Actual::Str(s) => s.is_empty(),
            Actual::Time(_) => false,
            Actual::List(items) => items.is_empty(),
            Actual::Json(Value::Null) => true,
            Actual::Json(Value::String(s)) => s.is_empty(),
            Actual::Json(Value::Array(a)) => a.is_empty(),
            Actual::Json(Value::Object(o)) => o.is_empty(),
            Actual::Json(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn entity() -> StoredEntity {
        StoredEntity {
            identifier: "svc-a".into(),
            title: Some("Service A".into()),
            icon: None,
            team: vec!["platform".into()],
            properties: json!({"lang": "rust", "stars": 12, "tags": ["x", "y"], "empty": ""})
                .as_object()
                .cloned()
                .unwrap(),
            relations: Map::new(),
            datasource: Some(Arc::from("port-ocean/jira/1.0/my-jira/exporter")),
            created_at: parse_time("2024-01-01T00:00:00Z").unwrap(),
            updated_at: parse_time("2024-02-01T00:00:00Z").unwrap(),
            created_by: Arc::from("client"),
            updated_by: Arc::from("client"),
        }
    }

    fn check(q: &Value) -> bool {
        Query::parse(q).unwrap().matches("service", &entity())
    }

    fn rule(p: &str, op: &str, v: &Value) -> Value {
        json!({"combinator": "and", "rules": [{"property": p, "operator": op, "value": v}]})
    }

    #[test]
    fn operators_compare_like_port() {
        assert!(check(&rule("$identifier", "=", &json!("svc-a"))));
        assert!(check(&rule("$identifier", "!=", &json!("svc-b"))));
        assert!(check(&rule(
            "$identifier",
            "in",
            &json!(["svc-b", "svc-a"])
        )));
        assert!(check(&rule("$identifier", "notIn", &json!(["svc-b"]))));
        assert!(check(&rule("$title", "contains", &json!("ice A"))));
        assert!(check(&rule("$title", "doesNotContains", &json!("B"))));
        assert!(check(&rule("lang", "beginsWith", &json!("ru"))));
        assert!(check(&rule("lang", "endsWith", &json!("st"))));
        assert!(check(&rule("stars", ">", &json!(11))));
        assert!(!check(&rule("stars", ">", &json!(12))));
        assert!(check(&rule("stars", "<=", &json!(12))));
        assert!(check(&rule("tags", "contains", &json!("y"))));
        assert!(check(&rule("empty", "isEmpty", &Value::Null)));
        assert!(check(&rule("missing", "isEmpty", &Value::Null)));
        assert!(check(&rule("lang", "isNotEmpty", &Value::Null)));
        assert!(check(&rule("$team", "in", &json!(["platform"]))));
        assert!(check(&rule(
            "$datasource",
            "contains",
            &json!("/my-jira/exporter")
        )));
        assert!(check(&rule(
            "$updatedAt",
            "<",
            &json!("2024-02-01T00:00:01Z")
        )));
        assert!(!check(&rule(
            "$updatedAt",
            "<",
            &json!("2024-02-01T00:00:00+00:00")
        )));
        assert!(check(&rule(
            "$createdAt",
            "between",
            &json!({"from": "2023-12-31T00:00:00Z", "to": "2024-01-02T00:00:00Z"})
        )));
    }

    #[test]
    fn nested_groups_combine_with_and_or() {
        let q = json!({"combinator": "and", "rules": [
            {"property": "$blueprint", "operator": "=", "value": "service"},
            {"combinator": "or", "rules": [
                {"property": "lang", "operator": "=", "value": "go"},
                {"property": "stars", "operator": ">=", "value": 10}
            ]}
        ]});
        assert!(check(&q));
        assert_eq!(Query::parse(&q).unwrap().blueprint_scope(), Some("service"));
        let q = json!({"combinator": "or", "rules": [
            {"property": "lang", "operator": "=", "value": "go"},
            {"property": "stars", "operator": "<", "value": 10}
        ]});
        assert!(!check(&q));
    }

    #[test]
    fn rejects_unknown_operators_and_bad_operands() {
        let err = Query::parse(&rule("$identifier", "like", &json!("a"))).unwrap_err();
        assert!(err.message.contains("unknown operator \"like\""));
        assert!(Query::parse(&rule("$identifier", "in", &json!("a"))).is_err());
        assert!(Query::parse(&rule("$nope", "=", &json!("a"))).is_err());
        assert!(Query::parse(&json!({"combinator": "xor", "rules": []})).is_err());
    }
}
