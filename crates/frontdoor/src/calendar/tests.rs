use mash_domain::Level::{self, ChildInNeed, ChildProtection, EarlyHelp};
use time::macros::{date, datetime};
use time::{Date, Duration, Month, OffsetDateTime, Weekday};

use super::*;

/// One deadline case: the level, when the contact arrived, and the expected
/// deadline, both as UTC instants; `why` names the rule being exercised.
fn check(cases: &[(&str, Level, OffsetDateTime, OffsetDateTime)]) {
    let calendar = Calendar::england_and_wales();
    for &(why, level, received, expected) in cases {
        let deadline = calendar.deadline(level, received);
        assert_eq!(deadline, expected, "{why}");
        assert_eq!(deadline.offset(), time::UtcOffset::UTC, "{why}: deadlines are UTC");
    }
}

#[test]
fn working_days_skip_weekends() {
    check(&[
        ("Monday morning", EarlyHelp, datetime!(2025-01-13 10:00 UTC), datetime!(2025-01-16 10:00 UTC)),
        ("Friday 16:00 → Wednesday 16:00", EarlyHelp, datetime!(2025-01-17 16:00 UTC), datetime!(2025-01-22 16:00 UTC)),
        (
            "Saturday counts from Monday 00:00",
            EarlyHelp,
            datetime!(2025-01-18 10:00 UTC),
            datetime!(2025-01-23 00:00 UTC),
        ),
        ("late Sunday likewise", EarlyHelp, datetime!(2025-01-19 23:30 UTC), datetime!(2025-01-23 00:00 UTC)),
        (
            "a Saturday in summer starts at Monday 00:00 BST",
            EarlyHelp,
            datetime!(2025-06-14 10:00 UTC),
            datetime!(2025-06-18 23:00 UTC),
        ),
        (
            "Sunday 23:30 BST is already Monday local",
            EarlyHelp,
            datetime!(2025-06-15 23:30 UTC),
            datetime!(2025-06-18 23:30 UTC),
        ),
    ]);
}

#[test]
fn working_days_skip_bank_holidays() {
    check(&[
        ("Christmas Eve 2025", EarlyHelp, datetime!(2025-12-24 15:00 UTC), datetime!(2025-12-31 15:00 UTC)),
        ("two days before Christmas", EarlyHelp, datetime!(2025-12-23 09:00 UTC), datetime!(2025-12-30 09:00 UTC)),
        (
            "Christmas Day counts from the next working day and skips New Year",
            EarlyHelp,
            datetime!(2025-12-25 12:00 UTC),
            datetime!(2026-01-02 00:00 UTC),
        ),
        (
            "New Year's Eve skips New Year's Day",
            EarlyHelp,
            datetime!(2025-12-31 10:00 UTC),
            datetime!(2026-01-06 10:00 UTC),
        ),
        (
            "2027: Christmas and Boxing Day substitutes on Monday and Tuesday",
            EarlyHelp,
            datetime!(2027-12-24 12:00 UTC),
            datetime!(2027-12-31 12:00 UTC),
        ),
        (
            "2028: New Year substitute on Monday",
            EarlyHelp,
            datetime!(2027-12-31 12:00 UTC),
            datetime!(2028-01-06 12:00 UTC),
        ),
        (
            "Easter 2025, Thursday 14:00 BST",
            EarlyHelp,
            datetime!(2025-04-17 13:00 UTC),
            datetime!(2025-04-24 13:00 UTC),
        ),
        ("Good Friday 2026", EarlyHelp, datetime!(2026-04-03 09:00 UTC), datetime!(2026-04-09 23:00 UTC)),
    ]);
}

#[test]
fn working_days_keep_the_wall_clock_across_clock_changes() {
    check(&[
        (
            "spring: Friday 16:00 GMT → Wednesday 16:00 BST",
            EarlyHelp,
            datetime!(2025-03-28 16:00 UTC),
            datetime!(2025-04-02 15:00 UTC),
        ),
        (
            "autumn: Friday 16:00 BST → Wednesday 16:00 GMT",
            EarlyHelp,
            datetime!(2025-10-24 15:00 UTC),
            datetime!(2025-10-29 16:00 UTC),
        ),
    ]);
}

