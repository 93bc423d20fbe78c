//! Generates a PKI into a temporary directory and reads the certificates back
//! with an independent parser.

use std::net::IpAddr;
use std::path::Path;

use mash_pki::{DevPki, PkiError, PrincipalKind, demo_principals};
use x509_parser::extensions::GeneralName;
use x509_parser::pem::parse_x509_pem;
use x509_parser::prelude::{FromDer, X509Certificate};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The names of the certificate's SANs, written as strings for easy asserts.
fn subject_alt_names(pem_path: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let pem_bytes = std::fs::read(pem_path)?;
    let (_, pem) = parse_x509_pem(&pem_bytes)?;
    let (_, cert) = X509Certificate::from_der(&pem.contents)?;
    let san = cert.subject_alternative_name()?.ok_or("no SAN extension")?;
    let names = san.value.general_names.iter().map(|name| match name {
        GeneralName::URI(uri) => format!("uri:{uri}"),
        GeneralName::DNSName(dns) => format!("dns:{dns}"),
        GeneralName::IPAddress(bytes) => match <[u8; 4]>::try_from(*bytes) {
            Ok(octets) => format!("ip:{}", IpAddr::from(octets)),
            Err(_) => "ip:?".to_owned(),
        },
        other => format!("other:{other:?}"),
    });
    Ok(names.collect())
}

fn eku(pem_path: &Path) -> Result<(bool, bool), Box<dyn std::error::Error>> {
    let pem_bytes = std::fs::read(pem_path)?;
    let (_, pem) = parse_x509_pem(&pem_bytes)?;
    let (_, cert) = X509Certificate::from_der(&pem.contents)?;
    let eku = cert.extended_key_usage()?.ok_or("no EKU extension")?;
    Ok((eku.value.server_auth, eku.value.client_auth))
}

#[test]
fn demo_principals_have_the_expected_ids_in_order() {
    let principals = demo_principals();
    let pairs: Vec<(&str, &str)> = principals.iter().map(|p| (p.name.as_str(), p.spiffe_id.as_str())).collect();
    assert_eq!(pairs.len(), 17);
    assert_eq!(pairs[0], ("broker", "spiffe://mash.local/service/broker"));
    assert_eq!(pairs[4], ("feed-social-care", "spiffe://mash.local/service/feed-social-care"));
    assert_eq!(pairs[5], ("rita-researcher", "spiffe://mash.local/user/rita-researcher"));
    assert_eq!(pairs[8], ("ian-ig", "spiffe://mash.local/user/ian-ig"));
    assert_eq!(pairs[9], ("agency-police", "spiffe://mash.local/agency/police"));
    assert_eq!(pairs[12], ("agency-social-care", "spiffe://mash.local/agency/social-care"));
    assert_eq!(pairs[13], ("police-gatekeeper", "spiffe://mash.local/agency/police/gatekeeper"));
    assert_eq!(pairs[16], ("social-care-gatekeeper", "spiffe://mash.local/agency/social-care/gatekeeper"));
    let services = principals.iter().filter(|p| p.kind == PrincipalKind::Service).count();
    assert_eq!(services, 5);
}

#[test]
fn generates_files_with_the_right_names_and_usages() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = DevPki::generate(&dir.path().join("pki"), "MASH dev CA", &demo_principals())?;
    for principal in demo_principals() {
        let paths = pki.paths(&principal.name)?;
        assert!(paths.ca.is_file() && paths.cert.is_file() && paths.key.is_file(), "{}", principal.name);
    }

    let broker = pki.paths("broker")?;
    let sans = subject_alt_names(&broker.cert)?;
    assert_eq!(sans, ["uri:spiffe://mash.local/service/broker", "dns:broker", "dns:localhost", "ip:127.0.0.1"]);
    assert_eq!(eku(&broker.cert)?, (true, true));

    let rita = pki.paths("rita-researcher")?;
    assert_eq!(subject_alt_names(&rita.cert)?, ["uri:spiffe://mash.local/user/rita-researcher"]);
    assert_eq!(eku(&rita.cert)?, (false, true));
    assert!(!std::fs::read_to_string(&broker.ca)?.is_empty());
    Ok(())
}

#[cfg(unix)]
#[test]
fn keys_are_owner_only() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    let pki = DevPki::generate(dir.path(), "MASH dev CA", &demo_principals()[..1])?;
    let mode = std::fs::metadata(pki.paths("broker")?.key)?.permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    Ok(())
}

#[test]
fn unknown_and_unsafe_names_are_rejected() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = DevPki::generate(dir.path(), "MASH dev CA", &demo_principals()[..1])?;
    assert!(matches!(pki.paths("rita-researcher"), Err(PkiError::UnknownPrincipal(_))));

    let mut evil = demo_principals().remove(0);
    for name in ["../broker", "ca", ""] {
        evil.name = name.to_string();
        let result = DevPki::generate(dir.path(), "MASH dev CA", std::slice::from_ref(&evil));
        assert!(matches!(result, Err(PkiError::InvalidName(_))), "{name:?}");
    }
    Ok(())
}
