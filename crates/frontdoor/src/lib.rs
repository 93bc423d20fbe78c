//! The front door's rules, as a pure library: no storage, no wire, no clock.
//! The broker stores what these functions decide and serves it.
//!
//! - [`calendar`]: the deadline a triage level sets, from a calendar of
//!   working days (weekends and configured bank holidays) in UK local time.
//! - [`workflow`]: the enquiry state machine and its transition records.
//! - [`outcome`]: the closed code sets of the front door: outcomes, RAG
//!   display of levels, concern categories, referrer kinds.
//! - [`rereferral`]: whether a new contact is a re-referral, and of which.
//! - [`report`]: the performance report over contact records, and its table
//!   and CSV renderings.
//! - [`generate`]: a seeded dataset of contacts whose true figures are known,
//!   calibrated to the councils' reports, for tests and the benchmark.
//!
//! `uk_time` holds the one rule for UK clock changes that the rest relies on.

/// Generates `ALL`, `as_str`, `parse`, `label` and `Display` for a fieldless
/// enum whose variants each have a stable wire code and a human label.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $code:literal, $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable wire code.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            /// How people read it, in reports and the CLI.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }

            pub fn parse(field: &str, raw: &str) -> Result<Self, mash_domain::DomainError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    mash_domain::DomainError::invalid(field, format!("unknown code {raw:?}; expected one of {}", known.join(", ")))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod calendar;
mod error;
pub mod generate;
pub mod outcome;
pub mod report;
pub mod rereferral;
pub mod uk_time;
pub mod workflow;

pub use calendar::{Calendar, Timescale};
pub use error::FrontDoorError;
pub use generate::{LevelMix, Mix, TrueFigures, generate};
pub use outcome::{ConcernCategory, Outcome, Rag, ReferrerKind};
pub use report::{ContactId, ContactRecord, IsoWeek, MAX_PERIOD_DAYS, Period, Report};
pub use rereferral::{PersonRef, PriorReferral, find_rereferral};
pub use workflow::{EnquiryState, Transition};

/// Level 1, 2, 3 → 0, 1, 2: the index of per-level arrays.
pub(crate) fn level_index(level: mash_domain::Level) -> usize {
    match level {
        mash_domain::Level::EarlyHelp => 0,
        mash_domain::Level::ChildInNeed => 1,
        mash_domain::Level::ChildProtection => 2,
    }
}
