//! Everything the local Port holds, shared by the request handlers, and its state file.

use super::LocalPortError;
use super::clock::Clock;
use super::entity::LocalEntity;
use super::faults::FaultConfig;
use super::schema::CompiledBlueprint;
use super::store::Store;
use crate::config::Secret;
use crate::port::types::Blueprint;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Server settings fixed at start.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    pub(crate) token_ttl: Duration,
    pub(crate) faults: FaultConfig,
    pub(crate) organization_id: String,
}

/// Integrations and what hangs off them.
#[derive(Debug, Default)]
pub(crate) struct Integrations {
    pub(crate) items: BTreeMap<String, Value>,
    pub(crate) resync_requests: BTreeMap<String, Value>,
    pub(crate) examples: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
}

/// The shared state of one local Port.
pub(crate) struct Shared {
    pub(crate) store: RwLock<Store>,
    pub(crate) integrations: Mutex<Integrations>,
    pub(crate) webhooks: Mutex<IndexMap<String, Value>>,
    pub(crate) tokens: RwLock<HashMap<String, Instant>>,
    pub(crate) clock: Clock,
    pub(crate) settings: Settings,
    /// Requests subject to fault injection, numbering the fault draws.
    pub(crate) requests: AtomicU64,
    /// Every request received (what tests wait on to know a client has called).
    pub(crate) received: AtomicU64,
    /// Writes done, so that a periodic save can skip an unchanged state.
    pub(crate) writes: AtomicU64,
}

// Not derived: tokens and webhook secrets must never reach a Debug output.
impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("settings", &self.settings)
            .field("requests", &self.requests)
            .field("received", &self.received)
            .field("writes", &self.writes)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// A state from its parts.
    pub(crate) fn new(settings: Settings, file: StateFile) -> Result<Self, String> {
        let (store, integrations, webhooks) = file.into_parts()?;
        let clock = Clock::starting_after(store.newest_write());
        Ok(Self {
            store: RwLock::new(store),
            integrations: Mutex::new(integrations),
            webhooks: Mutex::new(webhooks),
            tokens: RwLock::new(HashMap::new()),
            clock,
            settings,
            requests: AtomicU64::new(0),
            received: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        })
    }

    // A panic cannot happen while these locks are held (no handler code panics), and if one
    // did, the data is still consistent enough to serve a local emulator: keep going.

    /// Reads the catalog.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the catalog.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The integrations.
    pub(crate) fn integrations(&self) -> MutexGuard<'_, Integrations> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.integrations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The webhooks.
    pub(crate) fn webhooks(&self) -> MutexGuard<'_, IndexMap<String, Value>> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.webhooks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Issues a token valid for the configured time.
    pub(crate) fn issue_token(&self) -> String {
        let token = format!(
            "local-{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let now = Instant::now();
        let mut tokens = self.tokens.write().unwrap_or_else(PoisonError::into_inner);
        if tokens.len() >= 1024 {
            tokens.retain(|_, expires| *expires > now);
        }
        tokens.insert(token.clone(), now + self.settings.token_ttl);
        token
    }

    /// True when the token was issued here and has not expired.
    pub(crate) fn token_is_valid(&self, token: &str) -> bool {
        let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        tokens
            .get(token)
            .is_some_and(|expires| Instant::now() < *expires)
    }

    /// Forgets every token, so the next request of each client gets a 401.
    pub(crate) fn revoke_tokens(&self) {
        self.tokens
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// A copy of everything, for the state file and for inspection.
    pub(crate) fn snapshot(&self) -> StateFile {
        let (blueprints, entities, migrations) = {
            let store = self.read();
            (
                store.blueprints.values().map(|b| b.raw.clone()).collect(),
                store.all_local_entities(),
                store.migrations.clone(),
            )
        };
        let (integrations, resync_requests, examples) = {
            let i = self
                .integrations
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            (
                i.items.values().cloned().collect(),
                i.resync_requests.clone(),
                i.examples.clone(),
            )
        };
        let webhooks = self
            .webhooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        StateFile {
            version: StateFile::VERSION,
            blueprints,
            entities,
            integrations,
            resync_requests,
            examples,
            webhooks,
            migrations,
        }
    }
}

/// The whole state of a local Port as JSON: what `--state FILE` holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateFile {
    /// Format version.
    #[serde(default)]
    pub version: u32,
    /// Blueprints in identifier order.
    #[serde(default)]
    pub blueprints: Vec<Blueprint>,
    /// Entities, blueprint by blueprint, in identifier order.
    #[serde(default)]
    pub entities: Vec<LocalEntity>,
    /// Integrations as Port returns them.
    #[serde(default)]
    pub integrations: Vec<Value>,
    /// Pending resync requests by integration.
    #[serde(default)]
    pub resync_requests: BTreeMap<String, Value>,
    /// Raw data examples by integration and kind.
    #[serde(default)]
    pub examples: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
    /// Webhooks, secrets included (the file is written readable by its owner only).
    #[serde(default)]
    pub webhooks: Vec<Value>,
    /// Finished migrations by id.
    #[serde(default)]
    pub migrations: BTreeMap<String, Value>,
}

