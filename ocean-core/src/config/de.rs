//! A serde deserializer over the merged settings tree that reads values the way an operator
//! writes them: environment values are strings, so a string is coerced to whatever the target
//! field asks for (integer, float, bool, JSON list or object, `None` when empty). It tracks the
//! path of every value so a failure can name the variable (`OCEAN__EVENT_WORKERS_COUNT`).

use super::error::{ConfigError, Shown};
use super::placeholder::Placeholder;
use super::tree::{Provenance, Segment, is_sensitive};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_json::{Map, Value};
use std::fmt;

/// Deserializes `T` from `value`, the tree node found at `path`.
///
/// When a required setting is missing, every other missing one is looked for too: the missing
/// setting is stood in for by a placeholder and the deserialization runs again, until it
/// succeeds or fails for another reason. Serde's derived code stops at the first missing field,
/// and an operator should not have to restart once per variable to learn what to set.
pub(crate) fn from_tree<T: de::DeserializeOwned>(
    value: &Value,
    path: Vec<Segment>,
    provenance: &Provenance,
) -> Result<T, ConfigError> {
    let first = match T::deserialize(Lenient::new(value, path.clone(), &[])) {
        Ok(parsed) => return Ok(parsed),
        Err(error) => error,
    };
    let Some(first_missing) = first.missing_path() else {
        return Err(first.into_config_error(provenance));
    };
    let mut missing = vec![first_missing];
    while missing.len() < MAX_MISSING_REPORTED {
        let probe = with_stand_ins(value, &path, &missing);
        let next = match T::deserialize(Lenient::new(&probe, path.clone(), &missing)) {
            Ok(_) => break,
            Err(error) => error.missing_path(),
        };
        match next {
            Some(found) if !missing.iter().any(|known| found.starts_with(known)) => {
                missing.push(found);
            }
            _ => break,
        }
    }
    if missing.len() == 1 {
        return Err(first.into_config_error(provenance));
    }
    Err(ConfigError::MissingSeveral {
        variables: missing
            .iter()
            .map(|path| provenance.variable_name(path))
            .collect(),
    })
}

/// How many missing settings one error lists at most (each one costs a deserialization).
const MAX_MISSING_REPORTED: usize = 64;

/// A copy of `root` (the node at `base`) with a null at every `missing` path, for a
/// [`Placeholder`] to stand in for.
fn with_stand_ins(root: &Value, base: &[Segment], missing: &[Vec<Segment>]) -> Value {
    fn place(node: &mut Value, relative: &[Segment]) {
        match relative {
            [Segment::Key(key)] => {
                if let Some(map) = object_of(node) {
                    map.entry(key.clone()).or_insert(Value::Null);
                }
            }
            [Segment::Key(key), rest @ ..] => {
                if let Some(map) = object_of(node) {
                    let child = map
                        .entry(key.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    place(child, rest);
                }
            }
            [Segment::Index(index), rest @ ..] => {
                if let Some(child) = node.as_array_mut().and_then(|a| a.get_mut(*index)) {
                    place(child, rest);
                }
            }
            [] => {}
        }
    }
    let mut copy = root.clone();
    for path in missing {
        if let Some(relative) = path.strip_prefix(base) {
            place(&mut copy, relative);
        }
    }
    copy
}

/// `node` as an object: a null becomes an empty one, a string holding a JSON object its
/// decoded form (the deserializer reads both the same way).
fn object_of(node: &mut Value) -> Option<&mut Map<String, Value>> {
    if node.is_null() {
        *node = Value::Object(Map::new());
    }
    if let Value::String(text) = node
        && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text.trim())
    {
        *node = Value::Object(map);
    }
    node.as_object_mut()
}

/// What went wrong, before it is tied to a variable name.
#[derive(Debug)]
enum Kind {
    /// The value has the wrong shape; `got` is filled from the offending node when not given.
    Invalid {
        expected: String,
        got: Option<String>,
    },
    /// A required key of an object is absent.
    Missing { field: String },
    /// A message from a type's own validation.
    Custom(String),
}

