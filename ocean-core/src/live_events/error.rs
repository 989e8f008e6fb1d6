//! Errors of the live-events machinery (registration, configuration, queue, dead letters).

use crate::port::client::PortError;

/// What went wrong in live events.
#[derive(Debug, thiserror::Error)]
pub enum LiveEventsError {
    /// Two processors with the same name were registered on one path.
    #[error(
        "webhook processor `{name}` is registered twice on path `{path}`: at {first} and at {second}"
    )]
    DuplicateProcessor {
        /// The path.
        path: String,
        /// The processor name.
        name: String,
        /// `file:line` of the first registration.
        first: String,
        /// `file:line` of the second registration.
        second: String,
    },
    /// A processor's constructor (`FromContext::from_context`) failed.
    #[error("webhook processor `{name}` (registered at {place}) could not be built: {cause}")]
    ProcessorConstruction {
        /// The processor name.
        name: String,
        /// `file:line` of the registration.
        place: String,
        /// The constructor's error.
        cause: String,
    },
    /// A registered path is not usable as a route.
    #[error("webhook path must start with `/` and contain no spaces, got `{0}`")]
    InvalidPath(String),
    /// The port-app-config could not be obtained or read.
    #[error("port-app-config unavailable: {0}")]
    Config(String),
    /// A Port call failed.
    #[error("Port call failed: {0}")]
    Port(Box<PortError>),
    /// The queue is at capacity.
    #[error("the live-event queue is full ({capacity} events queued or in flight)")]
    QueueFull {
        /// The capacity.
        capacity: usize,
    },
    /// The queue no longer accepts events (shutting down).
    #[error("the live-event queue is closed (shutting down)")]
    QueueClosed,
    /// No queue serves this path.
    #[error("no webhook processor is registered on path `{0}`")]
    UnknownPath(String),
    /// No dead letter has this id.
    #[error("no dead letter with id `{0}`")]
    DeadLetterNotFound(String),
    /// The dead-letter file could not be read or written.
    #[error("dead-letter file `{path}`: {message}")]
    DeadLetterFile {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// Applying entities to Port failed in part.
    #[error("applying live-event results to Port failed: {0}")]
    Apply(String),
}

impl From<crate::mapping::PortAppConfigError> for LiveEventsError {
    fn from(error: crate::mapping::PortAppConfigError) -> Self {
        Self::Config(error.to_string())
    }
}

impl From<PortError> for LiveEventsError {
    fn from(error: PortError) -> Self {
        Self::Port(Box::new(error))
    }
}
