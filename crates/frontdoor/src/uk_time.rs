//! UK local time (Europe/London) without a time-zone database.
//!
//! The rule in force since 1996 (Summer Time Order, EU harmonised): British
//! Summer Time (UTC+1) runs from 01:00 UTC on the last Sunday in March to
//! 01:00 UTC on the last Sunday in October; the rest of the year is GMT (UTC+0).
//! Working days and ISO weeks are judged on the local date, because that is the
//! date a front-door worker sees on the wall.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

const GMT: UtcOffset = UtcOffset::UTC;
const BST: UtcOffset = match UtcOffset::from_hms(1, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("UTC+1 is a valid offset"),
};

/// The last Sunday of `month` (March or October), found backwards from the 31st.
fn last_sunday(year: i32, month: Month) -> Date {
    let last = Date::from_calendar_date(year, month, 31).expect("March and October have 31 days");
    last - Duration::days(i64::from(last.weekday().number_days_from_sunday()))
}

/// The UTC offset in force in the UK at `instant`.
pub fn offset_at(instant: OffsetDateTime) -> UtcOffset {
    let utc = instant.to_offset(GMT);
    let change =
        |month| PrimitiveDateTime::new(last_sunday(utc.year(), month), Time::from_hms(1, 0, 0).expect("01:00"));
    let naive = PrimitiveDateTime::new(utc.date(), utc.time());
    if change(Month::March) <= naive && naive < change(Month::October) { BST } else { GMT }
}

/// The UK wall-clock date and time of `instant`.
pub fn local(instant: OffsetDateTime) -> PrimitiveDateTime {
    let local = instant.to_offset(offset_at(instant));
    PrimitiveDateTime::new(local.date(), local.time())
}

/// The instant (in UTC) of a UK wall-clock time.
///
/// Two hours a year are irregular, both early on a Sunday: in the spring gap
/// (01:00–02:00 local does not exist) the time is read as GMT, so it lands an
/// hour later on the wall; in the autumn overlap (01:00–02:00 happens twice) the
/// earlier, BST reading is taken. Deadlines fall on working days, so they never
/// meet either case.
pub fn instant(local: PrimitiveDateTime) -> OffsetDateTime {
    checked_instant(local).expect("instants of the MASH's own clock are far from the end of time")
}

/// [`instant`], or `None` for a wall-clock time at the very edge of the
/// calendar (whose UTC instant cannot be represented): for a caller's dates.
pub fn checked_instant(local: PrimitiveDateTime) -> Option<OffsetDateTime> {
    let as_bst = local.assume_offset(BST);
    let chosen = if as_bst.checked_to_offset(GMT).is_some_and(|utc| offset_at(utc) == BST) {
        as_bst
    } else {
        local.assume_offset(GMT)
    };
    chosen.checked_to_offset(GMT)
}

/// Whether `date` is a Saturday or a Sunday.
pub fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn changes_at_one_in_the_morning_utc_on_the_last_sundays() {
        assert_eq!(last_sunday(2025, Month::March), date!(2025 - 03 - 30));
        assert_eq!(last_sunday(2025, Month::October), date!(2025 - 10 - 26));
        assert_eq!(last_sunday(2026, Month::March), date!(2026 - 03 - 29));
        assert_eq!(last_sunday(2027, Month::October), date!(2027 - 10 - 31));
        assert_eq!(offset_at(datetime!(2025-03-30 00:59:59 UTC)), GMT);
        assert_eq!(offset_at(datetime!(2025-03-30 01:00:00 UTC)), BST);
        assert_eq!(offset_at(datetime!(2025-10-26 00:59:59 UTC)), BST);
        assert_eq!(offset_at(datetime!(2025-10-26 01:00:00 UTC)), GMT);
    }

    #[test]
    fn local_and_instant_round_trip_outside_the_irregular_hours() {
        for at in [datetime!(2025-01-15 12:00 UTC), datetime!(2025-07-15 23:30 UTC), datetime!(2025-10-26 02:30 UTC)] {
            assert_eq!(instant(local(at)), at);
        }
        assert_eq!(local(datetime!(2025-07-15 23:30 UTC)), datetime!(2025-07-16 00:30));
    }

    #[test]
    fn irregular_hours_resolve_as_documented() {
        assert_eq!(instant(datetime!(2025-03-30 01:30)), datetime!(2025-03-30 01:30 UTC));
        assert_eq!(instant(datetime!(2025-10-26 01:30)), datetime!(2025-10-26 00:30 UTC));
    }
}
