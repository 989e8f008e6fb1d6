//! Port's API contract: the facts of Port's published OpenAPI document that the Port client and
//! the local Port rely on, and the checks of requests and responses against them.
//!
//! The facts live in `port-openapi-facts.json` beside this file, extracted from the published
//! document by `scripts/port-openapi/extract.py` (which records the source and its date). Only
//! the operations this crate uses are kept: path, method, parameters with their schemas and
//! enums, request body schema and response schemas. Operations Python Ocean's client calls that
//! the document does not describe are listed as such ([`Lookup::NotInDocument`]).
//!
//! Both sides use the same facts: the client's contract tests check each request it sends, and
//! the local Port refuses requests that Port's document does not accept, so the two can never
//! agree on something Port refuses.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{LazyLock, OnceLock};

/// The facts file, embedded at build time.
pub const FACTS_JSON: &str = include_str!("port-openapi-facts.json");

/// Where the facts came from (the `source` object of the facts file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The public repository holding the copy of Port's document.
    pub repository: String,
    /// The document's path in that repository.
    pub path: String,
    /// The commit the facts were extracted from.
    pub commit: String,
    /// The date of that commit.
    pub commit_date: String,
    /// When the facts were extracted.
    pub extracted_on: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Facts {
    source: Source,
    operations: Vec<OperationFacts>,
    #[serde(default)]
    schemas: Map<String, Value>,
    #[serde(default)]
    not_in_document: Vec<Unpublished>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperationFacts {
    method: String,
    path: String,
    #[serde(default)]
    parameters: Vec<Parameter>,
    #[serde(default)]
    request_body: Option<BodyFacts>,
    #[serde(default)]
    responses: BTreeMap<String, ResponseFacts>,
}

#[derive(Deserialize)]
struct Unpublished {
    method: String,
    path: String,
}

/// One parameter of an operation.
#[derive(Debug, Clone, Deserialize)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// Where it goes: `path`, `query` or `header`.
    #[serde(rename = "in")]
    pub location: String,
    /// Whether the request must carry it.
    #[serde(default)]
    pub required: bool,
    /// Its JSON schema (type, enum, ...).
    #[serde(default)]
    pub schema: Value,
}

#[derive(Deserialize)]
struct BodyFacts {
    #[serde(default)]
    required: bool,
    #[serde(default)]
    schema: Option<Value>,
}

#[derive(Deserialize)]
struct ResponseFacts {
    #[serde(default)]
    schema: Option<Value>,
}

/// A schema compiled on first use.
struct LazySchema {
    schema: Value,
    compiled: OnceLock<Result<jsonschema::Validator, String>>,
}

impl LazySchema {
    fn new(schema: Value, defs: &Map<String, Value>) -> Self {
        // Component schemas are referred to as `#/$defs/<name>`: every schema carries them.
        let schema = match schema {
            Value::Object(mut map) if !defs.is_empty() => {
                map.insert("$defs".into(), Value::Object(defs.clone()));
                Value::Object(map)
            }
            other => other,
        };
        Self {
            schema,
            compiled: OnceLock::new(),
        }
    }

    fn check(&self, instance: &Value, location: &str) -> Result<(), Violation> {
        let compiled = self.compiled.get_or_init(|| {
            jsonschema::draft202012::options()
                .build(&self.schema)
                .map_err(|e| e.to_string())
        });
        let validator = compiled.as_ref().map_err(|e| Violation {
            location: location.to_owned(),
            message: format!("the contract's schema does not compile: {e}"),
        })?;
        let mut errors = validator.iter_errors(instance).peekable();
        if errors.peek().is_none() {
            return Ok(());
        }
        let messages: Vec<String> = errors
            .take(3)
            .map(|e| {
                let at = e.instance_path().to_string();
                let mut text = e.to_string();
                // Messages quote the offending value: keep them short.
                if text.len() > 300 {
                    let cut = (0..=300)
                        .rev()
                        .find(|i| text.is_char_boundary(*i))
                        .unwrap_or(0);
                    text.truncate(cut);
                    text.push('…');
                }
                if at.is_empty() {
                    text
                } else {
                    format!("at {at}: {text}")
                }
            })
            .collect();
        Err(Violation {
            location: location.to_owned(),
            message: messages.join("; "),
        })
    }
}

/// A request or response that Port's document does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What was checked: `query parameter "merge"`, `request body`, `response 200`, ...
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for Violation {}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

fn template(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_owned()),
                None => Segment::Literal(s.to_owned()),
            },
        )
        .collect()
}

