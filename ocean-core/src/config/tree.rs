//! The merged settings tree: every source layered into one JSON value, remembering where each
//! value came from so errors can name the variable and the file or override behind it.

use super::error::SettingOrigin;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// One step of a path inside the settings tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// Key fragments that mark a setting as sensitive: its value never appears in an error.
const SENSITIVE_FRAGMENTS: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "private_key",
    "api_key",
    "apikey",
    "client_id",
    "credential",
];

/// Whether a path names a setting whose value must not be shown.
pub(crate) fn is_sensitive(path: &[Segment]) -> bool {
    path.iter().any(|segment| match segment {
        Segment::Key(key) => {
            let key = key.to_ascii_lowercase();
            SENSITIVE_FRAGMENTS.iter().any(|f| key.contains(f))
        }
        Segment::Index(_) => false,
    })
}

/// How errors name settings (`OCEAN__` + upper-case keys joined by `__`) and where values came
/// from. Kept after loading so later typed reads (integration config) report the same way.
#[derive(Clone, Default)]
pub(crate) struct Provenance {
    prefix: String,
    origins: BTreeMap<Vec<String>, SettingOrigin>,
}

impl fmt::Debug for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provenance")
            .field("prefix", &self.prefix)
            .field("settings", &self.origins.len())
            .finish()
    }
}

impl Provenance {
    /// The environment-variable name of a path: `OCEAN__INTEGRATION__CONFIG__TAGS[1]`.
    pub(crate) fn variable_name(&self, path: &[Segment]) -> String {
        let mut name = self.prefix.clone();
        let mut first = true;
        for segment in path {
            match segment {
                Segment::Key(key) => {
                    if !first {
                        name.push_str("__");
                    }
                    name.push_str(&key.to_ascii_uppercase());
                    first = false;
                }
                Segment::Index(i) => name.push_str(&format!("[{i}]")),
            }
        }
        name
    }

    /// The origin recorded for the longest prefix of `path` that has one.
    pub(crate) fn origin_of(&self, path: &[Segment]) -> SettingOrigin {
        let keys: Vec<String> = path
            .iter()
            .map_while(|segment| match segment {
                Segment::Key(key) => Some(key.clone()),
                Segment::Index(_) => None,
            })
            .collect();
        (0..=keys.len())
            .rev()
            .find_map(|len| self.origins.get(&keys[..len]))
            .cloned()
            .unwrap_or(SettingOrigin::Unset)
    }
}

/// Settings from all sources merged into one JSON object.
#[derive(Debug, Clone)]
pub(crate) struct SettingsTree {
    root: Value,
    provenance: Provenance,
}

impl SettingsTree {
    /// An empty tree whose variables are named with `prefix` (`"OCEAN__"`).
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            root: Value::Object(Map::new()),
            provenance: Provenance {
                prefix: prefix.to_owned(),
                origins: BTreeMap::new(),
            },
        }
    }

    /// The merged value.
    pub(crate) fn root(&self) -> &Value {
        &self.root
    }

    /// Naming and origins of the merged values.
    pub(crate) fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The value at a key path, if any.
    #[cfg(test)]
    pub(crate) fn get(&self, path: &[&str]) -> Option<&Value> {
        path.iter()
            .try_fold(&self.root, |node, key| node.as_object()?.get(*key))
    }

    /// Sets `value` at `path`, overriding what lower-precedence sources put there. An object
    /// (or a string holding a JSON object) merges into an existing object key by key, the way
    /// `OCEAN__EVENT_LISTENER='{"type":"ONCE"}'` combines with `OCEAN__EVENT_LISTENER__INTERVAL`.
    pub(crate) fn set(&mut self, path: &[String], value: Value, origin: &SettingOrigin) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut node = &mut self.root;
        let mut walked: Vec<String> = Vec::with_capacity(path.len());
        for key in parents {
            walked.push(key.clone());
            let Some(map) = as_object_mut(node) else {
                return;
            };
            let child = map.entry(key.clone()).or_insert(Value::Null);
            if !child.is_object() {
                // A JSON-valued parent set earlier becomes an object its children can refine;
                // any other scalar is replaced by the deeper, more specific setting.
                *child = match decode_json_object(child) {
                    Some(object) => Value::Object(object),
                    None => {
                        self.provenance
                            .origins
                            .retain(|k, _| !k.starts_with(&walked));
                        Value::Object(Map::new())
                    }
                };
            }
            node = child;
        }
        let Some(map) = as_object_mut(node) else {
            return;
        };
        let incoming = match &value {
            Value::String(_) if map.get(last).is_some_and(Value::is_object) => {
                decode_json_object(&value)
                    .map(Value::Object)
                    .unwrap_or(value)
            }
            _ => value,
        };
        match (map.get_mut(last), incoming) {
            (Some(existing @ Value::Object(_)), Value::Object(incoming)) => {
                // Keys absent from the merged object are reported as "not given in" it.
                self.provenance
                    .origins
                    .insert(path.to_vec(), origin.clone());
                let mut at = path.to_vec();
                merge_into(
                    existing,
                    incoming,
                    &mut at,
                    origin,
                    &mut self.provenance.origins,
                );
            }
            (_, incoming) => {
                map.insert(last.clone(), incoming);
                self.provenance.origins.retain(|k, _| !k.starts_with(path));
                self.provenance
                    .origins
                    .insert(path.to_vec(), origin.clone());
            }
        }
    }
}

