use ocean::live_events::{
    Payload, ProcessorRetryPolicy, WebhookEvent, WebhookEventRawResults, WebhookProcessor,
    WebhookProcessorRegistration,
};
use ocean::mapping::ResourceConfig;
use ocean::{Context, Result};

macro_rules! accept_everything {
    ($($ty:ty),*) => {$(
        impl WebhookProcessor for $ty {
            async fn should_process_event(&self, _event: &WebhookEvent) -> bool {
                true
            }
            async fn authenticate(&self, _event: &WebhookEvent) -> Result<bool> {
                Ok(true)
            }
            async fn validate_payload(&self, _payload: &Payload) -> Result<bool> {
                Ok(true)
            }
            async fn handle_event(
                &self,
                _payload: &Payload,
                _resource: &ResourceConfig,
                _ctx: &Context,
            ) -> Result<WebhookEventRawResults> {
                Ok(WebhookEventRawResults::default())
            }
        }
    )*};
}

// Unit, tuple and named structs; `#[derive(Default)]` before or after the attribute.
#[ocean::webhook_processor(path = "/unit", kinds = ["a"])]
#[derive(Default)]
struct Unit;

#[derive(Default)]
#[ocean::webhook_processor(path = "/tuple", kinds = ["a", "b"])]
pub struct Tuple(pub u32, String);

#[ocean::webhook_processor(path = "/named/jira-cloud_v2.events", kinds = ["a"],)]
#[derive(Default)]
pub(crate) struct Named {
    _token: Option<String>,
}

// A struct named like the macro's helper trait, and a raw identifier.
#[ocean::webhook_processor(path = "/helper", kinds = ["a"], max_retries = 0)]
#[derive(Default)]
struct BuiltByDefault;

#[ocean::webhook_processor(path = "/raw", kinds = ["a"], exponential_base_seconds = 1)]
#[derive(Default)]
#[allow(non_camel_case_types)]
struct r#type;

// Compiled out: the registration goes with the struct (which implements nothing, so a
// registration left behind would not compile).
#[ocean::webhook_processor(path = "/gone", kinds = ["a"])]
#[cfg(any())]
struct Gone;

accept_everything!(Unit, Tuple, Named, BuiltByDefault, r#type);

fn main() {
    let mut found: Vec<&WebhookProcessorRegistration> =
        ocean::__private::inventory::iter::<WebhookProcessorRegistration>().collect();
    found.sort_by_key(|r| r.path);
    let seen: Vec<_> = found.iter().map(|r| (r.path, r.name)).collect();
    assert_eq!(
        seen,
        [
            ("/helper", "BuiltByDefault"),
            ("/named/jira-cloud_v2.events", "Named"),
            ("/raw", "type"),
            ("/tuple", "Tuple"),
            ("/unit", "Unit"),
        ]
    );
    assert_eq!(found[0].retry.max_retries, 0);
    assert_eq!(found[2].retry.exponential_base, 1.0);
    assert_eq!(found[3].kinds, ["a", "b"]);
    assert_eq!(found[4].retry, ProcessorRetryPolicy::default());
    let ctx = Context::new((), reqwest::Client::new());
    for registration in found {
        let _processor = (registration.factory)(&ctx).unwrap();
    }
    let _ = (Tuple(1, String::new()).0, Named::default()._token);
}
