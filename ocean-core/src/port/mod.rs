//! Port: the REST client integrations use, and a local Port that emulates the API.

pub mod client;
pub mod datasource;
pub mod local;
pub mod openapi;
pub mod types;

pub use datasource::{Datasource, Feature};
pub use types::*;
