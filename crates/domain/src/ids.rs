//! Identifiers the broker issues.

use std::fmt;

use crate::DomainError;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
                uuid::Uuid::parse_str(raw.trim())
                    .map(Self)
                    .map_err(|_| DomainError::invalid(field, "must be a UUID"))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// An enquiry opened by the MASH for one child.
    EnquiryId
);
uuid_id!(
    /// A subject of an enquiry. Random, so it is the pseudonymous reference to
    /// the person in the disclosure log.
    SubjectId
);
