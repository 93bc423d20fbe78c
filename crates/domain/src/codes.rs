//! Closed sets of codes: agencies, categories and their classification, levels,
//! tiers, consent states and relations.

use std::fmt;

use crate::DomainError;

/// Generates `as_str`, `parse`, `ALL` and `Display` for a fieldless enum whose
/// variants each have one canonical text form.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    DomainError::invalid(field, format!("unknown {} {}; expected one of {}", stringify!($name).to_lowercase(), crate::echo(raw), known.join(", ")))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A partner agency with a feed behind the broker, one of those in
/// `policy/agencies.csv` (see [`crate::registry`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Agency(&'static str);

impl Agency {
    /// The agencies this code base ships adapters and demo data for.
    pub const POLICE: Agency = Agency("police");
    pub const HEALTH: Agency = Agency("health");
    pub const EDUCATION: Agency = Agency("education");
    pub const SOCIAL_CARE: Agency = Agency("social-care");

    pub(crate) fn named(name: &'static str) -> Self {
        Self(name)
    }

    /// Every agency in the registry, in its order.
    pub fn all() -> &'static [Agency] {
        crate::registry::registry().agencies()
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        crate::registry::registry().agency(field, raw)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Agency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

code_enum!(
    /// The MAIS classification of an item.
    ItemKind { Involvement => "involvement", State => "state", Event => "event" }
);

code_enum!(
    Sensitivity { Standard => "standard", Sensitive => "sensitive", Restricted => "restricted" }
);

code_enum!(
    /// How much of an item an enquiry may see. Ordered: `None < Existence < Summary < Detail`.
    Tier { None => "none", Existence => "existence", Summary => "summary", Detail => "detail" }
);

code_enum!(
    /// The enquiry's level, set at triage (Thurrock's scale).
    Level {
        /// Early help: needs no longer met by universal services.
        EarlyHelp => "1",
        /// Child in need (Children Act 1989 s.17).
        ChildInNeed => "2",
        /// Child protection (s.47): immediate, serious risk.
        ChildProtection => "3",
    }
);

code_enum!(
    ConsentState { Given => "given", Refused => "refused", NotSought => "not-sought" }
);

code_enum!(
    /// A subject's relation to the child the enquiry is about.
    Relation {
        Child => "child",
        Sibling => "sibling",
        ParentOrCarer => "parent-or-carer",
        OtherAdult => "other-adult",
    }
);

code_enum!(
    /// A person's recorded sex, as agencies' systems hold it.
    Sex { Female => "female", Male => "male" }
);

impl Sex {
    /// Parses the codes agencies use (F/M, female/male, the NHS's 1/2);
    /// `None` for unknown (empty, U, X, 0, 9), an error for anything else.
    pub fn parse_code(field: &str, raw: &str) -> Result<Option<Self>, DomainError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "u" | "x" | "0" | "9" | "unknown" => Ok(None),
            "f" | "female" | "2" => Ok(Some(Sex::Female)),
            "m" | "male" | "1" => Ok(Some(Sex::Male)),
            _ => Err(DomainError::invalid(field, "must be F, M, female, male, 1, 2 or empty for unknown")),
        }
    }
}

code_enum!(
    /// What the enquiry's information is for. Part of the disclosure context:
    /// the same level may justify less for one purpose than for another.
    Purpose {
        /// Deciding, at the front door, what response a contact needs.
        FrontDoorDecision => "front-door-decision",
        /// Informing a s.47 strategy discussion.
        StrategyDiscussion => "strategy-discussion",
        /// Planning an early help offer with the family.
        EarlyHelpAssessment => "early-help-assessment",
    }
);

code_enum!(
    /// The legal gateway the enquiry relies on to share.
    LawfulBasis {
        /// Children Act 1989 s.47 (with UK GDPR 6(1)(e), DPA 2018 Sch 1 para 18).
        Section47 => "children-act-1989-s47",
        /// Children Act 1989 s.17 (with UK GDPR 6(1)(e), DPA 2018 Sch 1 para 18).
        Section17 => "children-act-1989-s17",
        /// The family's consent, as early help works.
        Consent => "consent",
    }
);

