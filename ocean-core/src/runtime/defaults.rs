//! Default Port resources: the integration installation with its default mapping, and the
//! blueprints the integration's kinds are written to (`.port/resources/`).

use super::IntegrationInfo;
use crate::config::OceanSettings;
use crate::mapping::PortAppConfig;
use crate::port::client::{PortClient, PortError};
use crate::port::types::{Blueprint, Integration};
use futures::future::join_all;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// Blueprint keys left out of the first, bare creation: they may refer to blueprints that do
/// not exist yet.
const DEFERRED_BLUEPRINT_KEYS: &[&str] = &[
    "teamInheritance",
    "ownership",
    "calculationProperties",
    "mirrorProperties",
    "aggregationProperties",
];

/// The `createPortResourcesOrigin` sent when creating the integration: Ocean's name for default
/// resources the integration creates itself from its `.port/resources`.
pub const CREATE_RESOURCES_ORIGIN: &str = "Default";

/// Why the default resources could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DefaultsError {
    /// A defaults file could not be read.
    #[error("could not read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A defaults file is not what it should hold.
    #[error("{} is invalid: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What was expected and what came.
        message: String,
    },
    /// Port refused a call.
    #[error("{action}: {source}")]
    Port {
        /// What was being done.
        action: String,
        /// Port's answer.
        source: PortError,
    },
    /// Creating the blueprints failed; those created were deleted again.
    #[error("creating the default blueprints failed (the ones created were removed): {}", .0.join("; "))]
    Blueprints(Vec<String>),
}

fn port_error(action: impl Into<String>) -> impl FnOnce(PortError) -> DefaultsError {
    let action = action.into();
    move |source| DefaultsError::Port { action, source }
}

/// What `.port/resources/` holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DefaultResources {
    /// The default port-app-config, as JSON (validated).
    pub port_app_config: Option<Value>,
    /// The default blueprints, in file order.
    pub blueprints: Vec<Blueprint>,
}

/// The directory holding the default resources: `OCEAN__RESOURCES_PATH` (default
/// `.port/resources`) relative to the working directory, else relative to the integration's
/// package directory, so `cargo run -p <integration>` works from the workspace root.
pub fn resolve_resources_path(settings: &OceanSettings, info: &IntegrationInfo) -> PathBuf {
    let configured = &settings.resources_path;
    if configured.is_absolute() || configured.is_dir() {
        return configured.clone();
    }
    let beside_package = Path::new(info.manifest_dir).join(configured);
    if beside_package.is_dir() {
        beside_package
    } else {
        configured.clone()
    }
}

async fn read_optional(path: &Path) -> Result<Option<String>, DefaultsError> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DefaultsError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The first of `{dir}/{stem}.{json,yaml,yml}` that exists, parsed as JSON or YAML.
async fn read_document(dir: &Path, stem: &str) -> Result<Option<(PathBuf, Value)>, DefaultsError> {
    for ext in ["json", "yaml", "yml"] {
        let path = dir.join(format!("{stem}.{ext}"));
        let Some(text) = read_optional(&path).await? else {
            continue;
        };
        let parsed: Result<Value, String> = if ext == "json" {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            serde_norway::from_str(&text).map_err(|e| e.to_string())
        };
        let value = parsed.map_err(|message| DefaultsError::Invalid {
            path: path.clone(),
            message,
        })?;
        return Ok(Some((path, value)));
    }
    Ok(None)
}

impl DefaultResources {
    /// Reads `port-app-config.{yml,yaml,json}` and `blueprints.{json,yaml,yml}` from `dir`;
    /// missing files (or a missing directory) give empty defaults.
    pub async fn load(dir: &Path) -> Result<Self, DefaultsError> {
        let mut defaults = Self::default();
        if let Some((path, value)) = read_document(dir, "port-app-config").await? {
            PortAppConfig::from_value(&value).map_err(|e| DefaultsError::Invalid {
                path: path.clone(),
                message: e.to_string(),
            })?;
            defaults.port_app_config = Some(value);
        }
        if let Some((path, value)) = read_document(dir, "blueprints").await? {
            defaults.blueprints =
                serde_json::from_value(value).map_err(|e| DefaultsError::Invalid {
                    path,
                    message: format!("expected an array of blueprints: {e}"),
                })?;
        }
        Ok(defaults)
    }
}

