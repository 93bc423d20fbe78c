//! PEM material for mutual TLS, read and checked once at start-up.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use crate::TransportError;

/// Name every client expects in the server certificate. Services listen on
/// loopback or behind a name we control, and their certificates carry the DNS
/// SAN `localhost`, so checking that one name works wherever they run.
const SERVER_NAME: &str = "localhost";

/// The CA to trust and this process's own certificate and key.
#[derive(Clone)]
pub struct TlsMaterial {
    ca: Certificate,
    identity: Identity,
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
}

impl TlsArgs {
    pub fn load(&self) -> Result<TlsMaterial, TransportError> {
        TlsMaterial::load(&self.tls_ca, &self.tls_cert, &self.tls_key)
    }
}

impl TlsMaterial {
    /// Reads the three PEM files and checks that each holds what it should,
    /// so a wrong path fails here with the file's name rather than later in
    /// a handshake.
    pub fn load(ca: &Path, cert: &Path, key: &Path) -> Result<Self, TransportError> {
        let ca_pem = read_certificates(ca)?;
        let cert_pem = read_certificates(cert)?;
        let key_pem = read_private_key(key)?;
        Ok(Self { ca: Certificate::from_pem(ca_pem), identity: Identity::from_pem(cert_pem, key_pem) })
    }

    /// Server side: present our certificate and require a client certificate
    /// that chains to the CA.
    pub fn server_config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(self.identity.clone())
            .client_ca_root(self.ca.clone())
            .client_auth_optional(false)
    }

    /// Client side: trust only the CA (no system roots) and present our
    /// certificate.
    pub fn client_config(&self) -> ClientTlsConfig {
        ClientTlsConfig::new().ca_certificate(self.ca.clone()).identity(self.identity.clone()).domain_name(SERVER_NAME)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TransportError> {
    std::fs::read(path).map_err(|reason| TransportError::Read { path: path.to_owned(), reason })
}

fn read_certificates(path: &Path) -> Result<Vec<u8>, TransportError> {
    let pem = read(path)?;
    let mut certs = CertificateDer::pem_slice_iter(&pem);
    let problem = match certs.next() {
        Some(Ok(_)) if certs.all(|cert| cert.is_ok()) => return Ok(pem),
        None => "no PEM certificate found",
        Some(_) => "malformed PEM certificate",
    };
    Err(TransportError::Pem { path: path.to_owned(), problem })
}

fn read_private_key(path: &Path) -> Result<Vec<u8>, TransportError> {
    let pem = read(path)?;
    match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(_) => Ok(pem),
        Err(_) => Err(TransportError::Pem { path: path.to_owned(), problem: "no valid PEM private key found" }),
    }
}
