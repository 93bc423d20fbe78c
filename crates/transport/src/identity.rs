//! Who is calling, taken from the client certificate that the TLS handshake
//! verified.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex, PoisonError},
};

use mash_domain::Identity;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::TransportError;

/// `identity_from_cert_der`, remembered.
pub(crate) fn identity_of(der: &[u8]) -> Result<Identity, TransportError> {
    if let Some(identity) = remembered(der) {
        return Ok(identity);
    }
    let identity = identity_from_cert_der(der)?;
    remember(der, &identity);
    Ok(identity)
}

/// Identities already read from certificates, by the certificate's DER: every
/// call reads its caller, and parsing X.509 was about 1.5 % of all CPU in the
/// benchmark. The identity is a function of the bytes alone (they were
/// verified before they reach here), so a remembered one is the one a parse
/// would give. Only certificates that named an identity are kept, and the
/// whole memo is forgotten when it reaches `REMEMBERED` certificates.
static IDENTITIES: LazyLock<Mutex<HashMap<Vec<u8>, Identity>>> = LazyLock::new(Mutex::default);
const REMEMBERED: usize = 4096;

fn remembered(der: &[u8]) -> Option<Identity> {
    IDENTITIES.lock().unwrap_or_else(PoisonError::into_inner).get(der).cloned()
}

fn remember(der: &[u8], identity: &Identity) {
    let mut identities = IDENTITIES.lock().unwrap_or_else(PoisonError::into_inner);
    if identities.len() >= REMEMBERED {
        identities.clear();
    }
    identities.insert(der.to_vec(), identity.clone());
}

/// The identity named by the one URI SAN of a DER certificate. SPIFFE puts
/// exactly one URI SAN in an identity certificate, so a certificate with
/// several is refused rather than read by its first; the identity must be in
/// the MASH trust domain.
pub fn identity_from_cert_der(der: &[u8]) -> Result<Identity, TransportError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| TransportError::CertificateParse)?;
    let san = cert.subject_alternative_name().map_err(|_| TransportError::CertificateParse)?;
    let mut uris = san.into_iter().flat_map(|ext| ext.value.general_names.iter()).filter_map(|name| match name {
        GeneralName::URI(uri) => Some(*uri),
        _ => None,
    });
    let uri = uris.next().ok_or(TransportError::NoUriSan)?;
    if uris.next().is_some() {
        return Err(TransportError::SeveralUriSans);
    }
    Ok(Identity::parse(uri)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mash_pki::{DevPki, demo_principals};
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn reads_the_spiffe_id_of_generated_certificates() -> TestResult {
        let dir = tempfile::tempdir()?;
        let pki = DevPki::generate(dir.path(), "test CA", &demo_principals())?;
        for principal in demo_principals() {
            let der = CertificateDer::from_pem_file(pki.paths(&principal.name)?.cert)?;
            assert_eq!(identity_from_cert_der(&der)?.as_str(), principal.spiffe_id);
        }
        Ok(())
    }

    #[test]
    fn rejects_certificates_without_a_spiffe_id() -> TestResult {
        let dns_only = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
        let result = identity_from_cert_der(dns_only.cert.der());
        assert!(matches!(result, Err(TransportError::NoUriSan)), "{result:?}");

        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = vec![rcgen::SanType::URI("https://mash.local/user/eve".try_into()?)];
        let cert = params.self_signed(&rcgen::KeyPair::generate()?)?;
        let result = identity_from_cert_der(cert.der());
        assert!(matches!(result, Err(TransportError::Identity(_))), "{result:?}");

        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = vec![rcgen::SanType::URI("spiffe://other.example/user/rita-researcher".try_into()?)];
        let cert = params.self_signed(&rcgen::KeyPair::generate()?)?;
        let result = identity_from_cert_der(cert.der());
        assert!(matches!(result, Err(TransportError::Identity(_))), "another trust domain: {result:?}");

        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = vec![
            rcgen::SanType::URI("spiffe://mash.local/user/rita-researcher".try_into()?),
            rcgen::SanType::URI("spiffe://mash.local/user/ian-ig".try_into()?),
        ];
        let cert = params.self_signed(&rcgen::KeyPair::generate()?)?;
        let result = identity_from_cert_der(cert.der());
        assert!(matches!(result, Err(TransportError::SeveralUriSans)), "two URI SANs: {result:?}");

        let result = identity_from_cert_der(b"not a certificate");
        assert!(matches!(result, Err(TransportError::CertificateParse)), "{result:?}");
        Ok(())
    }

    #[test]
    fn remembers_identities_but_not_refusals() -> TestResult {
        let dir = tempfile::tempdir()?;
        let pki = DevPki::generate(dir.path(), "test CA", &demo_principals())?;
        let principal = &demo_principals()[0];
        let der = CertificateDer::from_pem_file(pki.paths(&principal.name)?.cert)?;
        assert_eq!(identity_of(&der)?.as_str(), principal.spiffe_id);
        assert_eq!(remembered(&der).map(|i| i.as_str().to_owned()), Some(principal.spiffe_id.clone()));
        assert_eq!(identity_of(&der)?.as_str(), principal.spiffe_id);

        let dns_only = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
        for _ in 0..2 {
            let result = identity_of(dns_only.cert.der());
            assert!(matches!(result, Err(TransportError::NoUriSan)), "{result:?}");
            assert!(remembered(dns_only.cert.der()).is_none());
        }
        Ok(())
    }
}
