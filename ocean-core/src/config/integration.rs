//! The integration's own settings (`OCEAN__INTEGRATION__CONFIG__<KEY>`), kept raw until the
//! author reads them into a typed struct.

use super::de::from_tree;
use super::error::ConfigError;
use super::tree::{Provenance, Segment};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// The raw integration-specific values from every source. They may hold secrets, so `Debug`
/// lists the keys only; read them with [`IntegrationConfigValues::parse`] (or
/// `OceanSettings::integration_config`).
#[derive(Clone, Default)]
pub struct IntegrationConfigValues {
    values: Value,
    provenance: Provenance,
}

impl IntegrationConfigValues {
    pub(crate) fn new(values: Value) -> Self {
        Self {
            values,
            provenance: Provenance::default(),
        }
    }

    pub(crate) fn set_provenance(&mut self, provenance: Provenance) {
        self.provenance = provenance;
    }

    /// The values read into the author's type. Keys are snake_case field names; strings are
    /// coerced to each field's type (integers, floats, bools, JSON lists and objects, `Secret`,
    /// `Option`); `#[serde(default)]` is honoured; a missing required field is reported as
    /// `OCEAN__INTEGRATION__CONFIG__<KEY>: required setting is missing`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let path = vec![
            Segment::Key("integration".to_owned()),
            Segment::Key("config".to_owned()),
        ];
        from_tree(&self.values, path, &self.provenance)
    }

    /// One raw value by its snake_case key. May be a secret: never log it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.as_object()?.get(key)
    }

    /// The keys that have a value.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values
            .as_object()
            .into_iter()
            .flat_map(|map| map.keys().map(String::as_str))
    }
}

impl fmt::Debug for IntegrationConfigValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_set();
        match &self.values {
            Value::Object(map) => {
                list.entries(map.keys());
            }
            Value::Null => {}
            // The whole config given as one (JSON) string: its content is not shown.
            _ => {
                list.entry(&"<one value>");
            }
        }
        list.finish()
    }
}
