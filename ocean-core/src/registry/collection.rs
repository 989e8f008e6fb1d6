//! The registry as the runtime sees it: every registration, sorted, duplicates rejected.

use super::{ResyncHandler, StartHook};
use crate::live_events::{
    RawRoutesRegistration, WebhookProcessorRegistration, collect_registrations,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;

/// A registration that cannot be accepted. Each message names the places involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two resync handlers with the same function name for the same kind.
    #[error(
        "resync handler `{name}` is registered twice for {kind}: at {first} and at {second}; rename one of the functions"
    )]
    DuplicateResyncHandler {
        /// "kind `person`" or "every kind (catch-all)".
        kind: String,
        /// The function name both registrations share.
        name: String,
        /// `file:line` of the first registration (in sorted order).
        first: String,
        /// `file:line` of the second registration.
        second: String,
    },
    /// The same start hook registered twice.
    #[error("start hook `{name}` is registered twice: at {first} and at {second}")]
    DuplicateStartHook {
        /// The hook's function name.
        name: String,
        /// `file:line` of the first registration.
        first: String,
        /// `file:line` of the second registration.
        second: String,
    },
    /// A resync handler whose kind is the empty string.
    #[error(
        "resync handler `{name}` at {place} has an empty kind; expected a kind name, or no kind for a catch-all handler"
    )]
    EmptyKind {
        /// The handler's function name.
        name: String,
        /// `file:line` of the registration.
        place: String,
    },
    /// A webhook processor registration that cannot be accepted (bad path, or the same
    /// processor twice on one path); the message names the places.
    #[error("{0}")]
    WebhookProcessor(String),
}

/// `file:line` of a registration.
struct Place<'a>(&'a str, u32);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0, self.1)
    }
}

fn handler_place(h: &ResyncHandler) -> String {
    Place(h.file, h.line).to_string()
}

fn hook_place(h: &StartHook) -> String {
    Place(h.file, h.line).to_string()
}

fn describe_kind(kind: Option<&str>) -> String {
    match kind {
        Some(kind) => format!("kind `{kind}`"),
        None => "every kind (catch-all)".to_owned(),
    }
}

/// Resync handlers sort by name, then place, so every build sees the same order whatever order
/// `inventory` yields them in.
fn handler_order(h: &ResyncHandler) -> (&'static str, &'static str, u32) {
    (h.name, h.file, h.line)
}

fn hook_order(h: &StartHook) -> (&'static str, &'static str, u32) {
    (h.name, h.file, h.line)
}

/// Every resync handler and start hook of the integration, in a stable order.
///
/// Several handlers may serve one kind (their batches are merged, as in Ocean), but not two
/// with the same function name: that is almost always the same function registered twice, or
/// two copies of one function in different modules.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_kind: BTreeMap<&'static str, Vec<ResyncHandler>>,
    catch_all: Vec<ResyncHandler>,
    start_hooks: Vec<StartHook>,
    /// Webhook processors by path, in matching order (validated by the live-events rules).
    processors: BTreeMap<String, Vec<WebhookProcessorRegistration>>,
    raw_routes: Vec<RawRoutesRegistration>,
}

fn raw_routes_order(r: &RawRoutesRegistration) -> (&'static str, u32, &'static str) {
    (r.file, r.line, r.name)
}

impl Registry {
    /// An empty registry, for explicit registration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything `#[on_resync]`, `#[on_start]`, `#[webhook_processor]` and `raw_routes!`
    /// registered in the crates linked into this binary.
    pub fn collect() -> Result<Self, RegistryError> {
        let mut registry = Self::from_parts(
            inventory::iter::<ResyncHandler>.into_iter().copied(),
            inventory::iter::<StartHook>.into_iter().copied(),
        )?;
        registry.register_webhook_processors(
            inventory::iter::<WebhookProcessorRegistration>
                .into_iter()
                .copied(),
        )?;
        for raw in inventory::iter::<RawRoutesRegistration> {
            registry.register_raw_routes(*raw);
        }
        Ok(registry)
    }

