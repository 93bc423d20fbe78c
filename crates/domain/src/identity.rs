//! Who is calling: the SPIFFE-style URI from the caller's verified certificate.

use std::fmt;

use crate::{Agency, DomainError};

/// The SPIFFE trust domain of every MASH identity. An identity in any other
/// trust domain is refused: a CA that also signs for another domain (a
/// platform CA shared with other teams) must not be able to speak for MASH
/// users or services.
pub const TRUST_DOMAIN: &str = "mash.local";

/// A verified caller identity such as `spiffe://mash.local/user/rita-researcher`.
///
/// It only ever comes from the URI SAN of a certificate that the server's
/// mutual-TLS handshake verified against the MASH CA, never from a header.
/// Roles are not part of it: the casbin policy gives roles to identities.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity(String);

impl Identity {
    const SCHEME: &'static str = "spiffe://";
    const MAX_LEN: usize = 256;

    pub fn parse(uri: &str) -> Result<Self, DomainError> {
        let invalid = |problem: &str| DomainError::invalid("identity", problem);
        let rest = uri.strip_prefix(Self::SCHEME).ok_or_else(|| invalid("must be a spiffe:// URI"))?;
        if uri.len() > Self::MAX_LEN {
            return Err(invalid("is longer than 256 characters"));
        }
        let (domain, path) = rest.split_once('/').ok_or_else(|| invalid("must have a trust domain and a path"))?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-._/".contains(c);
        if domain.is_empty() || path.is_empty() || !rest.chars().all(allowed) {
            return Err(invalid("has an empty or malformed trust domain or path"));
        }
        if domain != TRUST_DOMAIN {
            return Err(invalid("is not in the MASH trust domain"));
        }
        Ok(Self(uri.to_owned()))
    }

    /// The broker's service identity: what every client of the broker
    /// expects its server to present.
    pub fn broker() -> Self {
        Self(format!("{}{TRUST_DOMAIN}/service/broker", Self::SCHEME))
    }

    /// The service identity of `agency`'s feed: what the broker and the
    /// agency's systems expect the feed's server to present.
    pub fn feed(agency: Agency) -> Self {
        Self(format!("{}{TRUST_DOMAIN}/service/feed-{agency}", Self::SCHEME))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The organisation the identity acts for: the agency of an agency
    /// system or of an agency's gatekeeper (`…/agency/police`,
    /// `…/agency/police/gatekeeper` → `police`), otherwise the MASH itself.
    pub fn organisation(&self) -> &str {
        let path = self.0.strip_prefix(Self::SCHEME).and_then(|rest| rest.split_once('/')).map_or("", |(_, path)| path);
        match path.split_once('/') {
            Some(("agency", rest)) => rest.split('/').next().unwrap_or(rest),
            _ => "mash",
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spiffe_uris_and_rejects_others() {
        let cases = [
            ("spiffe://mash.local/user/rita-researcher", true),
            ("spiffe://mash.local/service/broker", true),
            ("https://mash.local/user/rita", false),
            ("spiffe://mash.local", false),
            ("spiffe:///user/rita", false),
            ("spiffe://mash.local/user/rita smith", false),
            ("spiffe://evil.example/user/rita-researcher", false),
            ("spiffe://mash.localx/agency/police", false),
        ];
        for (uri, ok) in cases {
            assert_eq!(Identity::parse(uri).is_ok(), ok, "{uri}");
        }
    }

    #[test]
    fn organisations() {
        let of = |uri: &str| Identity::parse(uri).expect("valid").organisation().to_owned();
        assert_eq!(of("spiffe://mash.local/agency/police"), "police");
        assert_eq!(of("spiffe://mash.local/agency/police/gatekeeper"), "police");
        assert_eq!(of("spiffe://mash.local/user/rita-researcher"), "mash");
    }

    #[test]
    fn service_identities_follow_the_deployment_convention() {
        assert_eq!(Identity::broker().as_str(), "spiffe://mash.local/service/broker");
        assert!(Identity::parse(Identity::broker().as_str()).is_ok());
    }
}