code_enum!(
    /// How old an item is, relative to the day of the check.
    AgeBand {
        /// Dated within the last 12 calendar months (or in the future).
        Recent => "recent",
        /// Older than 12 calendar months.
        Historic => "historic",
    }
);

impl AgeBand {
    /// The band of an item dated `date`, on `today`.
    pub fn of(date: time::Date, today: time::Date) -> Self {
        // The same day a year earlier; 29 February falls back to the 28th.
        let year_ago = today
            .replace_year(today.year() - 1)
            .or_else(|_| today.replace_day(28).and_then(|d| d.replace_year(today.year() - 1)))
            .unwrap_or(today);
        if date >= year_ago { AgeBand::Recent } else { AgeBand::Historic }
    }
}

/// An item category such as `police/domestic-abuse`. Each belongs to one agency
/// and fixes the item's kind and its least sensitivity; the registry
/// (`policy/agencies.csv`) lists them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Category(&'static CategoryDef);

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CategoryDef {
    pub(crate) name: &'static str,
    pub(crate) agency: Agency,
    pub(crate) kind: ItemKind,
    pub(crate) sensitivity: Sensitivity,
}

impl Category {
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        crate::registry::registry()
            .categories()
            .iter()
            .find(|d| d.name == raw)
            .map(|d| Category(d))
            .ok_or_else(|| DomainError::invalid(field, format!("unknown category {}", crate::echo(raw))))
    }

    /// A category that the given agency may use, or an error naming both.
    pub fn parse_for(field: &str, raw: &str, agency: Agency) -> Result<Self, DomainError> {
        let category = Self::parse(field, raw)?;
        if category.agency() != agency {
            return Err(DomainError::invalid(
                field,
                format!("category {} does not belong to the {agency} feed", crate::echo(raw)),
            ));
        }
        Ok(category)
    }

    pub fn all() -> impl Iterator<Item = Category> {
        crate::registry::registry().categories().iter().map(|d| Category(d))
    }

    pub fn as_str(self) -> &'static str {
        self.0.name
    }

    pub fn agency(self) -> Agency {
        self.0.agency
    }

    pub fn kind(self) -> ItemKind {
        self.0.kind
    }

    /// The least sensitivity of any item in this category.
    pub fn sensitivity(self) -> Sensitivity {
        self.0.sensitivity
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl fmt::Debug for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Category({})", self.0.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_is_named_after_its_agency() {
        for category in Category::all() {
            let prefix = format!("{}/", category.agency());
            assert!(category.as_str().starts_with(&prefix), "{category}");
            assert_eq!(Category::parse("c", category.as_str()), Ok(category));
        }
    }

    #[test]
    fn twelve_calendar_months_make_an_item_historic() {
        use time::macros::date;
        let cases = [
            (date!(2026 - 11 - 23), date!(2025 - 11 - 23), AgeBand::Recent),
            (date!(2026 - 11 - 23), date!(2025 - 11 - 22), AgeBand::Historic),
            (date!(2026 - 11 - 23), date!(2026 - 12 - 01), AgeBand::Recent),
            (date!(2028 - 02 - 29), date!(2027 - 02 - 28), AgeBand::Recent),
            (date!(2028 - 02 - 29), date!(2027 - 02 - 27), AgeBand::Historic),
        ];
        for (today, item, band) in cases {
            assert_eq!(AgeBand::of(item, today), band, "{item} on {today}");
        }
    }

    #[test]
    fn unknown_codes_name_the_field() {
        let err = Category::parse("record.category", "police/parking").expect_err("unknown");
        assert_eq!(err.field, "record.category");
        assert!(Agency::parse("agencies[0]", "probation").is_err());
        assert!(Category::parse_for("c", "health/maternity", Agency::POLICE).is_err());
        assert!(Tier::Detail > Tier::Summary && Tier::Existence > Tier::None);
    }
}