    /// A registry of exactly these registrations.
    pub fn from_parts(
        handlers: impl IntoIterator<Item = ResyncHandler>,
        hooks: impl IntoIterator<Item = StartHook>,
    ) -> Result<Self, RegistryError> {
        // Sorting first makes the reported "first" and "second" places independent of the
        // order registrations arrived in.
        let mut handlers: Vec<_> = handlers.into_iter().collect();
        handlers.sort_by_key(|h| (h.kind, handler_order(h)));
        let mut hooks: Vec<_> = hooks.into_iter().collect();
        hooks.sort_by_key(hook_order);
        let mut registry = Self::new();
        for handler in handlers {
            registry.register_resync(handler)?;
        }
        for hook in hooks {
            registry.register_start(hook)?;
        }
        Ok(registry)
    }

    /// Registers a resync handler by hand (tests, or targets where `inventory` does not work).
    ///
    /// ```
    /// use ocean::registry::{Registry, ResyncHandler, ResyncStream, one_batch};
    ///
    /// fn teams(_ctx: ocean::Context) -> ResyncStream {
    ///     one_batch(async { Ok::<_, ocean::Error>(vec![serde_json::json!({"id": "core"})]) })
    /// }
    ///
    /// let mut registry = Registry::new();
    /// let handler = ResyncHandler {
    ///     kind: Some("team"),
    ///     name: "teams",
    ///     file: file!(),
    ///     line: line!(),
    ///     handler: teams,
    /// };
    /// registry.register_resync(handler)?;
    /// assert!(registry.register_resync(handler).is_err(), "the same handler twice");
    /// # Ok::<(), ocean::registry::RegistryError>(())
    /// ```
    pub fn register_resync(&mut self, handler: ResyncHandler) -> Result<&mut Self, RegistryError> {
        if handler.kind.is_some_and(str::is_empty) {
            return Err(RegistryError::EmptyKind {
                name: handler.name.to_owned(),
                place: handler_place(&handler),
            });
        }
        let list = match handler.kind {
            Some(kind) => self.by_kind.entry(kind).or_default(),
            None => &mut self.catch_all,
        };
        if let Some(existing) = list.iter().find(|h| h.name == handler.name) {
            let (first, second) = if handler_order(existing) <= handler_order(&handler) {
                (existing, &handler)
            } else {
                (&handler, existing)
            };
            return Err(RegistryError::DuplicateResyncHandler {
                kind: describe_kind(handler.kind),
                name: handler.name.to_owned(),
                first: handler_place(first),
                second: handler_place(second),
            });
        }
        let at = list.partition_point(|h| handler_order(h) < handler_order(&handler));
        list.insert(at, handler);
        Ok(self)
    }

    /// Registers a start hook by hand. The same hook (name and place) may be registered once.
    pub fn register_start(&mut self, hook: StartHook) -> Result<&mut Self, RegistryError> {
        if self
            .start_hooks
            .iter()
            .any(|h| hook_order(h) == hook_order(&hook))
        {
            let place = hook_place(&hook);
            return Err(RegistryError::DuplicateStartHook {
                name: hook.name.to_owned(),
                first: place.clone(),
                second: place,
            });
        }
        let at = self
            .start_hooks
            .partition_point(|h| hook_order(h) < hook_order(&hook));
        self.start_hooks.insert(at, hook);
        Ok(self)
    }

    /// Registers webhook processors by hand, checked together with those already registered:
    /// paths must start with `/`, and one processor name may appear once per path. On error
    /// the registry is unchanged.
    pub fn register_webhook_processors(
        &mut self,
        registrations: impl IntoIterator<Item = WebhookProcessorRegistration>,
    ) -> Result<&mut Self, RegistryError> {
        let all = self
            .processors
            .values()
            .flatten()
            .copied()
            .chain(registrations);
        self.processors = collect_registrations(all)
            .map_err(|e| RegistryError::WebhookProcessor(e.to_string()))?;
        Ok(self)
    }