/// `node` as an object, turning anything else into an empty one first (so this is always
/// `Some`; the `Option` only spares us an unreachable panic).
fn as_object_mut(node: &mut Value) -> Option<&mut Map<String, Value>> {
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    node.as_object_mut()
}

/// A string value that holds a JSON object, decoded.
fn decode_json_object(value: &Value) -> Option<Map<String, Value>> {
    let text = value.as_str()?.trim();
    if !text.starts_with('{') {
        return None;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn merge_into(
    existing: &mut Value,
    incoming: Map<String, Value>,
    at: &mut Vec<String>,
    origin: &SettingOrigin,
    origins: &mut BTreeMap<Vec<String>, SettingOrigin>,
) {
    let Some(map) = as_object_mut(existing) else {
        return;
    };
    for (key, value) in incoming {
        at.push(key.clone());
        match (map.get_mut(&key), value) {
            (Some(child @ Value::Object(_)), Value::Object(nested)) => {
                merge_into(child, nested, at, origin, origins);
            }
            (_, value) => {
                origins.retain(|k, _| !k.starts_with(at));
                origins.insert(at.clone(), origin.clone());
                map.insert(key, value);
            }
        }
        at.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(path: &str) -> Vec<String> {
        path.split('.').map(str::to_owned).collect()
    }

    fn env(name: &str) -> SettingOrigin {
        SettingOrigin::Environment { name: name.into() }
    }

    #[test]
    fn nested_variable_refines_a_json_object_set_before_it() {
        let mut tree = SettingsTree::new("OCEAN__");
        tree.set(
            &keys("event_listener"),
            json!(r#"{"type":"ONCE","interval":5}"#),
            &env("OCEAN__EVENT_LISTENER"),
        );
        tree.set(
            &keys("event_listener.interval"),
            json!("7"),
            &env("OCEAN__EVENT_LISTENER__INTERVAL"),
        );
        assert_eq!(
            tree.get(&["event_listener"]),
            Some(&json!({"type": "ONCE", "interval": "7"}))
        );
    }

    #[test]
    fn json_object_merges_into_an_object_from_a_lower_layer() {
        let mut tree = SettingsTree::new("OCEAN__");
        let yaml = SettingOrigin::ConfigYaml {
            path: "config.yaml".into(),
            key: "eventListener.interval".into(),
        };
        tree.set(&keys("event_listener.interval"), json!(30), &yaml);
        tree.set(
            &keys("event_listener"),
            json!(r#"{"type":"ONCE"}"#),
            &env("OCEAN__EVENT_LISTENER"),
        );
        assert_eq!(
            tree.get(&["event_listener"]),
            Some(&json!({"interval": 30, "type": "ONCE"}))
        );
        let p = tree.provenance();
        let path = [
            Segment::Key("event_listener".into()),
            Segment::Key("type".into()),
        ];
        assert_eq!(p.origin_of(&path), env("OCEAN__EVENT_LISTENER"));
        let path = [
            Segment::Key("event_listener".into()),
            Segment::Key("interval".into()),
        ];
        assert_eq!(p.origin_of(&path), yaml);
    }

    #[test]
    fn variable_names_are_upper_case_joined_by_double_underscore() {
        let tree = SettingsTree::new("OCEAN__");
        let path = [
            Segment::Key("integration".into()),
            Segment::Key("config".into()),
            Segment::Key("tags".into()),
            Segment::Index(1),
        ];
        assert_eq!(
            tree.provenance().variable_name(&path),
            "OCEAN__INTEGRATION__CONFIG__TAGS[1]"
        );
    }

    #[test]
    fn sensitive_paths_are_recognised_by_key() {
        assert!(is_sensitive(&[
            Segment::Key("port".into()),
            Segment::Key("client_secret".into())
        ]));
        assert!(is_sensitive(&[Segment::Key("API_TOKEN".into())]));
        assert!(!is_sensitive(&[Segment::Key("event_workers_count".into())]));
    }
}