/// Matches decoded path segments against a template; the parameters by name, and how many
/// literal segments matched (more literals is a more specific match).
fn match_template<'a>(
    template: &'a [Segment],
    segments: &'a [String],
) -> Option<(Vec<(&'a str, &'a str)>, usize)> {
    if template.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    let mut literals = 0;
    for (t, s) in template.iter().zip(segments) {
        match t {
            Segment::Literal(l) if l == s => literals += 1,
            Segment::Literal(_) => return None,
            Segment::Param(name) => params.push((name.as_str(), s.as_str())),
        }
    }
    Some((params, literals))
}

fn decoded_segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| {
            url::form_urlencoded::parse(format!("s={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// One documented operation.
pub struct Operation {
    method: String,
    path: String,
    template: Vec<Segment>,
    parameters: Vec<Parameter>,
    parameter_schemas: Vec<LazySchema>,
    body_required: bool,
    body: Option<LazySchema>,
    responses: BTreeMap<String, Option<LazySchema>>,
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

impl Operation {
    /// The HTTP method, upper case.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path template, e.g. `/v1/webhooks/{identifier}`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The operation's parameters.
    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    /// True when the document describes a request body for this operation.
    pub fn has_body(&self) -> bool {
        self.body.is_some()
    }

    /// True when the document gives a schema for answers with this status.
    pub fn documents_response(&self, status: u16) -> bool {
        self.responses
            .get(&status.to_string())
            .is_some_and(Option::is_some)
    }

    /// Checks the path parameters of `path` (which matches this operation).
    pub fn check_path(&self, path: &str) -> Result<(), Violation> {
        let segments = decoded_segments(path);
        let Some((params, _)) = match_template(&self.template, &segments) else {
            return Err(Violation {
                location: "path".into(),
                message: format!("{path} does not match {}", self.path),
            });
        };
        for (name, value) in params {
            if let Some((i, _)) = self
                .parameters
                .iter()
                .enumerate()
                .find(|(_, p)| p.location == "path" && p.name == name)
            {
                self.parameter_schemas[i].check(
                    &Value::String(value.to_owned()),
                    &format!("path parameter \"{name}\""),
                )?;
            }
        }
        Ok(())
    }

    /// Checks decoded query pairs: every name documented, every required one present, every
    /// value of the documented type and enum. Booleans and numbers are read from their text.
    pub fn check_query<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), Violation> {
        let mut values: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, value) in pairs {
            values.entry(name).or_default().push(value);
        }
        for name in values.keys() {
            let known = self
                .parameters
                .iter()
                .any(|p| p.location == "query" && p.name == *name);
            if !known {
                let documented: Vec<&str> = self
                    .parameters
                    .iter()
                    .filter(|p| p.location == "query")
                    .map(|p| p.name.as_str())
                    .collect();
                return Err(Violation {
                    location: format!("query parameter \"{name}\""),
                    message: format!(
                        "{} {} takes no such parameter (documented: {})",
                        self.method,
                        self.path,
                        if documented.is_empty() {
                            "none".to_owned()
                        } else {
                            documented.join(", ")
                        }
                    ),
                });
            }
        }
        for (param, schema) in self.parameters.iter().zip(&self.parameter_schemas) {
            if param.location != "query" {
                continue;
            }
            let location = format!("query parameter \"{}\"", param.name);
            let Some(given) = values.get(param.name.as_str()) else {
                if param.required {
                    return Err(Violation {
                        location,
                        message: "is required".into(),
                    });
                }
                continue;
            };
            let instance = if schema_type(&param.schema) == Some("array") {
                let items = param.schema.get("items").unwrap_or(&Value::Null);
                Value::Array(given.iter().map(|v| typed(v, items)).collect())
            } else {
                // Several values for a single parameter: the last one counts, as in Port.
                typed(given.last().copied().unwrap_or_default(), &param.schema)
            };
            schema.check(&instance, &location)?;
        }
        Ok(())
    }

    /// Checks a request body (`None`: no body was sent).
    pub fn check_body(&self, body: Option<&Value>) -> Result<(), Violation> {
        match (body, &self.body) {
            (Some(body), Some(schema)) => schema.check(body, "request body"),
            (None, Some(_)) if self.body_required => Err(Violation {
                location: "request body".into(),
                message: "is required".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Checks an answer's body against the schema documented for its status, fields the schema
    /// does not list allowed; a status without a documented schema passes.
    pub fn check_response(&self, status: u16, body: &Value) -> Result<(), Violation> {
        match self.responses.get(&status.to_string()) {
            Some(Some(schema)) => schema.check(body, &format!("response {status}")),
            _ => Ok(()),
        }
    }
}

/// Lets a response schema's objects carry fields it does not list. Port's answers hold more
/// than its document says (an entity answer has `blueprint`, `createdAt`, `updatedBy`, ... where
/// the document's entity schema refuses other fields), and a reader must ignore unknown fields
/// anyway; what the document lists is still checked (types, enums, required fields).
fn open_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            for value in map.values_mut() {
                open_objects(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(open_objects),
        _ => {}
    }
}

fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

/// A query value as the JSON value its schema expects, when its text reads as one.
fn typed(text: &str, schema: &Value) -> Value {
    match schema_type(schema) {
        Some("boolean") => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        },
        Some("integer" | "number") => serde_json::from_str::<serde_json::Number>(text)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(text.to_owned())),
        _ => Value::String(text.to_owned()),
    }
}

/// What the contract says about a method and a path.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// A documented operation.
    Documented(&'a Operation),
    /// An operation Python Ocean's client calls that the document does not describe.
    NotInDocument,
    /// Neither documented nor known from Ocean's client.
    Unknown,
}

/// The contract: the operations of Port's document that this crate uses.
pub struct Contract {
    source: Source,
    operations: Vec<Operation>,
    not_in_document: Vec<(String, Vec<Segment>)>,
}

impl fmt::Debug for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contract")
            .field("source", &self.source)
            .field("operations", &self.operations.len())
            .finish_non_exhaustive()
    }
}

impl Contract {
    /// Reads a facts document (the format of `port-openapi-facts.json`).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let facts: Facts = serde_json::from_str(text)?;
        let defs = facts.schemas;
        let operations = facts
            .operations
            .into_iter()
            .map(|op| {
                let parameter_schemas = op
                    .parameters
                    .iter()
                    .map(|p| LazySchema::new(p.schema.clone(), &defs))
                    .collect();
                let (body_required, body) = match op.request_body {
                    Some(BodyFacts {
                        required,
                        schema: Some(schema),
                    }) => (required, Some(LazySchema::new(schema, &defs))),
                    _ => (false, None),
                };
                Operation {
                    template: template(&op.path),
                    method: op.method.to_ascii_uppercase(),
                    path: op.path,
                    parameters: op.parameters,
                    parameter_schemas,
                    body_required,
                    body,
                    responses: op
                        .responses
                        .into_iter()
                        .map(|(status, r)| {
                            let schema = r.schema.map(|mut s| {
                                open_objects(&mut s);
                                LazySchema::new(s, &defs)
                            });
                            (status, schema)
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(Self {
            source: facts.source,
            operations,
            not_in_document: facts
                .not_in_document
                .into_iter()
                .map(|u| (u.method.to_ascii_uppercase(), template(&u.path)))
                .collect(),
        })
    }

    /// Where the facts came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Every documented operation.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The documented operation of `method` on the (percent-encoded, query-less) `path`; a
    /// template with more literal segments wins (`/v1/integration/provision-enabled` is not
    /// `/v1/integration/{identifier}`).
    pub fn find(&self, method: &str, path: &str) -> Lookup<'_> {
        let segments = decoded_segments(path);
        let mut best: Option<(usize, Lookup<'_>)> = None;
        // Not-in-document operations first: a documented one of equal specificity replaces it.
        for (m, t) in &self.not_in_document {
            if m.eq_ignore_ascii_case(method)
                && let Some((_, literals)) = match_template(t, &segments)
                && best.as_ref().is_none_or(|(l, _)| literals > *l)
            {
                best = Some((literals, Lookup::NotInDocument));
            }
        }
        for op in &self.operations {
            if op.method.eq_ignore_ascii_case(method)
                && let Some((_, literals)) = match_template(&op.template, &segments)
                && best.as_ref().is_none_or(|(l, _)| literals >= *l)
            {
                best = Some((literals, Lookup::Documented(op)));
            }
        }
        best.map_or(Lookup::Unknown, |(_, lookup)| lookup)
    }

    /// Checks a whole request: path parameters, query and body. `Ok(None)` for operations the
    /// document does not describe.
    pub fn check_request<'a>(
        &self,
        method: &str,
        path: &str,
        query: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: Option<&Value>,
    ) -> Result<Option<&Operation>, Violation> {
        match self.find(method, path) {
            Lookup::Documented(op) => {
                op.check_path(path)?;
                op.check_query(query)?;
                op.check_body(body)?;
                Ok(Some(op))
            }
            Lookup::NotInDocument => Ok(None),
            Lookup::Unknown => Err(Violation {
                location: "operation".into(),
                message: format!(
                    "{method} {path} is neither in Port's document nor in Ocean's client"
                ),
            }),
        }
    }
}

static CONTRACT: LazyLock<Result<Contract, String>> =
    LazyLock::new(|| Contract::from_json(FACTS_JSON).map_err(|e| e.to_string()));

/// The contract of the embedded facts; `Err` only if the embedded file were broken (a test
/// pins that it is not).
pub fn contract() -> Result<&'static Contract, &'static str> {
    CONTRACT.as_ref().map_err(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c() -> &'static Contract {
        contract().expect("the embedded facts load")
    }

    #[test]
    fn the_embedded_facts_load_and_name_their_source() {
        let source = c().source();
        assert_eq!(source.repository, "api-evangelist/port");
        assert_eq!(source.commit.len(), 40);
        assert!(!c().operations().is_empty());
    }

    #[test]
    fn a_literal_segment_beats_a_parameter() {
        assert!(matches!(
            c().find("GET", "/v1/integration/provision-enabled"),
            Lookup::NotInDocument
        ));
        assert!(matches!(
            c().find("GET", "/v1/integration/my-int"),
            Lookup::Documented(op) if op.path() == "/v1/integration/{identifier}"
        ));
        assert!(matches!(c().find("PUT", "/v1/nothing"), Lookup::Unknown));
    }

    #[test]
    fn query_enums_and_booleans_are_checked() {
        let path = "/v1/blueprints/svc/bulk/entities/delete";
        let body = json!({"entities": ["a"]});
        let ok = c().check_request(
            "POST",
            path,
            [
                ("delete_dependents", "false"),
                ("ocean_info_event_type", "resync"),
            ],
            Some(&body),
        );
        assert!(ok.is_ok(), "{ok:?}");
        let bad_enum = c().check_request(
            "POST",
            path,
            [
                ("delete_dependents", "false"),
                ("ocean_info_event_type", "live_event"),
            ],
            Some(&body),
        );
        assert!(
            bad_enum
                .unwrap_err()
                .location
                .contains("ocean_info_event_type")
        );
        let not_bool = c().check_request("POST", path, [("delete_dependents", "yes")], Some(&body));
        assert!(not_bool.is_err());
        let unknown = c().check_request(
            "POST",
            path,
            [("delete_dependents", "true"), ("cascade", "true")],
            Some(&body),
        );
        assert!(unknown.unwrap_err().location.contains("cascade"));
        let missing = c().check_request("POST", path, [], Some(&body));
        assert!(missing.unwrap_err().message.contains("required"));
    }

    #[test]
    fn bodies_are_checked_against_the_documented_schema() {
        let webhook = json!({"identifier": "a".repeat(31), "title": "t", "enabled": true});
        let err = c()
            .check_request("POST", "/v1/webhooks", [], Some(&webhook))
            .unwrap_err();
        assert_eq!(err.location, "request body");
        let unknown_field = json!({"title": "t", "enabled": true, "url": "https://x"});
        assert!(
            c().check_request("POST", "/v1/webhooks", [], Some(&unknown_field))
                .is_err()
        );
        let fine = json!({"identifier": "gh", "title": "GitHub", "enabled": true, "mappings": []});
        assert!(
            c().check_request("POST", "/v1/webhooks", [], Some(&fine))
                .is_ok()
        );
    }

    #[test]
    fn responses_are_checked_where_the_document_has_a_schema() {
        let op = match c().find("POST", "/v1/blueprints/svc/bulk/entities/delete") {
            Lookup::Documented(op) => op,
            other => panic!("{other:?}"),
        };
        assert!(
            op.check_response(200, &json!({"ok": true, "deletedEntities": ["a"]}))
                .is_ok()
        );
        assert!(
            op.check_response(200, &json!({"ok": true})).is_err(),
            "deletedEntities is required"
        );
        assert!(
            op.check_response(200, &json!({"ok": true, "deletedEntities": [1]}))
                .is_err()
        );
        assert!(
            op.check_response(
                200,
                &json!({"ok": true, "deletedEntities": [], "maxBulkSize": 100, "extra": 1})
            )
            .is_ok(),
            "answers may carry fields the document does not list"
        );
        assert!(!op.documents_response(207));
    }
}