    /// Registers raw routes by hand (mounted under `/integration` with live events).
    pub fn register_raw_routes(&mut self, registration: RawRoutesRegistration) -> &mut Self {
        let at = self
            .raw_routes
            .partition_point(|r| raw_routes_order(r) < raw_routes_order(&registration));
        self.raw_routes.insert(at, registration);
        self
    }

    /// Every webhook processor retries as `policy` says instead of its attribute's policy
    /// (tests use short delays).
    pub fn with_processor_retries(
        mut self,
        policy: crate::live_events::ProcessorRetryPolicy,
    ) -> Self {
        for registration in self.processors.values_mut().flatten() {
            registration.retry = policy;
        }
        self
    }

    /// Every webhook processor, by path (sorted), then in matching order.
    pub fn webhook_processors(&self) -> impl Iterator<Item = &WebhookProcessorRegistration> {
        self.processors.values().flatten()
    }

    /// The raw routes, sorted by place.
    pub fn raw_routes(&self) -> &[RawRoutesRegistration] {
        &self.raw_routes
    }

    /// Whether anything serves live events: a webhook processor or raw routes.
    pub fn has_live_events(&self) -> bool {
        !self.processors.is_empty() || !self.raw_routes.is_empty()
    }

    /// The handlers to run for `kind`: its own handlers, then the catch-all handlers.
    pub fn handlers_for<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a ResyncHandler> {
        self.by_kind
            .get(kind)
            .into_iter()
            .flatten()
            .chain(&self.catch_all)
    }

    /// The kinds that have their own handlers, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_kind.keys().copied()
    }

    /// The handlers registered without a kind, called for every kind.
    pub fn catch_all_handlers(&self) -> &[ResyncHandler] {
        &self.catch_all
    }

    /// Every resync handler: by kind (sorted), then the catch-all handlers.
    pub fn resync_handlers(&self) -> impl Iterator<Item = &ResyncHandler> {
        self.by_kind.values().flatten().chain(&self.catch_all)
    }

    /// The start hooks, sorted by name and place.
    pub fn start_hooks(&self) -> &[StartHook] {
        &self.start_hooks
    }

    /// True when nothing is registered: usually a crate with handlers that was not linked in
    /// (list it in `ocean::run!(crates = [...])`).
    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
            && self.catch_all.is_empty()
            && self.start_hooks.is_empty()
            && !self.has_live_events()
    }

    /// A JSON description of the registrations, for `--about`: kinds, resync handlers (kind,
    /// name, `file:line`; kind `null` for catch-alls), start hooks, webhook processors (path,
    /// name, kinds, retry policy, `file:line`) and raw routes.
    pub fn about(&self) -> Value {
        let handlers: Vec<Value> = self
            .resync_handlers()
            .map(|h| json!({"kind": h.kind, "name": h.name, "location": handler_place(h)}))
            .collect();
        let hooks: Vec<Value> = self
            .start_hooks
            .iter()
            .map(|h| json!({"name": h.name, "location": hook_place(h)}))
            .collect();
        let processors: Vec<Value> = self
            .webhook_processors()
            .map(|p| {
                json!({
                    "path": p.path,
                    "name": p.name,
                    "kinds": p.kinds,
                    "retry": {
                        "maxRetries": p.retry.max_retries,
                        "initialRetryDelayMs": duration_ms(p.retry.initial_retry_delay),
                        "maxRetryDelayMs": duration_ms(p.retry.max_retry_delay),
                        "exponentialBase": p.retry.exponential_base,
                    },
                    "location": Place(p.file, p.line).to_string(),
                })
            })
            .collect();
        let raw_routes: Vec<Value> = self
            .raw_routes
            .iter()
            .map(|r| json!({"name": r.name, "location": Place(r.file, r.line).to_string()}))
            .collect();
        json!({
            "kinds": self.kinds().collect::<Vec<_>>(),
            "resyncHandlers": handlers,
            "startHooks": hooks,
            "webhookProcessors": processors,
            "rawRoutes": raw_routes,
        })
    }
}

