//! Development PKI: a CA and certificates for every service and demo user,
//! generated with rcgen.
//!
//! This crate owns the shape of the demo's certificates: one short-lived CA
//! whose key never touches disk, and ECDSA P-256 leaves whose URI SAN is the
//! holder's SPIFFE ID. Service leaves also carry the DNS names a client
//! reaches them by: the service's own name (a Kubernetes Service of that
//! name), `localhost` and `127.0.0.1`. The CA also signs a revocation list,
//! `crl.pem`, naming the leaves the caller asked to revoke (none by default).
//! It is for development and tests only; production certificates come from a
//! real CA.

mod error;
mod principals;
mod write;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

pub use error::PkiError;
pub use principals::{Principal, PrincipalKind, demo_principals};

/// The SPIFFE trust domain of every demo identity.
pub use mash_domain::TRUST_DOMAIN;

/// Paths of one principal's PEM files.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertPaths {
    /// The CA certificate that every peer must chain to.
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A generated PKI on disk.
#[derive(Clone, Debug)]
pub struct DevPki {
    pub dir: PathBuf,
    names: Vec<String>,
}

impl DevPki {
    /// Generates a fresh CA named `ca_name` and a certificate for each
    /// principal into `dir` (creating it): `ca.pem`, `<name>.pem` and
    /// `<name>.key` (mode 0600 on unix). The CA key is dropped when this
    /// returns, so nobody can mint more certificates from these files.
    pub fn generate(dir: &Path, ca_name: &str, principals: &[Principal]) -> Result<DevPki, PkiError> {
        Self::generate_revoking(dir, ca_name, principals, &[])
    }

    /// Like [`DevPki::generate`], and the CA's revocation list (`crl.pem`)
    /// names the certificates of the principals called `revoked`: the only
    /// chance to sign one, since the CA key is dropped on return.
    pub fn generate_revoking(
        dir: &Path,
        ca_name: &str,
        principals: &[Principal],
        revoked: &[&str],
    ) -> Result<DevPki, PkiError> {
        for principal in principals {
            check_name(&principal.name)?;
        }
        if let Some(unknown) = revoked.iter().find(|name| !principals.iter().any(|p| p.name == **name)) {
            return Err(PkiError::UnknownPrincipal((*unknown).to_owned()));
        }
        write::create_dir(dir)?;
        let generate = |reason| PkiError::Generate { subject: ca_name.to_owned(), reason };
        let (ca_params, ca_key) = ca(ca_name)?;
        let ca_cert = ca_params.self_signed(&ca_key).map_err(generate)?;
        write::public(&dir.join("ca.pem"), &ca_cert.pem())?;
        let issuer = Issuer::new(ca_params, ca_key);
        let mut revoked_serials = Vec::new();
        for (index, principal) in principals.iter().enumerate() {
            // Serials are unique under this CA, which is all a CRL needs.
            let serial = SerialNumber::from(index as u64 + 1);
            if revoked.contains(&principal.name.as_str()) {
                revoked_serials.push(serial.clone());
            }
            let (cert_pem, key_pem) = leaf(principal, serial, &issuer)?;
            write::public(&dir.join(format!("{}.pem", principal.name)), &cert_pem)?;
            write::secret(&dir.join(format!("{}.key", principal.name)), &key_pem)?;
        }
        let crl = revocation_list(revoked_serials).signed_by(&issuer).map_err(generate)?;
        write::public(&dir.join("crl.pem"), &crl.pem().map_err(generate)?)?;
        let names = principals.iter().map(|p| p.name.clone()).collect();
        Ok(DevPki { dir: dir.to_owned(), names })
    }

    /// The CA's certificate revocation list, PEM.
    pub fn crl_path(&self) -> PathBuf {
        self.dir.join("crl.pem")
    }

    /// Paths of the PEM files of the principal called `name`.
    pub fn paths(&self, name: &str) -> Result<CertPaths, PkiError> {
        if !self.names.iter().any(|n| n == name) {
            return Err(PkiError::UnknownPrincipal(name.to_owned()));
        }
        Ok(CertPaths {
            ca: self.dir.join("ca.pem"),
            cert: self.dir.join(format!("{name}.pem")),
            key: self.dir.join(format!("{name}.key")),
        })
    }
}

/// Names become file names, so anything but a plain stem could write outside
/// `dir` or overwrite `ca.pem`.
fn check_name(name: &str) -> Result<(), PkiError> {
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if name.is_empty() || name == "ca" || !name.chars().all(plain) {
        return Err(PkiError::InvalidName(name.to_owned()));
    }
    Ok(())
}

fn ca(ca_name: &str) -> Result<(CertificateParams, KeyPair), PkiError> {
    let generate = |reason| PkiError::Generate { subject: ca_name.to_owned(), reason };
    let key = KeyPair::generate().map_err(generate)?;
    let mut params = base_params(ca_name);
    // Path length 0: this CA signs leaves only, never another CA.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    Ok((params, key))
}

/// Returns the leaf certificate and its private key, both PEM.
fn leaf(
    principal: &Principal,
    serial: SerialNumber,
    issuer: &Issuer<'_, KeyPair>,
) -> Result<(String, String), PkiError> {
    let generate = |reason| PkiError::Generate { subject: principal.spiffe_id.clone(), reason };
    let key = KeyPair::generate().map_err(generate)?;
    let mut params = base_params(&principal.name);
    params.serial_number = Some(serial);
    params.subject_alt_names = subject_alt_names(principal).map_err(generate)?;
    params.extended_key_usages = extended_key_usages(principal.kind);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, issuer).map_err(generate)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn revocation_list(serials: Vec<SerialNumber>) -> CertificateRevocationListParams {
    let now = OffsetDateTime::now_utc();
    let revoked_certs = serials
        .into_iter()
        .map(|serial_number| RevokedCertParams {
            serial_number,
            revocation_time: now,
            reason_code: None,
            invalidity_date: None,
        })
        .collect();
    CertificateRevocationListParams {
        this_update: now - Duration::days(1),
        next_update: now + Duration::days(365),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    }
}

fn base_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.distinguished_name.push(DnType::OrganizationName, "MASH development");
    // A day of slack so a peer whose clock runs behind still accepts it.
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(365);
    params
}

fn subject_alt_names(principal: &Principal) -> Result<Vec<SanType>, rcgen::Error> {
    let mut sans = vec![SanType::URI(principal.spiffe_id.clone().try_into()?)];
    if principal.kind == PrincipalKind::Service {
        sans.push(SanType::DnsName(principal.name.clone().try_into()?));
        sans.push(SanType::DnsName("localhost".try_into()?));
        sans.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }
    Ok(sans)
}

fn extended_key_usages(kind: PrincipalKind) -> Vec<ExtendedKeyUsagePurpose> {
    match kind {
        PrincipalKind::Service => {
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth]
        }
        PrincipalKind::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
    }
}