/// Deserialization failure with the path of the node where it happened.
#[derive(Debug)]
pub(crate) struct DeError {
    kind: Kind,
    path: Option<Vec<Segment>>,
}

impl DeError {
    fn invalid(expected: impl Into<String>) -> Self {
        Self {
            kind: Kind::Invalid {
                expected: expected.into(),
                got: None,
            },
            path: None,
        }
    }

    /// Ties the error to the node it arose at, unless a deeper node already claimed it.
    pub(crate) fn at(mut self, path: &[Segment], value: &Value) -> Self {
        if self.path.is_none() {
            if let Kind::Invalid {
                got: got @ None, ..
            } = &mut self.kind
            {
                *got = Some(
                    Shown {
                        value,
                        sensitive: is_sensitive(path),
                    }
                    .to_string(),
                );
            }
            self.path = Some(path.to_vec());
        }
        self
    }

    /// The path of the node the error arose at, once known.
    pub(crate) fn path(&self) -> Option<&[Segment]> {
        self.path.as_deref()
    }

    /// The path of the missing setting, when this error is about one.
    fn missing_path(&self) -> Option<Vec<Segment>> {
        match &self.kind {
            Kind::Missing { field } => {
                let mut path = self.path.clone().unwrap_or_default();
                path.push(Segment::Key(field.clone()));
                Some(path)
            }
            _ => None,
        }
    }

    fn into_config_error(self, provenance: &Provenance) -> ConfigError {
        let path = self.path.unwrap_or_default();
        match self.kind {
            Kind::Invalid { expected, got } => ConfigError::Invalid {
                variable: provenance.variable_name(&path),
                expected,
                got: got.unwrap_or_else(|| "an unusable value".to_owned()),
                origin: Box::new(provenance.origin_of(&path)),
            },
            Kind::Missing { field } => {
                let origin = Box::new(provenance.origin_of(&path));
                let mut field_path = path;
                field_path.push(Segment::Key(field));
                ConfigError::Missing {
                    variable: provenance.variable_name(&field_path),
                    origin,
                }
            }
            Kind::Custom(reason) => ConfigError::Rejected {
                variable: provenance.variable_name(&path),
                reason,
                origin: Box::new(provenance.origin_of(&path)),
            },
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Invalid { expected, got } => {
                write!(f, "expected {expected}")?;
                match got {
                    Some(got) => write!(f, ", got {got}"),
                    None => Ok(()),
                }
            }
            Kind::Missing { field } => write!(f, "missing `{field}`"),
            Kind::Custom(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            kind: Kind::Custom(msg.to_string()),
            path: None,
        }
    }

    // The offending value is taken from the tree node (where sensitivity is known), not from
    // `Unexpected`, which would carry a secret's text into the message.
    fn invalid_type(_unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::invalid(humanize_expected(&expected.to_string()))
    }

    fn invalid_value(_unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::invalid(humanize_expected(&expected.to_string()))
    }

    fn invalid_length(len: usize, expected: &dyn de::Expected) -> Self {
        Self {
            kind: Kind::Invalid {
                expected: expected.to_string(),
                got: Some(format!("{len} elements")),
            },
            path: None,
        }
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        Self::invalid(format!("one of {}", expected.join(", ")))
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            kind: Kind::Missing {
                field: field.to_owned(),
            },
            path: None,
        }
    }
}

/// serde names primitive targets by Rust type (`u16`); operators read words.
fn humanize_expected(expected: &str) -> String {
    let range = |lo: &str, hi: &str| format!("an integer from {lo} to {hi}");
    match expected {
        "u8" => range("0", "255"),
        "u16" => range("0", "65535"),
        "u32" => range("0", "4294967295"),
        "u64" | "usize" | "u128" => "an unsigned integer".to_owned(),
        "i8" => range("-128", "127"),
        "i16" => range("-32768", "32767"),
        "i32" => range("-2147483648", "2147483647"),
        "i64" | "isize" | "i128" => "an integer".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a string" | "a borrowed string" => "a string".to_owned(),
        other => other.to_owned(),
    }
}