fn duration_ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The resync finds its handlers in the registry.
impl crate::sync::ResyncHandlers for Registry {
    fn handlers_for(&self, kind: &str) -> Vec<ResyncHandler> {
        Registry::handlers_for(self, kind).copied().collect()
    }

    fn kinds(&self) -> Vec<&'static str> {
        Registry::kinds(self).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{ResyncStream, batch_stream, start_hook};
    use crate::{Context, RawItem};
    use futures::future::BoxFuture;

    fn no_batches(_: Context) -> ResyncStream {
        batch_stream(futures::stream::empty::<crate::Result<Vec<RawItem>>>())
    }

    fn nothing(_: Context) -> BoxFuture<'static, crate::Result<()>> {
        start_hook(async { Ok::<(), crate::Error>(()) })
    }

    fn handler(
        kind: Option<&'static str>,
        name: &'static str,
        file: &'static str,
        line: u32,
    ) -> ResyncHandler {
        ResyncHandler {
            kind,
            name,
            file,
            line,
            handler: no_batches,
        }
    }

    fn hook(name: &'static str, file: &'static str, line: u32) -> StartHook {
        StartHook {
            name,
            file,
            line,
            hook: nothing,
        }
    }

    fn names<'a>(handlers: impl Iterator<Item = &'a ResyncHandler>) -> Vec<&'static str> {
        handlers.map(|h| h.name).collect()
    }

    #[test]
    fn sorts_kinds_handlers_and_hooks_whatever_the_arrival_order() {
        let registry = Registry::from_parts(
            [
                handler(Some("team"), "teams", "src/b.rs", 3),
                handler(None, "everything", "src/a.rs", 9),
                handler(Some("person"), "people_b", "src/a.rs", 20),
                handler(Some("person"), "people_a", "src/z.rs", 1),
                handler(None, "audit", "src/c.rs", 2),
            ],
            [
                hook("warm_cache", "src/a.rs", 5),
                hook("check_token", "src/b.rs", 7),
            ],
        )
        .unwrap();
        assert_eq!(registry.kinds().collect::<Vec<_>>(), ["person", "team"]);
        assert_eq!(
            names(registry.resync_handlers()),
            ["people_a", "people_b", "teams", "audit", "everything"]
        );
        let hooks: Vec<_> = registry.start_hooks().iter().map(|h| h.name).collect();
        assert_eq!(hooks, ["check_token", "warm_cache"]);
    }

    #[test]
    fn handlers_for_returns_kind_handlers_then_catch_alls() {
        let registry = Registry::from_parts(
            [
                handler(None, "everything", "src/a.rs", 1),
                handler(Some("person"), "people", "src/a.rs", 2),
                handler(Some("team"), "teams", "src/a.rs", 3),
            ],
            [],
        )
        .unwrap();
        assert_eq!(
            names(registry.handlers_for("person")),
            ["people", "everything"]
        );
        assert_eq!(names(registry.handlers_for("unknown")), ["everything"]);
        assert_eq!(registry.catch_all_handlers().len(), 1);
    }

    #[test]
    fn allows_different_functions_for_one_kind() {
        let registry = Registry::from_parts(
            [
                handler(Some("person"), "employees", "src/a.rs", 1),
                handler(Some("person"), "contractors", "src/a.rs", 9),
            ],
            [],
        )
        .unwrap();
        assert_eq!(
            names(registry.handlers_for("person")),
            ["contractors", "employees"]
        );
    }

    #[test]
    fn duplicate_handler_for_a_kind_names_both_places_in_sorted_order() {
        let err = Registry::from_parts(
            [
                handler(Some("person"), "people", "src/b.rs", 40),
                handler(Some("person"), "people", "src/a.rs", 12),
            ],
            [],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "resync handler `people` is registered twice for kind `person`: at src/a.rs:12 and at src/b.rs:40; rename one of the functions"
        );
    }

    #[test]
    fn duplicate_catch_all_is_rejected() {
        let err = Registry::from_parts(
            [
                handler(None, "everything", "src/a.rs", 1),
                handler(None, "everything", "src/b.rs", 2),
            ],
            [],
        )
        .unwrap_err();
        assert!(matches!(
            &err,
            RegistryError::DuplicateResyncHandler { kind, first, second, .. }
                if kind == "every kind (catch-all)" && first == "src/a.rs:1" && second == "src/b.rs:2"
        ));
    }

    #[test]
    fn same_name_for_different_kinds_is_not_a_duplicate() {
        let registry = Registry::from_parts(
            [
                handler(Some("person"), "fetch", "src/a.rs", 1),
                handler(Some("team"), "fetch", "src/a.rs", 1),
            ],
            [],
        );
        assert!(registry.is_ok());
    }

    #[test]
    fn explicit_registration_is_sorted_and_checked() {
        let mut registry = Registry::new();
        assert!(registry.is_empty());
        registry
            .register_resync(handler(Some("person"), "zeta", "src/a.rs", 1))
            .unwrap()
            .register_resync(handler(Some("person"), "alpha", "src/a.rs", 2))
            .unwrap()
            .register_start(hook("init", "src/a.rs", 3))
            .unwrap();
        assert_eq!(names(registry.handlers_for("person")), ["alpha", "zeta"]);
        assert!(!registry.is_empty());

        let err = registry
            .register_resync(handler(Some("person"), "alpha", "src/b.rs", 7))
            .unwrap_err();
        assert!(
            err.to_string().contains("at src/a.rs:2 and at src/b.rs:7"),
            "{err}"
        );
        let err = registry
            .register_start(hook("init", "src/a.rs", 3))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "start hook `init` is registered twice: at src/a.rs:3 and at src/a.rs:3"
        );
        // A rejected registration leaves the registry as it was.
        assert_eq!(registry.resync_handlers().count(), 2);
        assert_eq!(registry.start_hooks().len(), 1);
    }

    #[test]
    fn start_hooks_with_one_name_in_two_places_are_both_kept() {
        let registry = Registry::from_parts(
            [],
            [hook("init", "src/b.rs", 1), hook("init", "src/a.rs", 9)],
        )
        .unwrap();
        let places: Vec<_> = registry.start_hooks().iter().map(hook_place).collect();
        assert_eq!(places, ["src/a.rs:9", "src/b.rs:1"]);
    }

    #[test]
    fn rejects_empty_kind_naming_the_place() {
        let err = Registry::new()
            .register_resync(handler(Some(""), "people", "src/a.rs", 4))
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "resync handler `people` at src/a.rs:4 has an empty kind; expected a kind name, or no kind for a catch-all handler"
        );
    }

    #[test]
    fn about_lists_kinds_handlers_and_hooks() {
        let registry = Registry::from_parts(
            [
                handler(None, "everything", "src/a.rs", 1),
                handler(Some("person"), "people", "src/a.rs", 2),
            ],
            [hook("init", "src/main.rs", 3)],
        )
        .unwrap();
        assert_eq!(
            registry.about(),
            json!({
                "kinds": ["person"],
                "resyncHandlers": [
                    {"kind": "person", "name": "people", "location": "src/a.rs:2"},
                    {"kind": null, "name": "everything", "location": "src/a.rs:1"},
                ],
                "startHooks": [{"name": "init", "location": "src/main.rs:3"}],
                "webhookProcessors": [],
                "rawRoutes": [],
            })
        );
    }

    #[derive(Default)]
    struct Nop;

    impl crate::live_events::WebhookProcessor for Nop {
        async fn should_process_event(&self, _: &crate::live_events::WebhookEvent) -> bool {
            false
        }
        async fn authenticate(&self, _: &crate::live_events::WebhookEvent) -> crate::Result<bool> {
            Ok(false)
        }
        async fn validate_payload(&self, _: &crate::live_events::Payload) -> crate::Result<bool> {
            Ok(false)
        }
        async fn handle_event(
            &self,
            _: &crate::live_events::Payload,
            _: &crate::mapping::ResourceConfig,
            _: &Context,
        ) -> crate::Result<crate::live_events::WebhookEventRawResults> {
            Ok(crate::live_events::WebhookEventRawResults::default())
        }
    }

    fn nop(
        _ctx: &crate::Context,
    ) -> crate::Result<std::sync::Arc<dyn crate::live_events::DynWebhookProcessor>> {
        Ok(std::sync::Arc::new(Nop))
    }

    fn processor(
        path: &'static str,
        name: &'static str,
        file: &'static str,
        line: u32,
    ) -> WebhookProcessorRegistration {
        WebhookProcessorRegistration {
            path,
            name,
            kinds: &["person"],
            retry: crate::live_events::ProcessorRetryPolicy::default(),
            file,
            line,
            factory: nop,
        }
    }

    fn no_routes(_: &mut actix_web::web::ServiceConfig) {}

    #[test]
    fn about_lists_webhook_processors_and_raw_routes() {
        let mut registry = Registry::new();
        registry
            .register_webhook_processors([
                processor("/webhook", "Zeta", "src/z.rs", 4),
                processor("/webhook", "Alpha", "src/a.rs", 9),
                processor("/github", "Push", "src/g.rs", 1),
            ])
            .unwrap()
            .register_raw_routes(RawRoutesRegistration {
                name: "legacy",
                file: "src/legacy.rs",
                line: 12,
                configure: no_routes,
            });
        assert!(registry.has_live_events());
        assert!(!registry.is_empty());
        let about = registry.about();
        let listed: Vec<(&str, &str)> = about["webhookProcessors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["path"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        assert_eq!(
            listed,
            [
                ("/github", "Push"),
                ("/webhook", "Alpha"),
                ("/webhook", "Zeta")
            ]
        );
        assert_eq!(
            about["webhookProcessors"][1],
            json!({
                "path": "/webhook",
                "name": "Alpha",
                "kinds": ["person"],
                "retry": {
                    "maxRetries": 3,
                    "initialRetryDelayMs": 1000,
                    "maxRetryDelayMs": 30000,
                    "exponentialBase": 2.0,
                },
                "location": "src/a.rs:9",
            })
        );
        assert_eq!(
            about["rawRoutes"],
            json!([{"name": "legacy", "location": "src/legacy.rs:12"}])
        );
    }

    #[test]
    fn a_processor_registered_twice_on_a_path_is_rejected_and_the_registry_kept() {
        let mut registry = Registry::new();
        registry
            .register_webhook_processors([processor("/webhook", "Person", "src/a.rs", 1)])
            .unwrap();
        let err = registry
            .register_webhook_processors([processor("/webhook", "Person", "src/b.rs", 2)])
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "webhook processor `Person` is registered twice on path `/webhook`: at src/a.rs:1 and at src/b.rs:2"
        );
        let err = registry
            .register_webhook_processors([processor("webhook", "Other", "src/c.rs", 3)])
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("must start with `/`"), "{err}");
        assert_eq!(registry.webhook_processors().count(), 1);
        // The same name on another path is another processor.
        registry
            .register_webhook_processors([processor("/other", "Person", "src/b.rs", 2)])
            .unwrap();
        assert_eq!(registry.webhook_processors().count(), 2);
    }
}
