//! The mapping engine: the port-app-config model and jq (jq 1.8 semantics on jaq).

pub mod config;
mod eval;
mod items_to_parse;
pub mod jq;

pub use config::{
    ConfigError, EntityConfig, EntityMapping, MappingValue, PortAppConfig, PortResourceConfig,
    ResourceConfig, SearchQueryMapping, SearchRuleMapping, Selector,
};
pub use eval::{
    CompiledMapping, CompiledResource, FilteredOut, ItemFailure, MappingOutcome, required_fields,
};
pub use jq::{JqEngine, JqError, JqInput, JqOptions, JqProgram};