impl StateFile {
    /// The current format version.
    pub const VERSION: u32 = 1;

    /// Splits a state file into the catalog, the integrations and the webhooks.
    pub(crate) fn into_parts(
        self,
    ) -> Result<(Store, Integrations, IndexMap<String, Value>), String> {
        let mut store = Store::default();
        for raw in &self.blueprints {
            let compiled = CompiledBlueprint::compile(raw.clone())
                .map_err(|e| format!("blueprint \"{}\": {}", raw.identifier, e.message))?;
            store
                .blueprints
                .insert(raw.identifier.clone(), Arc::new(compiled));
        }
        for bp in store.blueprints.values() {
            for (name, relation) in &bp.relations {
                if !store.blueprints.contains_key(&relation.target) {
                    return Err(format!(
                        "blueprint \"{}\": relation \"{name}\" targets unknown blueprint \"{}\"",
                        bp.identifier(),
                        relation.target
                    ));
                }
            }
        }
        for entity in self.entities {
            store.load_entity(entity)?;
        }
        store.migrations = self.migrations;
        let mut integrations = Integrations {
            resync_requests: self.resync_requests,
            examples: self.examples,
            ..Default::default()
        };
        for integration in self.integrations {
            let id = integration
                .get("installationId")
                .and_then(Value::as_str)
                .ok_or("an integration has no \"installationId\"")?
                .to_owned();
            integrations.items.insert(id, integration);
        }
        let mut webhooks = IndexMap::new();
        for webhook in self.webhooks {
            let id = webhook
                .get("identifier")
                .and_then(Value::as_str)
                .ok_or("a webhook has no \"identifier\"")?
                .to_owned();
            webhooks.insert(id, webhook);
        }
        Ok((store, integrations, webhooks))
    }

    /// Reads a state file; a missing file is an empty state.
    pub(crate) async fn load(path: &Path) -> Result<Self, LocalPortError> {
        let bytes = match tokio::fs::read(path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(LocalPortError::StateRead {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let file: Self = tokio::task::spawn_blocking(move || serde_json::from_slice(&bytes))
            .await
            .map_err(|e| LocalPortError::StateInvalid {
                path: path.to_owned(),
                message: e.to_string(),
            })?
            .map_err(|e| LocalPortError::StateInvalid {
                path: path.to_owned(),
                message: format!("expected the local Port state JSON: {e}"),
            })?;
        if file.version > Self::VERSION {
            return Err(LocalPortError::StateInvalid {
                path: path.to_owned(),
                message: format!(
                    "state format version {} is newer than this build understands ({})",
                    file.version,
                    Self::VERSION
                ),
            });
        }
        Ok(file)
    }

    /// Writes the state atomically (a temporary file renamed over the target).
    pub(crate) async fn save(self, path: PathBuf) -> Result<(), LocalPortError> {
        let target = path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&target, &self))
            .await
            .map_err(|e| LocalPortError::StateWrite {
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?
            .map_err(|source| LocalPortError::StateWrite { path, source })
    }
}

fn write_atomically(path: &Path, state: &StateFile) -> std::io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&tmp)?;
        let mut writer = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut writer, state).map_err(std::io::Error::other)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
