//! The mapping engine: the port-app-config model, where it comes from (one provider for
//! resyncs and live events), and jq (jq 1.8 semantics on jaq).

pub mod config;
mod eval;
mod items_to_parse;
pub mod jq;
mod provider;

pub use config::{
    ConfigError, EntityConfig, EntityMapping, FieldCompileError, MappingValue, PortAppConfig,
    PortResourceConfig, ResourceConfig, SearchQueryMapping, SearchRuleMapping, Selector,
};
pub use eval::{
    CompiledMapping, CompiledResource, FilteredOut, ItemFailure, MappingOutcome, required_fields,
};
pub use items_to_parse::{Expansion, ItemsToParse, delete_target_text};
pub use jq::{JqEngine, JqError, JqInput, JqOptions, JqProgram};
pub use provider::{
    FixedPortAppConfig, PortAppConfigError, PortAppConfigFromPort, PortAppConfigProvider,
};
