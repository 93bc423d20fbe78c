//! The social-care feed: involvements such as child in need, child protection
//! plans and looked-after episodes.

use mash_domain::{Agency, Category, DomainError};
use mash_feed::{ItemContent, ItemField, RecordAdapter, item_date, wrong_body};
use mash_proto::v1::{SocialCareInvolvement, push_record::Body};

#[derive(Debug)]
pub struct Adapter;

impl RecordAdapter for Adapter {
    fn agency(&self) -> Agency {
        Agency::SOCIAL_CARE
    }

    fn to_item(&self, body: &Body) -> Result<ItemContent, DomainError> {
        match body {
            Body::SocialCare(involvement) => involvement_item(involvement),
            other => Err(wrong_body(Agency::SOCIAL_CARE, other, "social_care")),
        }
    }
}

fn involvement_item(s: &SocialCareInvolvement) -> Result<ItemContent, DomainError> {
    let start = item_date("social_care.start_date", &s.start_date)?;
    let end = match s.end_date.trim() {
        "" => None,
        raw => Some(item_date("social_care.end_date", raw)?),
    };
    if end.is_some_and(|end| end < start) {
        return Err(DomainError::invalid("social_care.end_date", "is before the start date"));
    }
    let category = Category::parse_for("social_care.category", &s.category, Agency::SOCIAL_CARE)?;
    let mut fields = vec![
        ItemField::open("end_date", end.map(|d| d.to_string()).unwrap_or_else(|| "open".into())),
        ItemField::open("allocated_team", s.team.trim()),
    ];
    fields.extend(referral_outcome(category, &s.outcome)?.map(|outcome| ItemField::open("outcome", outcome)));
    fields.extend([
        ItemField::open("summary", s.summary.trim()),
        ItemField::restricted("social_worker", s.social_worker.trim()),
    ]);
    Ok(ItemContent::new(category, start, fields))
}

/// A referral says what it led to; other involvements have no outcome.
fn referral_outcome(category: Category, raw: &str) -> Result<Option<&'static str>, DomainError> {
    const OUTCOMES: [&str; 5] = ["nfa", "early-help", "assessment", "s47", "open"];
    let field = "social_care.outcome";
    match (category.as_str() == "social-care/referral", raw.trim()) {
        (true, "") => Err(DomainError::invalid(field, format!("is required for a referral: {}", OUTCOMES.join(", ")))),
        (true, outcome) => OUTCOMES
            .into_iter()
            .find(|o| *o == outcome)
            .map(Some)
            .ok_or_else(|| DomainError::invalid(field, format!("must be one of {}", OUTCOMES.join(", ")))),
        (false, "") => Ok(None),
        (false, _) => Err(DomainError::invalid(field, "is only for social-care/referral")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn involvement(category: &str, outcome: &str) -> Body {
        Body::SocialCare(SocialCareInvolvement {
            category: category.into(),
            start_date: "2026-01-02".into(),
            team: "North locality team".into(),
            outcome: outcome.into(),
            ..Default::default()
        })
    }

    #[test]
    fn a_referral_says_what_it_led_to_and_nothing_else_does() {
        let cases = [
            ("social-care/referral", "s47", Ok(Some("s47"))),
            ("social-care/referral", "nfa", Ok(Some("nfa"))),
            ("social-care/referral", "", Err("social_care.outcome")),
            ("social-care/referral", "maybe", Err("social_care.outcome")),
            ("social-care/child-in-need", "", Ok(None)),
            ("social-care/child-in-need", "nfa", Err("social_care.outcome")),
        ];
        for (category, outcome, expected) in cases {
            let got = Adapter
                .to_item(&involvement(category, outcome))
                .map(|item| item.fields.iter().find(|f| f.name == "outcome").map(|f| f.value.clone()));
            match (got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got.as_deref(), expected, "{category} {outcome}"),
                (Err(e), Err(field)) => assert_eq!(e.field, field, "{category} {outcome}: {e}"),
                (got, expected) => panic!("{category} {outcome}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