fn is_empty_config(config: Option<&Value>) -> bool {
    match config {
        None | Some(Value::Null) => true,
        Some(Value::Object(map)) => map.is_empty(),
        Some(_) => false,
    }
}

/// Creates the integration installation when Port has none, and otherwise brings its type and
/// version up to date and fills an empty mapping in.
///
/// As in Python Ocean, the creation carries the default mapping whatever
/// `initialize_port_resources` says (Ocean's `DefaultOriginSetup` hands its default mapping to
/// `create_integration` before looking at the setting), while an existing installation's empty
/// mapping is filled only when `initialize_port_resources` is set.
pub async fn ensure_integration(
    port: &PortClient,
    settings: &OceanSettings,
    info: &IntegrationInfo,
    defaults: &DefaultResources,
) -> Result<Integration, DefaultsError> {
    let id = &settings.integration.identifier;
    let kind = &settings.integration.r#type;
    let existing = port
        .get_integration(id)
        .await
        .map_err(port_error(format!("reading the integration `{id}`")))?;
    let Some(mut integration) = existing else {
        // The fields Python Ocean sends on creation. This framework runs no action processor
        // nor incremental sync, and sets its defaults up itself from `.port/resources`, which
        // Ocean calls the `Default` origin.
        let mut extra = Map::new();
        extra.insert("changelogDestination".into(), json!({}));
        extra.insert("actionsProcessingEnabled".into(), json!(false));
        extra.insert("incrementalSyncEnabled".into(), json!(false));
        extra.insert(
            "createPortResourcesOrigin".into(),
            json!(CREATE_RESOURCES_ORIGIN),
        );
        let new = Integration {
            installation_id: id.clone(),
            installation_app_type: Some(kind.clone()),
            version: Some(info.version.to_owned()),
            config: Some(
                defaults
                    .port_app_config
                    .clone()
                    .unwrap_or_else(|| json!({})),
            ),
            resync_state: None,
            extra,
        };
        let created = port
            .create_integration(&new)
            .await
            .map_err(port_error(format!("creating the integration `{id}`")))?;
        tracing::info!(identifier = %id, integration_type = %kind, "integration created in Port");
        return Ok(created);
    };
    let mut patch = Map::new();
    if integration.installation_app_type.as_deref() != Some(kind.as_str()) {
        patch.insert("installationAppType".into(), json!(kind));
    }
    if integration.version.as_deref() != Some(info.version) {
        patch.insert("version".into(), json!(info.version));
    }
    if !patch.is_empty() {
        integration = port
            .patch_integration(id, &Value::Object(patch))
            .await
            .map_err(port_error(format!("updating the integration `{id}`")))?;
    }
    if settings.initialize_port_resources
        && is_empty_config(integration.config.as_ref())
        && let Some(config) = &defaults.port_app_config
    {
        // Ocean asks Port to skip the resync of this change only on its SaaS runtime, which this
        // framework does not have: on-premises Ocean lets Port resync.
        integration = port
            .patch_integration_config(id, config)
            .await
            .map_err(port_error(format!(
                "setting the default mapping of integration `{id}`"
            )))?;
        tracing::info!(identifier = %id, "the default mapping was set on the integration");
    }
    Ok(integration)
}

/// What [`ensure_blueprints`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlueprintsOutcome {
    /// There were no default blueprints.
    NoneDefined,
    /// At least one of them already existed, so none was touched.
    AlreadyPresent(Vec<String>),
    /// All were created.
    Created(Vec<String>),
}

fn bare(blueprint: &Blueprint) -> Blueprint {
    let mut bare = blueprint.clone();
    bare.relations = Map::new();
    for key in DEFERRED_BLUEPRINT_KEYS {
        bare.extra.remove(*key);
    }
    bare
}

async fn rollback(port: &PortClient, created: &[String]) {
    for id in created {
        if let Err(error) = port.delete_blueprint(id).await {
            tracing::warn!(blueprint = %id, %error, "rollback: could not delete the blueprint");
        }
    }
}

