//! Who gets a certificate in the demo: the broker, the agency feeds, the demo
//! users and the agency systems that push records.

use mash_domain::Agency;

use crate::TRUST_DOMAIN;

/// One certificate holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// File stem of its PEM files, e.g. `broker` for `broker.pem` and `broker.key`.
    pub name: String,
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

const USERS: [&str; 4] = ["rita-researcher", "robin-researcher", "maya-manager", "ian-ig"];

/// The demo principals: services, then users, then agency systems, then
/// agency gatekeepers, for every agency in the registry (`policy/agencies.csv`).
pub fn demo_principals() -> Vec<Principal> {
    let agencies: Vec<&str> = Agency::all().iter().map(|a| a.as_str()).collect();
    let feeds = agencies.iter().map(|agency| format!("feed-{agency}"));
    let services = std::iter::once("broker".to_owned())
        .chain(feeds)
        .map(|name| principal(&name, "service", &name, PrincipalKind::Service));
    let users = USERS.iter().map(|name| principal(name, "user", name, PrincipalKind::Client));
    // The stems carry an `agency-` prefix so they cannot clash with the feed
    // services of the same agency.
    let systems =
        agencies.iter().map(|agency| principal(&format!("agency-{agency}"), "agency", agency, PrincipalKind::Client));
    // Each agency's gatekeeper, who decides on its restricted items.
    let gatekeepers = agencies.iter().map(|agency| {
        principal(&format!("{agency}-gatekeeper"), "agency", &format!("{agency}/gatekeeper"), PrincipalKind::Client)
    });
    services.chain(users).chain(systems).chain(gatekeepers).collect()
}

fn principal(name: &str, category: &str, path: &str, kind: PrincipalKind) -> Principal {
    let spiffe_id = format!("spiffe://{TRUST_DOMAIN}/{category}/{path}");
    Principal { name: name.to_owned(), spiffe_id, kind }
}