/// The coercing deserializer over one node of the tree.
struct Lenient<'a> {
    value: &'a Value,
    path: Vec<Segment>,
    /// Paths of missing settings a [`Placeholder`] stands in for.
    stand_ins: &'a [Vec<Segment>],
}

impl<'a> Lenient<'a> {
    fn new(value: &'a Value, path: Vec<Segment>, stand_ins: &'a [Vec<Segment>]) -> Self {
        Self {
            value,
            path,
            stand_ins,
        }
    }

    fn child(&self, value: &'a Value, segment: Segment) -> Lenient<'a> {
        let mut path = self.path.clone();
        path.push(segment);
        Lenient::new(value, path, self.stand_ins)
    }

    fn fail(&self, error: DeError) -> DeError {
        error.at(&self.path, self.value)
    }

    fn trimmed_str(&self) -> Option<&'a str> {
        self.value.as_str().map(str::trim)
    }

    /// A string holding a JSON document, decoded, when it is of the wanted kind. The text is
    /// echoed in the error only when `echo` allows it: an object may well carry credentials.
    fn decode_json(
        &self,
        expected: &str,
        is_kind: fn(&Value) -> bool,
        echo: bool,
    ) -> Result<Value, DeError> {
        let text = self.trimmed_str().unwrap_or_default();
        let echo = echo && !is_sensitive(&self.path);
        let got = match serde_json::from_str::<Value>(text) {
            Ok(decoded) if is_kind(&decoded) => return Ok(decoded),
            Ok(other) if echo => format!(
                "{text:?}, which is {}",
                Shown {
                    value: &other,
                    sensitive: false,
                }
            ),
            Ok(_) => "JSON of another kind (not shown)".to_owned(),
            Err(e) if echo => format!("{text:?}, which is not valid JSON ({e})"),
            Err(e) => format!("text that is not valid JSON ({e}; text not shown)"),
        };
        Err(DeError {
            kind: Kind::Invalid {
                expected: format!("{expected} (given as JSON)"),
                got: Some(got),
            },
            path: Some(self.path.clone()),
        })
    }
}

