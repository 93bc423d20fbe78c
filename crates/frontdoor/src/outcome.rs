//! The front door's closed code sets. Wire codes are stable: they are stored
//! and sent to agencies, so a label may change but a code may not.

use mash_domain::Level;

code_enum!(
    /// The decision at the end of a contact (the reports' outcome categories).
    Outcome {
        NoFurtherAction => "nfa", "No further action / information only",
        AdviceAndSignposting => "advice", "Advice and signposting",
        EarlyHelp => "early-help", "Early help",
        Section17 => "s17", "Section 17 assessment",
        Section47 => "s47", "Section 47 strategy discussion",
        ReferralOther => "referral-other", "Referral to another service",
    }
);

code_enum!(
    /// How a triage level is shown: Wirral's RAG rating of Thurrock's levels.
    Rag { Green => "green", "Green", Amber => "amber", "Amber", Red => "red", "Red" }
);

impl From<Level> for Rag {
    fn from(level: Level) -> Self {
        match level {
            Level::EarlyHelp => Self::Green,
            Level::ChildInNeed => Self::Amber,
            Level::ChildProtection => Self::Red,
        }
    }
}

code_enum!(
    /// What a contact is worried about. A contact may carry several.
    ConcernCategory {
        DomesticAbuse => "domestic-abuse", "Domestic abuse",
        Neglect => "neglect", "Neglect",
        Missing => "missing", "Missing",
        /// Child sexual or criminal exploitation (CSE/CCE).
        Exploitation => "exploitation", "Exploitation (CSE/CCE)",
        PhysicalAbuse => "physical-abuse", "Physical abuse",
        SexualAbuse => "sexual-abuse", "Sexual abuse",
        EmotionalAbuse => "emotional-abuse", "Emotional abuse",
        MentalHealth => "mental-health", "Mental health",
        SubstanceMisuse => "substance-misuse", "Substance misuse",
        Other => "other", "Other",
    }
);

code_enum!(
    /// Who made the contact.
    ReferrerKind {
        Professional => "professional", "Professional",
        AgencySystem => "agency-system", "Agency system",
        /// A member of the public, recorded by front-door staff.
        MemberOfPublic => "public", "Member of the public",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes_are_stable_and_parse_back() {
        let codes: Vec<&str> = Outcome::ALL.iter().map(|outcome| outcome.as_str()).collect();
        assert_eq!(codes, ["nfa", "advice", "early-help", "s17", "s47", "referral-other"]);
        for &outcome in Outcome::ALL {
            assert_eq!(Outcome::parse("outcome", outcome.as_str()), Ok(outcome));
        }
        for &category in ConcernCategory::ALL {
            assert_eq!(ConcernCategory::parse("concern", category.as_str()), Ok(category));
        }
        for &kind in ReferrerKind::ALL {
            assert_eq!(ReferrerKind::parse("referrer", kind.as_str()), Ok(kind));
        }
        let error = Outcome::parse("decision.outcome", "rejected").expect_err("refused");
        assert_eq!(error.field, "decision.outcome");
        assert!(error.problem.contains("nfa, advice"), "{error}");
    }

    #[test]
    fn levels_show_as_rag() {
        let shown: Vec<&str> = Level::ALL.iter().map(|&level| Rag::from(level).label()).collect();
        assert_eq!(shown, ["Green", "Amber", "Red"]);
    }
}
