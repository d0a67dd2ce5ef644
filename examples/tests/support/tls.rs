//! HTTPS in front of a demo: a TLS proxy with a certificate made for the test, because
//! Chromium runs DBSC only on a secure origin whose certificate verified (`http://localhost`
//! and `--ignore-certificate-errors` both leave it off; measured with Chromium 156).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::PublicKeyData;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// `https://localhost:{port}`, forwarding each connection to a plain HTTP server; stops
/// with the test's runtime.
pub struct TlsProxy {
    /// Its origin.
    pub base: String,
    /// Base64 of the SHA-256 of the certificate's public key: what Chromium's
    /// `--ignore-certificate-errors-spki-list` takes to trust it, as a verified certificate.
    pub spki_sha256: String,
}

impl TlsProxy {
    /// A proxy to `target` (`host:port`) with a new self-signed certificate for `localhost`.
    pub async fn start(target: String) -> Self {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a certificate");
        let spki = made.signing_key.subject_public_key_info();
        let spki = ring::digest::digest(&ring::digest::SHA256, &spki);
        let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
        // ring, the crypto already in the tree; its missing post-quantum key exchange does
        // not matter on loopback.
        #[allow(deprecated)]
        let provider = tokio_rustls::rustls::crypto::ring::default_provider();
        let config = ServerConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(made.cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(key),
            )
            .expect("a server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (acceptor, target) = (acceptor.clone(), target.clone());
                tokio::spawn(async move {
                    let Ok(mut client) = acceptor.accept(client).await else {
                        return;
                    };
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self {
            base: format!("https://localhost:{port}"),
            spki_sha256: STANDARD.encode(spki.as_ref()),
        }
    }
}