impl<'de> Lenient<'_> {
    /// A signed integer of the Rust type named `width`, from a number or a numeric string.
    fn signed<V: Visitor<'de>>(self, visitor: V, width: &str) -> Result<V::Value, DeError> {
        let parsed = match self.value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match parsed {
            Some(i) => visitor.visit_i64(i).map_err(|e| self.fail(e)),
            None => Err(self.fail(DeError::invalid(humanize_expected(width)))),
        }
    }

    /// An unsigned integer of the Rust type named `width`.
    fn unsigned<V: Visitor<'de>>(self, visitor: V, width: &str) -> Result<V::Value, DeError> {
        let parsed = match self.value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match parsed {
            Some(u) => visitor.visit_u64(u).map_err(|e| self.fail(e)),
            None => Err(self.fail(DeError::invalid(humanize_expected(width)))),
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

impl<'de> Deserializer<'de> for Lenient<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(Seq::new(&self, items)),
            Value::Object(map) => visitor.visit_map(Entries::new(&self, map)),
        };
        result.map_err(|e| self.fail(e))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        const EXPECTED: &str = "a boolean (true or false)";
        let parsed = match self.value {
            Value::Bool(b) => Some(*b),
            Value::String(s) => parse_bool(s.trim()),
            Value::Number(n) => match n.as_u64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            _ => None,
        };
        match parsed {
            Some(b) => visitor.visit_bool(b).map_err(|e| self.fail(e)),
            None => Err(self.fail(DeError::invalid(EXPECTED))),
        }
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.signed(visitor, "i64")
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.unsigned(visitor, "u64")
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let parsed = match self.value {
            Value::Number(n) => n.as_i64().map(i128::from),
            Value::String(s) => s.trim().parse::<i128>().ok(),
            _ => None,
        };
        match parsed {
            Some(i) => visitor.visit_i128(i).map_err(|e| self.fail(e)),
            None => Err(self.fail(DeError::invalid("an integer"))),
        }
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let parsed = match self.value {
            Value::Number(n) => n.as_u64().map(u128::from),
            Value::String(s) => s.trim().parse::<u128>().ok(),
            _ => None,
        };
        match parsed {
            Some(u) => visitor.visit_u128(u).map_err(|e| self.fail(e)),
            None => Err(self.fail(DeError::invalid("an unsigned integer"))),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let parsed = match self.value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match parsed.filter(|f| f.is_finite()) {
            Some(f) => visitor.visit_f64(f).map_err(|e| self.fail(e)),
            None => Err(self.fail(DeError::invalid("a number"))),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mut chars = self.value.as_str().map(str::chars);
        match chars.as_mut().map(|c| (c.next(), c.next())) {
            Some((Some(c), None)) => visitor.visit_char(c).map_err(|e| self.fail(e)),
            _ => Err(self.fail(DeError::invalid("a single character"))),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.value {
            Value::String(s) => visitor.visit_str(s),
            Value::Number(n) => visitor.visit_string(n.to_string()),
            Value::Bool(b) => visitor.visit_string(b.to_string()),
            _ => return Err(self.fail(DeError::invalid("a string"))),
        };
        result.map_err(|e| self.fail(e))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::String(s) => visitor.visit_bytes(s.as_bytes()).map_err(|e| self.fail(e)),
            _ => self.deserialize_seq(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // `OCEAN__BASE_URL=` is how operators unset a value in env files and Helm charts.
        let empty = match self.value {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            _ => false,
        };
        if empty {
            visitor.visit_none().map_err(|e| self.fail(e))
        } else {
            let (path, value) = (self.path.clone(), self.value);
            visitor
                .visit_some(self)
                .map_err(|e: DeError| e.at(&path, value))
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_unit().map_err(|e| self.fail(e)),
            Value::String(s) if s.trim().is_empty() => {
                visitor.visit_unit().map_err(|e| self.fail(e))
            }
            _ => Err(self.fail(DeError::invalid("nothing (an empty value)"))),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (path, value) = (self.path.clone(), self.value);
        visitor
            .visit_newtype_struct(self)
            .map_err(|e: DeError| e.at(&path, value))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Array(items) => visitor
                .visit_seq(Seq::new(&self, items))
                .map_err(|e| self.fail(e)),
            Value::String(_) => {
                let decoded = self.decode_json("a list", Value::is_array, true)?;
                Lenient::new(&decoded, self.path, self.stand_ins).deserialize_seq(visitor)
            }
            _ => Err(self.fail(DeError::invalid("a list"))),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match self.value {
            Value::Object(map) => visitor
                .visit_map(Entries::new(&self, map))
                .map_err(|e| self.fail(e)),
            // A YAML key with nothing under it (`config:`) is an empty section.
            Value::Null => visitor
                .visit_map(Entries::new(&self, EMPTY.get_or_init(Map::new)))
                .map_err(|e| self.fail(e)),
            Value::String(_) => {
                let decoded = self.decode_json("an object", Value::is_object, false)?;
                Lenient::new(&decoded, self.path, self.stand_ins).deserialize_map(visitor)
            }
            _ => Err(self.fail(DeError::invalid("an object"))),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Value::String(s) => visitor
                .visit_enum(Variant {
                    name: s.trim(),
                    content: None,
                    parent: &self,
                })
                .map_err(|e| self.fail(e)),
            Value::Object(map) if map.len() == 1 => {
                let Some((name, content)) = map.iter().next() else {
                    return Err(self.fail(DeError::invalid("one variant name")));
                };
                visitor
                    .visit_enum(Variant {
                        name: name.as_str(),
                        content: Some(content),
                        parent: &self,
                    })
                    .map_err(|e| self.fail(e))
            }
            _ => Err(self.fail(DeError::invalid("a variant name"))),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.signed(visitor, "i8")
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.signed(visitor, "i16")
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.signed(visitor, "i32")
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.unsigned(visitor, "u8")
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.unsigned(visitor, "u16")
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.unsigned(visitor, "u32")
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }
}

/// The elements of a list node.
struct Seq<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
    path: Vec<Segment>,
    stand_ins: &'a [Vec<Segment>],
}

impl<'a> Seq<'a> {
    fn new(parent: &Lenient<'a>, items: &'a [Value]) -> Self {
        Self {
            items: items.iter().enumerate(),
            path: parent.path.clone(),
            stand_ins: parent.stand_ins,
        }
    }
}

impl<'de> SeqAccess<'de> for Seq<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((index, value)) = self.items.next() else {
            return Ok(None);
        };
        let mut path = self.path.clone();
        path.push(Segment::Index(index));
        // Validation done by the element's own `Deserialize` after reading (a range check, a
        // URL check) surfaces here without a path; it belongs to this element.
        seed.deserialize(Lenient::new(value, path.clone(), self.stand_ins))
            .map(Some)
            .map_err(|e| e.at(&path, value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// The entries of an object node.
struct Entries<'a> {
    entries: serde_json::map::Iter<'a>,
    pending: Option<(&'a String, &'a Value)>,
    path: Vec<Segment>,
    stand_ins: &'a [Vec<Segment>],
}

impl<'a> Entries<'a> {
    fn new(parent: &Lenient<'a>, map: &'a Map<String, Value>) -> Self {
        Self {
            entries: map.iter(),
            pending: None,
            path: parent.path.clone(),
            stand_ins: parent.stand_ins,
        }
    }
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        let mut path = self.path.clone();
        path.push(Segment::Key(key.clone()));
        let key_value = Value::String(key.clone());
        seed.deserialize(Lenient::new(&key_value, path, &[]))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((key, value)) = self.pending.take() else {
            return Err(de::Error::custom("a value was asked for before its key"));
        };
        let mut path = self.path.clone();
        path.push(Segment::Key(key.clone()));
        if self.stand_ins.contains(&path) {
            return seed.deserialize(Placeholder {
                path: path.clone(),
                recorder: None,
            });
        }
        // As for list elements: a field's own validation error belongs to this field.
        seed.deserialize(Lenient::new(value, path.clone(), self.stand_ins))
            .map_err(|e| e.at(&path, value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum variant: a bare name (`"ONCE"`) or a one-key object (`{"Name": content}`).
struct Variant<'p, 'a> {
    name: &'a str,
    content: Option<&'a Value>,
    parent: &'p Lenient<'a>,
}

impl<'de> EnumAccess<'de> for Variant<'_, '_> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self), DeError> {
        let name: de::value::StrDeserializer<'_, DeError> = self.name.into_deserializer();
        let tag = seed.deserialize(name)?;
        Ok((tag, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_, '_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.content {
            None | Some(Value::Null) => Ok(()),
            Some(_) => Err(DeError::invalid("a variant without content")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        match self.content {
            Some(content) => seed.deserialize(
                self.parent
                    .child(content, Segment::Key(self.name.to_owned())),
            ),
            None => Err(DeError::invalid("a variant with content")),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.content {
            Some(content) => self
                .parent
                .child(content, Segment::Key(self.name.to_owned()))
                .deserialize_seq(visitor),
            None => Err(DeError::invalid("a variant with a list of values")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.content {
            Some(content) => self
                .parent
                .child(content, Segment::Key(self.name.to_owned()))
                .deserialize_map(visitor),
            None => Err(DeError::invalid("a variant with fields")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::config::tree::SettingsTree;
    use serde::Deserialize;
    use serde_json::json;

    #[allow(clippy::needless_pass_by_value)] // lets tests write `read(json!(...))`
    fn read<T: de::DeserializeOwned>(value: Value) -> Result<T, ConfigError> {
        let tree = SettingsTree::new("OCEAN__");
        from_tree(&value, Vec::new(), tree.provenance())
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Typed {
        count: u32,
        ratio: f64,
        enabled: bool,
        tags: Vec<String>,
        labels: std::collections::BTreeMap<String, i64>,
        note: Option<String>,
        #[serde(default = "default_limit")]
        limit: u16,
    }

    fn default_limit() -> u16 {
        7
    }

    #[test]
    fn strings_are_coerced_to_what_each_field_asks_for() {
        let typed: Typed = read(json!({
            "count": " 42 ",
            "ratio": "0.5",
            "enabled": "TRUE",
            "tags": r#"["a","b"]"#,
            "labels": r#"{"x": 1}"#,
            "note": "",
        }))
        .unwrap();
        assert_eq!(
            typed,
            Typed {
                count: 42,
                ratio: 0.5,
                enabled: true,
                tags: vec!["a".into(), "b".into()],
                labels: [("x".to_owned(), 1)].into_iter().collect(),
                note: None,
                limit: 7,
            }
        );
    }

    #[test]
    fn numbers_and_booleans_become_strings_when_a_string_is_wanted() {
        #[derive(Deserialize)]
        struct S {
            a: String,
            b: Secret,
        }
        let s: S = read(json!({"a": 5, "b": true})).unwrap();
        assert_eq!(s.a, "5");
        assert_eq!(s.b.expose(), "true");
    }

    #[test]
    fn bad_integer_names_the_variable() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct S {
            department_count: u64,
        }
        let err = read::<S>(json!({"department_count": "ten"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__DEPARTMENT_COUNT: expected an unsigned integer, got \"ten\""
        );
    }

    #[test]
    fn out_of_range_integer_says_the_range() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct S {
            port: u16,
        }
        let err = read::<S>(json!({"port": "70000"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__PORT: expected an integer from 0 to 65535, got \"70000\""
        );
    }

    #[test]
    fn bad_list_element_is_named_by_index() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct S {
            ids: Vec<u8>,
        }
        let err = read::<S>(json!({"ids": "[1, \"x\"]"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__IDS[1]: expected an integer from 0 to 255, got \"x\""
        );
    }

    #[test]
    fn invalid_json_for_a_list_says_so() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct S {
            ids: Vec<u8>,
        }
        let err = read::<S>(json!({"ids": "1,2"})).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "OCEAN__IDS: expected a list (given as JSON), got \"1,2\", which is not valid JSON"
            ),
            "{err}"
        );
    }

    #[test]
    fn malformed_json_object_is_never_echoed() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Port {
            client_secret: String,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct S {
            port: Port,
        }
        for text in [r#"{"client_secret": "hunter2""#, r#"["hunter2"]"#] {
            let err = read::<S>(json!({ "port": text })).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with("OCEAN__PORT: expected an object (given as JSON), got "),
                "{message}"
            );
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn missing_required_field_is_named() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            host: String,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct S {
            inner: Inner,
        }
        let err = read::<S>(json!({"inner": {}})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__INNER__HOST: required setting is missing"
        );
    }

    #[test]
    fn sensitive_values_never_appear_in_errors() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct S {
            api_token: u32,
            client_secret: Vec<String>,
        }
        let err = read::<S>(json!({"api_token": "hunter2"})).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!format!("{err:?}").contains("hunter2"));
        let err = read::<S>(json!({"api_token": 1, "client_secret": "[hunter2"})).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!format!("{err:?}").contains("hunter2"));
    }

    #[test]
    fn enums_read_plain_names_and_report_choices() {
        #[derive(Debug, Deserialize, PartialEq)]
        enum Mode {
            Fast,
            Slow,
        }
        #[derive(Debug, Deserialize)]
        struct S {
            mode: Mode,
        }
        assert_eq!(read::<S>(json!({"mode": "Slow"})).unwrap().mode, Mode::Slow);
        let err = read::<S>(json!({"mode": "Medium"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__MODE: expected one of Fast, Slow, got \"Medium\""
        );
    }

    #[test]
    fn null_section_reads_as_empty_object() {
        #[derive(Debug, Deserialize, Default)]
        struct S {
            #[serde(default)]
            n: u8,
        }
        assert_eq!(read::<S>(Value::Null).unwrap().n, 0);
    }
}
