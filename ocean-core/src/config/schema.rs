//! Which `OCEAN__*` names the framework reads, learnt from the settings structs through serde,
//! so that a name nothing reads can be pointed out (most likely a typo) with the closest known
//! one, and a name whose feature does not exist yet can be refused.

use super::de::DeError;
use super::error::{ConfigError, SettingOrigin};
use super::placeholder::{Placeholder, Recorder, Shape, keys_of};
use super::tree::{Segment, SettingsTree};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Walks through the settings types that this many validators refuse placeholders at most.
const MAX_PASSES: usize = 64;

/// The keys a settings type reads: every struct's fields by key path, and the paths below
/// which any key is the type's own (maps, free-form values such as the integration's config).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Schema {
    shapes: BTreeMap<Vec<String>, Shape>,
}

impl Schema {
    /// The schema of `T`, read from its `Deserialize` implementation. A field whose validator
    /// refuses the made-up value stops a walk: it is left out of the next one (its name is
    /// already known), until a walk gets through.
    pub(crate) fn of<T: DeserializeOwned>() -> Self {
        let mut shapes = BTreeMap::new();
        let mut skip = BTreeSet::new();
        for _ in 0..MAX_PASSES {
            let recorder = Recorder::skipping(skip.clone());
            let result: Result<T, DeError> = T::deserialize(Placeholder {
                path: Vec::new(),
                recorder: Some(&recorder),
            });
            for (path, shape) in recorder.into_shapes() {
                shapes.entry(path).or_insert(shape);
            }
            let Err(error) = result else {
                break;
            };
            match error.path().and_then(keys_of) {
                Some(path) if !path.is_empty() => {
                    if !skip.insert(path) {
                        break;
                    }
                }
                _ => break,
            }
        }
        Self { shapes }
    }

    /// The fields of the struct at `path`, if a struct is read there.
    fn fields(&self, path: &[String]) -> Option<&'static [&'static str]> {
        match self.shapes.get(path) {
            Some(Shape::Struct(fields)) => Some(fields),
            _ => None,
        }
    }

    /// Whether any key below `path` is the type's own business.
    fn is_open_at(&self, path: &[String]) -> bool {
        (0..=path.len()).any(|len| self.shapes.get(&path[..len]) == Some(&Shape::Open))
    }

    /// Whether a struct (a section of settings) is read at `path`.
    fn is_section(&self, path: &[String]) -> bool {
        self.fields(path).is_some()
    }

    /// Whether something reads the setting at `path`.
    pub(crate) fn is_known(&self, path: &[String]) -> bool {
        let Some((last, parent)) = path.split_last() else {
            return true;
        };
        self.is_open_at(parent)
            || self
                .fields(parent)
                .is_some_and(|fields| fields.contains(&last.as_str()))
    }

    /// Every known setting's key path (sections and single settings), in order.
    fn known_paths(&self) -> Vec<Vec<String>> {
        let mut paths = Vec::new();
        for (parent, shape) in &self.shapes {
            if let Shape::Struct(fields) = shape {
                for field in *fields {
                    let mut path = parent.clone();
                    path.push((*field).to_owned());
                    paths.push(path);
                }
            }
        }
        paths
    }

    /// The known setting closest to `path`, when one is close enough to be what was meant:
    /// each key is corrected to the nearest field of its section, or else the whole name is
    /// compared with every known one.
    fn suggestion(&self, path: &[String]) -> Option<Vec<String>> {
        self.corrected_key_by_key(path)
            .or_else(|| self.closest_whole_name(path))
    }

    fn corrected_key_by_key(&self, path: &[String]) -> Option<Vec<String>> {
        let mut corrected: Vec<String> = Vec::with_capacity(path.len());
        for key in path {
            if self.is_open_at(&corrected) {
                corrected.push(key.clone());
                continue;
            }
            let fields = self.fields(&corrected)?;
            let nearest = fields
                .iter()
                .map(|field| (strsim::damerau_levenshtein(key, field), *field))
                .min()
                .filter(|(distance, field)| is_close(*distance, key, field))?;
            corrected.push(nearest.1.to_owned());
        }
        (corrected != path && self.is_known(&corrected)).then_some(corrected)
    }

    fn closest_whole_name(&self, path: &[String]) -> Option<Vec<String>> {
        let name = path.join("__");
        self.known_paths()
            .into_iter()
            .map(|known| (strsim::damerau_levenshtein(&name, &known.join("__")), known))
            .min()
            .filter(|(distance, known)| is_close(*distance, &name, &known.join("__")))
            .map(|(_, known)| known)
    }
}

/// Whether an edit distance between two names is small enough for a typo: one edit in a short
/// name, up to a third of the shorter name in a long one.
fn is_close(distance: usize, a: &str, b: &str) -> bool {
    let shorter = a.chars().count().min(b.chars().count());
    distance > 0 && distance <= (shorter / 3).max(1)
}

/// An `OCEAN__` setting that nothing reads: most likely a typo, so it is logged with the
/// closest known name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSetting {
    /// The setting's variable name (`OCEAN__EVENT_LISTENR__TYPE`), however it was given.
    pub name: String,
    /// The closest known variable name, when one is close enough to be what was meant.
    pub suggestion: Option<String>,
    /// Where it was set (a variable, a `.env` entry, a `config.yaml` key).
    pub origin: SettingOrigin,
}

