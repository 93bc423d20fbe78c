//! Who gets a certificate in the demo: the broker, the agency feeds, the demo
//! users and the agency systems that push records.

use crate::TRUST_DOMAIN;

/// One certificate holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// File stem of its PEM files, e.g. `broker` for `broker.pem` and `broker.key`.
    pub name: &'static str,
    /// The SPIFFE ID written as the certificate's URI SAN.
    pub spiffe_id: String,
    pub kind: PrincipalKind,
}

/// What a certificate may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// Server and client auth: services also call each other.
    Service,
    /// Client auth only.
    Client,
}

const SERVICES: [&str; 5] = ["broker", "feed-police", "feed-health", "feed-education", "feed-social-care"];
const USERS: [&str; 4] = ["rita-researcher", "robin-researcher", "maya-manager", "ian-ig"];
/// (file stem, SPIFFE path): the stems carry an `agency-` prefix so they
/// cannot clash with the feed services of the same agency.
const AGENCIES: [(&str, &str); 4] = [
    ("agency-police", "police"),
    ("agency-health", "health"),
    ("agency-education", "education"),
    ("agency-social-care", "social-care"),
];

/// Each agency's gatekeeper, who decides on its restricted items.
const GATEKEEPERS: [(&str, &str); 4] = [
    ("police-gatekeeper", "police/gatekeeper"),
    ("health-gatekeeper", "health/gatekeeper"),
    ("education-gatekeeper", "education/gatekeeper"),
    ("social-care-gatekeeper", "social-care/gatekeeper"),
];

/// The demo principals: services, then users, then agency systems, then
/// agency gatekeepers.
pub fn demo_principals() -> Vec<Principal> {
    let services = SERVICES.iter().map(|name| principal(name, "service", name, PrincipalKind::Service));
    let users = USERS.iter().map(|name| principal(name, "user", name, PrincipalKind::Client));
    let agencies = AGENCIES.iter().map(|(name, agency)| principal(name, "agency", agency, PrincipalKind::Client));
    let gatekeepers = GATEKEEPERS.iter().map(|(name, path)| principal(name, "agency", path, PrincipalKind::Client));
    services.chain(users).chain(agencies).chain(gatekeepers).collect()
}

fn principal(name: &'static str, category: &str, path: &str, kind: PrincipalKind) -> Principal {
    let spiffe_id = format!("spiffe://{TRUST_DOMAIN}/{category}/{path}");
    Principal { name, spiffe_id, kind }
}
