//! The error type of author code: resync handlers, start hooks and webhook processors.

use std::fmt;

/// An error raised by integration code. Wraps any error, and records whether retrying the
/// operation may succeed (live-event processors retry only retryable errors by default).
pub struct Error {
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
    retryable: bool,
}

/// `Result` with [`Error`] as the error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self {
            source: message.to_string().into(),
            retryable: false,
        }
    }

    /// A retryable error: a transient failure (timeout, 5xx, rate limit) worth another attempt.
    pub fn retryable(error: impl Into<Error>) -> Self {
        let mut e = error.into();
        e.retryable = true;
        e
    }

    /// True when a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The underlying error.
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }

    /// Attempts to downcast the underlying error to a concrete type.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.source.downcast_ref::<E>()
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        Self {
            source: Box::new(error),
            retryable: false,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("message", &self.source.to_string())
            .field("retryable", &self.retryable)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)?;
        let mut cause = self.source.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

/// Returns early with an [`Error`] built from a format string.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return ::std::result::Result::Err($crate::Error::msg(::std::format!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_any_std_error_and_keeps_retryability() {
        let io = std::io::Error::other("boom");
        let e: Error = io.into();
        assert!(!e.is_retryable());
        assert_eq!(e.to_string(), "boom");
        let r = Error::retryable(Error::msg("timeout"));
        assert!(r.is_retryable());
        assert!(e.downcast_ref::<std::io::Error>().is_some());
    }
}