impl fmt::Display for UnknownSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a setting; it is ignored", self.name)?;
        if let Some(place) = self.origin.place(&self.name) {
            write!(f, " (set by {place})")?;
        }
        if let Some(suggestion) = &self.suggestion {
            write!(f, "; did you mean {suggestion}?")?;
        }
        Ok(())
    }
}

/// Settings Python Ocean has whose feature does not exist here yet, with the reason: setting
/// any of them stops startup rather than being silently ignored.
const NOT_AVAILABLE: &[(&[&str], &str)] = &[(
    &["live_events", "redis"],
    "the Redis queue backend is not available yet",
)];

/// Every setting given in `tree`, by key path. A section given as one JSON string is looked
/// into; what is below an open path (the integration's own config) is not.
fn given_settings(tree: &SettingsTree, schema: &Schema) -> Vec<Vec<String>> {
    fn walk(node: &Value, path: &mut Vec<String>, schema: &Schema, out: &mut Vec<Vec<String>>) {
        if !path.is_empty() && schema.is_open_at(path) {
            return;
        }
        let decoded;
        let map = match node {
            Value::Object(map) => map,
            Value::String(text) if schema.is_section(path) => {
                decoded = serde_json::from_str::<Value>(text.trim()).ok();
                match &decoded {
                    Some(Value::Object(map)) => map,
                    _ => return out.push(path.clone()),
                }
            }
            _ => return out.push(path.clone()),
        };
        if map.is_empty() && !path.is_empty() {
            out.push(path.clone());
        }
        for (key, child) in map {
            path.push(key.clone());
            walk(child, path, schema, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(tree.root(), &mut Vec::new(), schema, &mut out);
    out
}

fn segments(path: &[String]) -> Vec<Segment> {
    path.iter().cloned().map(Segment::Key).collect()
}

/// The settings in `tree` that nothing in `schema` reads, with a suggestion each.
/// Sorted by name.
pub(crate) fn unknown_settings(tree: &SettingsTree, schema: &Schema) -> Vec<UnknownSetting> {
    let provenance = tree.provenance();
    let mut unknown: Vec<UnknownSetting> = given_settings(tree, schema)
        .into_iter()
        .filter(|path| !schema.is_known(path))
        .map(|path| {
            let segments = segments(&path);
            UnknownSetting {
                name: provenance.variable_name(&segments),
                suggestion: schema
                    .suggestion(&path)
                    .map(|known| provenance.variable_name(&self::segments(&known))),
                origin: provenance.origin_of(&segments),
            }
        })
        .collect();
    unknown.sort_by(|a, b| a.name.cmp(&b.name));
    unknown
}

/// Refuses a setting whose feature does not exist yet (the first one found).
pub(crate) fn refuse_unavailable(tree: &SettingsTree, schema: &Schema) -> Result<(), ConfigError> {
    let provenance = tree.provenance();
    for path in given_settings(tree, schema) {
        let refused = NOT_AVAILABLE.iter().find(|(prefix, _)| {
            path.len() >= prefix.len() && path.iter().zip(prefix.iter()).all(|(a, b)| a == b)
        });
        if let Some((prefix, why)) = refused {
            let segments = segments(&path);
            let variable = provenance.variable_name(&segments);
            let family = provenance.variable_name(&self::segments(
                &prefix.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>(),
            ));
            return Err(ConfigError::Rejected {
                reason: format!("{why}; unset {variable} (and every {family}__* setting)"),
                variable,
                origin: Box::new(provenance.origin_of(&segments)),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        interval: u32,
        #[serde(default)]
        kind: Option<String>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        #[serde(deserialize_with = "refuse_everything")]
        picky: String,
        inner: Inner,
        extra: serde_json::Value,
        labels: std::collections::BTreeMap<String, String>,
    }

    fn refuse_everything<'de, D: serde::Deserializer<'de>>(_: D) -> Result<String, D::Error> {
        Err(serde::de::Error::custom("never"))
    }

    fn keys(path: &str) -> Vec<String> {
        path.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn schema_is_read_from_the_types_even_past_a_refusing_validator() {
        let schema = Schema::of::<Outer>();
        for known in [
            "name",
            "picky",
            "inner",
            "inner.interval",
            "inner.kind",
            "extra.anything.below",
            "labels.any_key",
        ] {
            assert!(schema.is_known(&keys(known)), "{known}");
        }
        for unknown in ["nmae", "inner.intervall", "inner.interval.deeper"] {
            assert!(!schema.is_known(&keys(unknown)), "{unknown}");
        }
    }

    #[test]
    fn suggests_the_nearest_known_name_key_by_key_or_as_a_whole() {
        let schema = Schema::of::<Outer>();
        assert_eq!(
            schema.suggestion(&keys("innr.intervl")),
            Some(keys("inner.interval"))
        );
        assert_eq!(schema.suggestion(&keys("nmae")), Some(keys("name")));
        assert_eq!(schema.suggestion(&keys("completely_else")), None);
    }

    #[test]
    fn closeness_allows_one_edit_in_short_names_and_a_third_in_long_ones() {
        assert!(is_close(1, "tpye", "type"));
        assert!(!is_close(2, "ab", "cd"));
        assert!(is_close(3, "event_listenr", "event_listener"));
        assert!(!is_close(0, "same", "same"));
    }
}
