//! Outbound TLS trusts a self-signed server exactly when the certificate file (what
//! `SSL_CERT_FILE` names) holds its certificate. The path is passed in, so the process
//! environment is never touched.

use ocean::config::tls::client_builder_trusting;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// An HTTPS server for `localhost` with a fresh self-signed certificate, answering every
/// request with `200 ok`; returns its address and the certificate in PEM.
async fn self_signed_server() -> (SocketAddr, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let cert_der: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to answer.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, cert_pem)
}

async fn get(cert_file: Option<&Path>, addr: SocketAddr) -> reqwest::Result<String> {
    let client = client_builder_trusting(cert_file)
        .unwrap()
        .resolve("localhost", addr)
        .build()
        .unwrap();
    client
        .get(format!("https://localhost:{}/", addr.port()))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

#[tokio::test]
async fn self_signed_server_is_trusted_when_the_cert_file_holds_its_certificate() {
    let (addr, cert_pem) = self_signed_server().await;
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("ca.pem");
    std::fs::write(&cert_file, cert_pem).unwrap();
    assert_eq!(get(Some(&cert_file), addr).await.unwrap(), "ok");
}

#[tokio::test]
async fn self_signed_server_is_refused_without_the_cert_file() {
    let (addr, _) = self_signed_server().await;
    let err = get(None, addr).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

#[tokio::test]
async fn another_certificate_in_the_file_does_not_make_the_server_trusted() {
    let (addr, _) = self_signed_server().await;
    let (_, other_pem) = self_signed_server().await;
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("other.pem");
    std::fs::write(&cert_file, other_pem).unwrap();
    let err = get(Some(&cert_file), addr).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}
