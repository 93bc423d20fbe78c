//! Re-referrals: a new contact about a child whose earlier referral was
//! closed in the previous 12 months.
//!
//! "12 months" means 12 calendar months, as managers and the Department for
//! Education's children-in-need census count them, not 365 days: the window
//! opens at the same UK wall-clock time on the same date a year earlier (from
//! 29 February, on 28 February) and includes that instant. A referral closed
//! after the new contact arrived, or still open, is not an earlier referral.

use std::fmt;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime};

use crate::{ContactId, uk_time};

/// An opaque reference to a person: the broker's keyed `person_ref`, equal for
/// the same child across contacts. Compared, never interpreted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonRef(String);

impl PersonRef {
    pub fn new(person_ref: impl Into<String>) -> Self {
        Self(person_ref.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Pseudonymous, but it links a child's contacts: kept out of logs.
impl fmt::Debug for PersonRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonRef(..)")
    }
}

/// A closed referral, as the broker has it on record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorReferral {
    pub id: ContactId,
    pub person: PersonRef,
    pub closed_at: OffsetDateTime,
}

/// The earliest closing time that still makes a contact received at
/// `received_at` a re-referral.
pub fn window_start(received_at: OffsetDateTime) -> OffsetDateTime {
    let local = uk_time::local(received_at);
    let date = local.date();
    let year_before = Date::from_calendar_date(date.year() - 1, date.month(), date.day())
        .or_else(|_| Date::from_calendar_date(date.year() - 1, Month::February, 28))
        .expect("every month but February has the same days every year");
    uk_time::instant(PrimitiveDateTime::new(year_before, local.time()))
}

/// The referral this contact re-refers: among `previous`, the one for the same
/// `person` closed most recently within the 12 months up to `received_at`
/// (on a tie, the one listed last). `None` means it is not a re-referral.
pub fn find_rereferral<'a>(
    person: &PersonRef,
    received_at: OffsetDateTime,
    previous: impl IntoIterator<Item = &'a PriorReferral>,
) -> Option<&'a PriorReferral> {
    let opens = window_start(received_at);
    previous
        .into_iter()
        .filter(|prior| &prior.person == person && opens <= prior.closed_at && prior.closed_at <= received_at)
        .max_by_key(|prior| prior.closed_at)
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;

    fn prior(id: u64, person: &str, closed_at: OffsetDateTime) -> PriorReferral {
        PriorReferral { id: ContactId::new(id), person: PersonRef::new(person), closed_at }
    }

    /// (why, received_at, expected link) for "amy" against `history`.
    fn check(history: &[PriorReferral], cases: &[(&str, OffsetDateTime, Option<u64>)]) {
        for &(why, received_at, expected) in cases {
            let found = find_rereferral(&PersonRef::new("amy"), received_at, history).map(|prior| prior.id.get());
            assert_eq!(found, expected, "{why}");
        }
    }

    #[test]
    fn links_the_most_recent_closure_in_the_previous_twelve_months() {
        let history = [
            prior(1, "amy", datetime!(2024-03-10 12:00 UTC)),
            prior(2, "amy", datetime!(2024-09-01 09:00 UTC)),
            prior(3, "ben", datetime!(2025-01-05 09:00 UTC)),
            prior(4, "amy", datetime!(2025-02-01 09:00 UTC)),
        ];
        check(
            &history,
            &[
                ("most recent of several", datetime!(2025-03-01 10:00 UTC), Some(4)),
                ("closures after the contact do not count", datetime!(2025-01-10 10:00 UTC), Some(2)),
                ("another child's closure is never linked", datetime!(2025-01-06 10:00 UTC), Some(2)),
                ("before any closure", datetime!(2024-03-10 11:59 UTC), None),
            ],
        );
    }

    #[test]
    fn the_window_includes_exactly_twelve_months() {
        let history = [prior(4, "amy", datetime!(2025-02-01 09:00 UTC))];
        check(
            &history,
            &[
                ("the closing instant itself", datetime!(2025-02-01 09:00 UTC), Some(4)),
                ("twelve months to the second is inside", datetime!(2026-02-01 09:00 UTC), Some(4)),
                ("a second more is outside", datetime!(2026-02-01 09:00:01 UTC), None),
            ],
        );
    }

    #[test]
    fn twelve_calendar_months_are_not_365_days() {
        // 2024 is a leap year: 365 days before 2025-03-01 is 2024-03-01, not 2024-02-29.
        let closed = [prior(9, "amy", datetime!(2024-02-29 15:00 UTC))];
        let received = datetime!(2025-02-28 15:00 UTC);
        assert_eq!(window_start(received), datetime!(2024-02-28 15:00 UTC));
        assert!(find_rereferral(&PersonRef::new("amy"), received, &closed).is_some());
        assert_eq!(window_start(datetime!(2024-02-29 15:00 UTC)), datetime!(2023-02-28 15:00 UTC));
        // The window keeps the UK wall clock: 09:00 BST a year before 09:00 BST.
        assert_eq!(window_start(datetime!(2025-07-01 08:00 UTC)), datetime!(2024-07-01 08:00 UTC));
    }

    #[test]
    fn debug_hides_the_reference() {
        assert_eq!(format!("{:?}", PersonRef::new("4f2a…")), "PersonRef(..)");
    }
}