/// Creates the default blueprints when none of them exists: every one bare first, then each
/// completed with its relations and the rest once all exist. Any failure deletes those created.
pub async fn ensure_blueprints(
    port: &PortClient,
    blueprints: &[Blueprint],
) -> Result<BlueprintsOutcome, DefaultsError> {
    if blueprints.is_empty() {
        return Ok(BlueprintsOutcome::NoneDefined);
    }
    let lookups = join_all(blueprints.iter().map(|b| port.get_blueprint(&b.identifier))).await;
    let mut present = Vec::new();
    for (blueprint, lookup) in blueprints.iter().zip(lookups) {
        match lookup {
            Ok(_) => present.push(blueprint.identifier.clone()),
            Err(PortError::NotFound { .. }) => {}
            Err(source) => {
                return Err(DefaultsError::Port {
                    action: format!("reading the blueprint `{}`", blueprint.identifier),
                    source,
                });
            }
        }
    }
    if !present.is_empty() {
        tracing::info!(
            blueprints = ?present,
            "Blueprints already exist; skipping the creation of the default resources"
        );
        return Ok(BlueprintsOutcome::AlreadyPresent(present));
    }
    let bare_forms: Vec<Blueprint> = blueprints.iter().map(bare).collect();
    let creations = join_all(bare_forms.iter().map(|b| port.create_blueprint(b))).await;
    let mut created = Vec::new();
    let mut errors = Vec::new();
    for (blueprint, result) in blueprints.iter().zip(creations) {
        match result {
            Ok(_) => created.push(blueprint.identifier.clone()),
            Err(e) => errors.push(format!("creating `{}`: {e}", blueprint.identifier)),
        }
    }
    if errors.is_empty() {
        for blueprint in blueprints {
            let full = match serde_json::to_value(blueprint) {
                Ok(full) => full,
                Err(e) => {
                    errors.push(format!("serialising `{}`: {e}", blueprint.identifier));
                    break;
                }
            };
            if let Err(e) = port.patch_blueprint(&blueprint.identifier, &full).await {
                errors.push(format!("completing `{}`: {e}", blueprint.identifier));
                break;
            }
        }
    }
    if !errors.is_empty() {
        rollback(port, &created).await;
        return Err(DefaultsError::Blueprints(errors));
    }
    tracing::info!(blueprints = ?created, "default blueprints created");
    Ok(BlueprintsOutcome::Created(created))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_blueprints_have_no_relations_nor_computed_properties() {
        let blueprint: Blueprint = serde_json::from_value(json!({
            "identifier": "person",
            "schema": {"properties": {"age": {"type": "number"}}},
            "relations": {"department": {"target": "department", "many": false}},
            "mirrorProperties": {"dept": {"path": "department.$title"}},
            "icon": "User"
        }))
        .unwrap();
        let bare = serde_json::to_value(bare(&blueprint)).unwrap();
        assert_eq!(bare["relations"], json!({}));
        assert!(bare.get("mirrorProperties").is_none());
        assert_eq!(bare["schema"]["properties"]["age"]["type"], "number");
    }

    #[test]
    fn empty_config_means_missing_null_or_empty_object() {
        assert!(is_empty_config(None));
        assert!(is_empty_config(Some(&Value::Null)));
        assert!(is_empty_config(Some(&json!({}))));
        assert!(!is_empty_config(Some(&json!({"resources": []}))));
    }

    #[tokio::test]
    async fn loads_yaml_mapping_and_json_blueprints() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("port-app-config.yml"),
            "resources:\n  - kind: a\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"a\"'\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("blueprints.json"),
            r#"[{"identifier": "a", "schema": {"properties": {}}}]"#,
        )
        .unwrap();
        let defaults = DefaultResources::load(dir.path()).await.unwrap();
        assert_eq!(defaults.blueprints.len(), 1);
        assert_eq!(
            defaults.port_app_config.unwrap()["resources"][0]["kind"],
            "a"
        );
    }

    #[tokio::test]
    async fn an_invalid_mapping_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("port-app-config.json"),
            "{\"resources\": 3}",
        )
        .unwrap();
        let err = DefaultResources::load(dir.path()).await.unwrap_err();
        assert!(err.to_string().contains("port-app-config.json"), "{err}");
    }
}
