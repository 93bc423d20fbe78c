use mash_domain::Level;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use super::*;

fn record(id: u64, received_at: OffsetDateTime, deadline: OffsetDateTime) -> ContactRecord {
    ContactRecord {
        id: ContactId::new(id),
        received_at,
        level: Level::ChildInNeed,
        deadline,
        decided_at: None,
        outcome: None,
        re_referral: false,
        closed_at: None,
    }
}

fn decided(mut record: ContactRecord, at: OffsetDateTime, outcome: Outcome) -> ContactRecord {
    record.decided_at = Some(at);
    record.outcome = Some(outcome);
    record
}

fn june() -> Period {
    Period::new(date!(2025 - 06 - 02), date!(2025 - 06 - 15)).expect("a valid period")
}

#[test]
fn weeks_follow_the_uk_local_date() {
    let records = [
        record(1, datetime!(2025-06-08 22:59 UTC), datetime!(2025-06-09 22:59 UTC)),
        // 00:30 BST on Monday 9 June: the second week.
        record(2, datetime!(2025-06-08 23:30 UTC), datetime!(2025-06-09 23:30 UTC)),
        // Before the period: 00:30 BST on 2 June is in, 23:30 BST on 1 June is not.
        record(3, datetime!(2025-06-01 23:30 UTC), datetime!(2025-06-02 23:30 UTC)),
        record(4, datetime!(2025-06-01 22:30 UTC), datetime!(2025-06-02 22:30 UTC)),
    ];
    let report = Report::compute(&records, &june(), datetime!(2025-06-01 22:00 UTC) + Duration::days(30));
    let weeks: Vec<(String, u64)> = report.weeks.iter().map(|week| (week.week.to_string(), week.contacts)).collect();
    assert_eq!(weeks, [("2025-W23".to_owned(), 2), ("2025-W24".to_owned(), 1)]);
    assert_eq!(report.contacts, 3);
}

#[test]
fn timeliness_counts_only_contacts_that_are_due() {
    let as_of = datetime!(2025-06-10 12:00 UTC);
    let received = datetime!(2025-06-09 09:00 UTC);
    let deadline = datetime!(2025-06-10 09:00 UTC);
    let records = [
        decided(record(1, received, deadline), deadline, Outcome::EarlyHelp),
        decided(record(2, received, deadline), deadline + Duration::SECOND, Outcome::Section17),
        record(3, received, deadline),
        record(4, received, as_of + Duration::HOUR),
        // Decided after `as_of`: not decided yet, and overdue.
        decided(record(5, received, deadline), as_of + Duration::SECOND, Outcome::Section47),
    ];
    let report = Report::compute(&records, &june(), as_of);
    let amber = report.timeliness[1];
    assert_eq!((amber.level, amber.due, amber.in_time), (Level::ChildInNeed, 4, 1));
    assert_eq!(amber.percent(), Some(25.0));
    assert_eq!(report.decided, 2);
    assert_eq!(report.past_deadline, [ContactId::new(3), ContactId::new(5)]);
    assert_eq!(report.timeliness[0].percent(), None);
}

#[test]
fn overdue_contacts_show_whatever_the_period() {
    let old = record(7, datetime!(2025-05-01 09:00 UTC), datetime!(2025-05-02 09:00 UTC));
    let older = record(8, datetime!(2025-04-01 09:00 UTC), datetime!(2025-04-02 09:00 UTC));
    let report = Report::compute(&[old, older], &june(), datetime!(2025-06-10 12:00 UTC));
    assert_eq!(report.contacts, 0);
    assert_eq!(report.past_deadline, [ContactId::new(8), ContactId::new(7)], "most overdue first");
}

#[test]
fn median_of_odd_and_even_counts() {
    let received = datetime!(2025-06-03 09:00 UTC);
    let deadline = received + Duration::DAY;
    let after = |id, hours| {
        decided(record(id, received, deadline), received + Duration::hours(hours), Outcome::NoFurtherAction)
    };
    let as_of = datetime!(2025-06-20 00:00 UTC);
    let odd = [after(1, 5), after(2, 1), after(3, 30)];
    assert_eq!(Report::compute(&odd, &june(), as_of).median_to_decision, Some(Duration::hours(5)));
    let even = [after(1, 5), after(2, 1), after(3, 30), after(4, 2)];
    assert_eq!(Report::compute(&even, &june(), as_of).median_to_decision, Some(Duration::minutes(210)));
    assert_eq!(Report::compute(&[], &june(), as_of).median_to_decision, None);
}

#[test]
fn a_period_cannot_end_before_it_starts() {
    let error = Period::new(date!(2025 - 06 - 02), date!(2025 - 06 - 01)).expect_err("refused");
    assert!(matches!(error, FrontDoorError::EmptyPeriod { .. }));
}

#[test]
fn renders_as_table_and_csv() {
    let received = datetime!(2025-06-03 09:00 UTC);
    let mut records = vec![
        decided(record(1, received, received + Duration::DAY), received + Duration::HOUR, Outcome::EarlyHelp),
        record(2, received, received + Duration::DAY),
    ];
    records[0].re_referral = true;
    let report = Report::compute(&records, &june(), datetime!(2025-06-20 00:00 UTC));

    let csv = report.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "metric,group,value");
    for expected in [
        "contacts,,2",
        "contacts_per_week,2025-W23,2",
        "contacts_per_week,2025-W24,0",
        "due,amber,2",
        "completed_in_time_pct,amber,50.0",
        "completed_in_time_pct,green,",
        "outcome,early-help,1",
        "outcome_pct,early-help,100.0",
        "re_referral_pct,,50.0",
        "past_deadline,,1",
        "median_to_decision_seconds,,3600.0",
    ] {
        assert!(lines.contains(&expected), "{expected} missing from\n{csv}");
    }
    assert!(lines.iter().all(|line| line.split(',').count() == 3), "{csv}");

    let table = report.to_table();
    for expected in ["Amber (Level 2)", "Early help", "2025-W23 (from 2025-06-02)", "1 (50.0%)", "1h 00m"] {
        assert!(table.contains(expected), "{expected} missing from\n{table}");
    }
}

#[test]
fn a_period_at_the_edge_of_the_calendar_or_too_long_is_refused_not_a_panic() {
    let refused = |first, last| match Period::new(first, last) {
        Err(FrontDoorError::PeriodOutOfBounds { field, .. }) => field,
        other => panic!("{first}..{last}: {other:?}"),
    };
    assert_eq!(refused(date!(9999 - 12 - 25), date!(9999 - 12 - 31)), "to");
    // The first day of the calendar is a Monday, in winter: a period from it is computable.
    assert!(Period::new(Date::MIN, date!(-9999 - 01 - 07)).is_ok());
    assert_eq!(refused(date!(0001 - 01 - 01), date!(9999 - 12 - 30)), "to");
    assert_eq!(refused(date!(2026 - 01 - 01), date!(2036 - 01 - 02)), "to");
    let longest = Period::new(date!(2026 - 01 - 01), date!(2036 - 01 - 01)).expect("ten years");
    assert_eq!((longest.last() - longest.first()).whole_days() + 1, MAX_PERIOD_DAYS);
}
