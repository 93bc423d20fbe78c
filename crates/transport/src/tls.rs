//! PEM material for mutual TLS, read and checked once at start-up, and the
//! rustls configurations built from it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mash_domain::Identity;
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tonic::transport::ClientTlsConfig;

use crate::TransportError;
use crate::verify::{ClientIdentityVerifier, ServerIdentityVerifier};

/// How long a peer may take over the TLS handshake, on either side. A peer
/// that connects and then says nothing is closed after this, so stalled
/// connections cannot pile up.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many connections one server holds at once (handshaking or open).
/// Far above what the MASH's users and feeds open (each reuses its
/// channels), far below the default 1,024 file descriptors of a process.
pub const MAX_CONNECTIONS: usize = 512;

/// What a server allows its peers, for tests that need tighter bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub handshake_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { handshake_timeout: HANDSHAKE_TIMEOUT, max_connections: MAX_CONNECTIONS }
    }
}

/// The CA to trust, the revocation lists to honour, and this process's own
/// certificate and key.
#[derive(Clone)]
pub struct TlsMaterial {
    /// This process's chain and key, as tonic's client wants them.
    identity: tonic::transport::Identity,
    server: Arc<rustls::ServerConfig>,
    server_verifier: Arc<dyn ServerCertVerifier>,
    pub(crate) limits: ConnectionLimits,
}

impl std::fmt::Debug for TlsMaterial {
    // Hand-written so that a debug print can never show the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").finish_non_exhaustive()
    }
}

/// The certificate flags every service binary takes, from flags or `MASH_TLS_*`.
#[derive(Clone, Debug, clap::Args)]
pub struct TlsArgs {
    /// The CA that signs every MASH certificate, PEM.
    #[arg(long, env = "MASH_TLS_CA")]
    pub tls_ca: PathBuf,
    /// This service's certificate, PEM.
    #[arg(long, env = "MASH_TLS_CERT")]
    pub tls_cert: PathBuf,
    /// This service's private key, PEM.
    #[arg(long, env = "MASH_TLS_KEY")]
    pub tls_key: PathBuf,
    /// The CA's certificate revocation list, PEM: a revoked certificate is
    /// refused as a client and as a server. Read at start-up.
    #[arg(long, env = "MASH_TLS_CRL")]
    pub tls_crl: Option<PathBuf>,
}

impl TlsArgs {
    pub fn load(&self) -> Result<TlsMaterial, TransportError> {
        TlsMaterial::load_with_crl(&self.tls_ca, &self.tls_cert, &self.tls_key, self.tls_crl.as_deref())
    }
}

impl TlsMaterial {
    /// Reads the three PEM files and checks that each holds what it should,
    /// so a wrong path fails here with the file's name rather than later in
    /// a handshake.
    pub fn load(ca: &Path, cert: &Path, key: &Path) -> Result<Self, TransportError> {
        Self::load_with_crl(ca, cert, key, None)
    }

    /// Like [`TlsMaterial::load`], also refusing every certificate that the
    /// revocation list `crl` names, on both sides of a connection.
    pub fn load_with_crl(ca: &Path, cert: &Path, key: &Path, crl: Option<&Path>) -> Result<Self, TransportError> {
        let roots = Arc::new(read_roots(ca)?);
        let cert_pem = read(cert)?;
        let chain = parse_certificates(cert, &cert_pem)?;
        let key_pem = read(key)?;
        let private_key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|_| TransportError::Pem { path: key.to_owned(), problem: "no valid PEM private key found" })?;
        let crls = match crl {
            Some(path) => read_crls(path)?,
            None => Vec::new(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = server_config(&provider, &roots, &crls, chain, private_key)?;
        let server_verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .with_crls(crls)
            .build()
            .map_err(|error| TransportError::Config(error.to_string()))?;
        Ok(Self {
            identity: tonic::transport::Identity::from_pem(cert_pem, key_pem),
            server: Arc::new(server),
            server_verifier,
            limits: ConnectionLimits::default(),
        })
    }

    /// The same material with other connection limits (tests use short ones).
    pub fn with_limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Server side: present our certificate, and require a client
    /// certificate that chains to the CA, is not revoked, and names exactly
    /// one MASH identity.
    pub(crate) fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.server.clone()
    }

    /// Client side, for a connection to the server whose identity is
    /// `server`: trust only the CA (no system roots), check the server name
    /// of the URI and revocation, require the certificate's one URI SAN to
    /// be `server`, and present our certificate.
    pub(crate) fn client_config(&self, server: &Identity) -> (ClientTlsConfig, Arc<dyn ServerCertVerifier>) {
        let config = ClientTlsConfig::new().identity(self.identity.clone()).timeout(self.limits.handshake_timeout);
        let verifier = ServerIdentityVerifier { webpki: self.server_verifier.clone(), expected: server.clone() };
        (config, Arc::new(verifier))
    }
}

fn server_config(
    provider: &Arc<CryptoProvider>,
    roots: &Arc<RootCertStore>,
    crls: &[CertificateRevocationListDer<'static>],
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, TransportError> {
    let config_error = |error: &dyn std::fmt::Display| TransportError::Config(error.to_string());
    let webpki = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .with_crls(crls.iter().cloned())
        .build()
        .map_err(|error| config_error(&error))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| config_error(&error))?
        .with_client_cert_verifier(Arc::new(ClientIdentityVerifier { webpki }))
        .with_single_cert(chain, key)
        .map_err(|error| config_error(&error))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

fn read(path: &Path) -> Result<Vec<u8>, TransportError> {
    std::fs::read(path).map_err(|reason| TransportError::Read { path: path.to_owned(), reason })
}

fn parse_certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let problem = match certs {
        Ok(certs) if !certs.is_empty() => return Ok(certs),
        Ok(_) => "no PEM certificate found",
        Err(_) => "malformed PEM certificate",
    };
    Err(TransportError::Pem { path: path.to_owned(), problem })
}

fn read_roots(path: &Path) -> Result<RootCertStore, TransportError> {
    let mut roots = RootCertStore::empty();
    for cert in parse_certificates(path, &read(path)?)? {
        roots
            .add(cert)
            .map_err(|_| TransportError::Pem { path: path.to_owned(), problem: "not a usable CA certificate" })?;
    }
    Ok(roots)
}

fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TransportError> {
    let pem = read(path)?;
    let crls: Result<Vec<_>, _> = CertificateRevocationListDer::pem_slice_iter(&pem).collect();
    match crls {
        Ok(crls) if !crls.is_empty() => Ok(crls),
        Ok(_) => Err(TransportError::Pem { path: path.to_owned(), problem: "no PEM revocation list found" }),
        Err(_) => Err(TransportError::Pem { path: path.to_owned(), problem: "malformed PEM revocation list" }),
    }
}
