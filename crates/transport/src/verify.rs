//! Certificate verification beyond the CA: the peer must present exactly one
//! SPIFFE identity in the MASH trust domain, and a client must meet the
//! server it meant to reach.
//!
//! webpki does the chain, validity, key usage, server name and revocation
//! checks; these wrappers add the identity checks after it, so that a
//! certificate the CA signed for one service cannot stand in for another.

use std::sync::Arc;

use mash_domain::Identity;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme};

use crate::identity::identity_from_cert_der;

/// Why a certificate the CA signed was still refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PeerRefused {
    #[error("the certificate names no single MASH identity: {0}")]
    NoIdentity(#[from] crate::TransportError),
    #[error("the server presented {presented}, not the expected {expected}")]
    Unexpected { expected: Identity, presented: Identity },
}

fn refused(reason: PeerRefused) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(reason))))
}

/// Verifies client certificates with webpki, then requires one MASH identity.
#[derive(Debug)]
pub(crate) struct ClientIdentityVerifier {
    pub(crate) webpki: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for ClientIdentityVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.webpki.verify_client_cert(end_entity, intermediates, now)?;
        identity_from_cert_der(end_entity).map_err(|error| refused(error.into()))?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Verifies a server's certificate with webpki, then requires it to name
/// exactly the identity this connection expects.
#[derive(Debug)]
pub(crate) struct ServerIdentityVerifier {
    pub(crate) webpki: Arc<dyn ServerCertVerifier>,
    pub(crate) expected: Identity,
}

impl ServerCertVerifier for ServerIdentityVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        let presented = identity_from_cert_der(end_entity).map_err(|error| refused(error.into()))?;
        if presented != self.expected {
            return Err(refused(PeerRefused::Unexpected { expected: self.expected.clone(), presented }));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.webpki.root_hint_subjects()
    }
}
