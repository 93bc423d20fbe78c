//! Domain types parsed at the edge: identifiers, levels, agencies, categories,
//! tiers, people. Once a value of one of these types exists it is valid, so
//! code inside the services trusts it. Nothing here knows about protobuf or
//! SQL, and no type here prints personal data in its `Debug` output.
mod codes;
mod error;
mod identifiers;
mod identity;
mod ids;
mod person;
pub mod registry;
pub mod text;

pub use codes::{
    AgeBand, Agency, Category, ConsentState, ItemKind, LawfulBasis, Level, Purpose, Relation, Sensitivity, Sex, Tier,
};
pub use error::{DomainError, echo};
pub use identifiers::{NhsNumber, Upn};
pub use identity::{Identity, TRUST_DOMAIN};
pub use ids::{EnquiryId, SubjectId};
pub use person::{Alias, MatchKey, Parsed, Person, PersonDetails, PersonInput, PreviousAddress, parse_date};

/// Today's date in UTC, the bound for dates of birth.
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}