#[test]
fn hours_are_elapsed_time_across_clock_changes() {
    check(&[
        (
            "4 hours over spring-forward",
            ChildProtection,
            datetime!(2025-03-30 00:00 UTC),
            datetime!(2025-03-30 04:00 UTC),
        ),
        ("4 hours over fall-back", ChildProtection, datetime!(2025-10-26 00:30 UTC), datetime!(2025-10-26 04:30 UTC)),
        ("24 hours over spring-forward", ChildInNeed, datetime!(2025-03-29 12:00 UTC), datetime!(2025-03-30 12:00 UTC)),
        (
            "weekends do not stop the hours",
            ChildInNeed,
            datetime!(2025-12-24 18:00 UTC),
            datetime!(2025-12-25 18:00 UTC),
        ),
        ("any input offset", ChildProtection, datetime!(2025-07-01 09:00 +01:00), datetime!(2025-07-01 12:00 UTC)),
    ]);
    // On the wall the 4 hours read as 5 in spring and 3 in autumn.
    let calendar = Calendar::england_and_wales();
    let spring = uk_time::local(calendar.deadline(ChildProtection, datetime!(2025-03-30 00:00 UTC)));
    assert_eq!(spring, datetime!(2025-03-30 05:00));
    let autumn = uk_time::local(calendar.deadline(ChildProtection, datetime!(2025-10-26 00:30 UTC)));
    assert_eq!(autumn, datetime!(2025-10-26 04:30));
}

#[test]
fn timescales_are_configurable() {
    let wirral = Calendar::england_and_wales().with_timescale(EarlyHelp, Timescale::Elapsed(Duration::hours(24)));
    assert_eq!(wirral.deadline(EarlyHelp, datetime!(2025-01-17 16:00 UTC)), datetime!(2025-01-18 16:00 UTC));
    assert_eq!(wirral.timescale(ChildProtection), Timescale::Elapsed(Duration::hours(4)));

    let no_holidays = Calendar::parse("# none configured\n").expect("an empty list is valid");
    assert_eq!(no_holidays.deadline(EarlyHelp, datetime!(2025-12-24 15:00 UTC)), datetime!(2025-12-29 15:00 UTC));
}

#[test]
fn bad_lists_name_the_line() {
    let error = Calendar::parse("# header\n2025-12-25 Christmas Day\n25/12/2025 Boxing Day\n").expect_err("refused");
    assert!(matches!(error, FrontDoorError::Calendar { line: 3, .. }), "{error}");
}

/// The shipped list: every date a weekday, eight a year, Easter where the
/// Gregorian computus puts it, and no year outside 2025–2028.
#[test]
fn shipped_list_is_plausible() {
    let calendar = Calendar::england_and_wales();
    assert!((2025..=2028).all(|year| calendar.covers(year)));
    assert!(!calendar.covers(2024) && !calendar.covers(2029));
    for &date in &calendar.bank_holidays {
        assert!(!uk_time::is_weekend(date), "{date} is a weekend");
    }
    for year in 2025..=2028 {
        let in_year = calendar.bank_holidays.iter().filter(|date| date.year() == year).count();
        assert_eq!(in_year, 8, "{year}");
        let easter = easter_sunday(year);
        assert!(calendar.bank_holidays.contains(&(easter - Duration::days(2))), "Good Friday {year}");
        assert!(calendar.bank_holidays.contains(&(easter + Duration::days(1))), "Easter Monday {year}");
        assert_eq!(easter.weekday(), Weekday::Sunday);
    }
    assert!(calendar.bank_holidays.contains(&date!(2026 - 12 - 28)));
}

/// The anonymous Gregorian algorithm (Meeus/Jones/Butcher).
fn easter_sunday(year: i32) -> Date {
    let (a, b, c) = (year % 19, year / 100, year % 100);
    let (d, e) = (b / 4, b % 4);
    let g = (b - (b + 8) / 25 + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let l = (32 + 2 * e + 2 * (c / 4) - h - c % 4) % 7;
    let f = h + l - 7 * ((a + 11 * h + 22 * l) / 451) + 114;
    let month = Month::try_from(u8::try_from(f / 31).expect("3 or 4")).expect("March or April");
    Date::from_calendar_date(year, month, u8::try_from(f % 31 + 1).expect("a day")).expect("a date")
}

#[test]
fn operation_encompass_reaches_school_at_the_start_of_the_next_school_day() {
    let calendar = Calendar::england_and_wales();
    for (shared, expected, why) in [
        (datetime!(2026-11-23 21:30 UTC), datetime!(2026-11-24 08:00 UTC), "Monday evening: Tuesday morning"),
        (datetime!(2026-11-24 06:15 UTC), datetime!(2026-11-24 08:00 UTC), "before school starts: the same day"),
        (datetime!(2026-11-24 08:00 UTC), datetime!(2026-11-25 08:00 UTC), "school has started: the next day"),
        (datetime!(2026-11-27 23:00 UTC), datetime!(2026-11-30 08:00 UTC), "Friday night: Monday"),
        (datetime!(2026-12-24 12:00 UTC), datetime!(2026-12-29 08:00 UTC), "Christmas Eve: past both bank holidays"),
        // In summer time 08:00 in the UK is 07:00 UTC.
        (datetime!(2026-06-30 20:00 UTC), datetime!(2026-07-01 07:00 UTC), "summer: 08:00 BST"),
        (datetime!(2026-03-27 22:00 UTC), datetime!(2026-03-30 07:00 UTC), "across the clocks going forward"),
    ] {
        assert_eq!(calendar.start_of_next_school_day(shared), expected, "{why}");
    }
}
