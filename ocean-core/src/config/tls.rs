//! Which servers outbound HTTPS trusts: the platform's certificate store, plus the PEM bundle
//! `SSL_CERT_FILE` names (Port's Helm chart sets it for self-signed certificates).
//!
//! TLS runs on rustls with `rustls-platform-verifier`. On macOS and Windows that asks the
//! operating system, which knows nothing of `SSL_CERT_FILE`; on Linux it reads the system
//! store through `rustls-native-certs`, which reads `SSL_CERT_FILE` *instead of* the system
//! store when the variable is set (OpenSSL's semantics, and what Python's `httpx` does too).
//! So that the file is honoured everywhere, and a missing or empty file is a clear error rather
//! than a TLS failure later, its certificates are also added here as extra roots.
//!
//! Every client the framework builds (Port's, the third-party one on the `Context`) starts
//! from [`client_builder`].

use reqwest::{Certificate, ClientBuilder};
use std::path::{Path, PathBuf};

/// The variable naming a PEM file of certificates to trust.
pub const CERT_FILE_VARIABLE: &str = "SSL_CERT_FILE";

/// Why the certificates to trust could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("the certificate file {} ({CERT_FILE_VARIABLE}) cannot be read: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        error: std::io::Error,
    },
    /// The file holds no usable certificate.
    #[error("the certificate file {} ({CERT_FILE_VARIABLE}): expected PEM certificates, got {problem}", path.display())]
    Certificates {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

/// The file `SSL_CERT_FILE` names in the process environment, if it is set and not empty.
pub fn cert_file_from_env() -> Option<PathBuf> {
    std::env::var_os(CERT_FILE_VARIABLE)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// A client builder trusting the platform's store and the certificates of `SSL_CERT_FILE`
/// (when set). Add timeouts and the like, then `build()`.
pub fn client_builder() -> Result<ClientBuilder, TlsError> {
    client_builder_trusting(cert_file_from_env().as_deref())
}

/// A client builder trusting the platform's store and the certificates in `cert_file` (a PEM
/// bundle), when one is given. [`client_builder`] passes `SSL_CERT_FILE`; tests pass a path.
pub fn client_builder_trusting(cert_file: Option<&Path>) -> Result<ClientBuilder, TlsError> {
    let builder = reqwest::Client::builder();
    match cert_file {
        None => Ok(builder),
        Some(path) => Ok(builder.tls_certs_merge(certificates_in(path)?)),
    }
}

/// The certificates of a PEM bundle; at least one, or an error.
pub fn certificates_in(path: &Path) -> Result<Vec<Certificate>, TlsError> {
    let pem = std::fs::read(path).map_err(|error| TlsError::Read {
        path: path.to_owned(),
        error,
    })?;
    let certificates =
        Certificate::from_pem_bundle(&pem).map_err(|error| TlsError::Certificates {
            path: path.to_owned(),
            problem: format!("an unreadable certificate ({error})"),
        })?;
    if certificates.is_empty() {
        return Err(TlsError::Certificates {
            path: path.to_owned(),
            problem: "no `BEGIN CERTIFICATE` block".to_owned(),
        });
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.pem");
        let err = client_builder_trusting(Some(&path)).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains("absent.pem"), "{err}");
        assert!(err.to_string().contains("SSL_CERT_FILE"), "{err}");
    }

    #[test]
    fn a_file_without_certificates_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = client_builder_trusting(Some(&path)).unwrap_err();
        assert!(matches!(err, TlsError::Certificates { .. }), "{err:?}");
        assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");
    }

    #[test]
    fn without_a_file_the_platform_store_alone_is_trusted() {
        assert!(client_builder_trusting(None).unwrap().build().is_ok());
    }
}
