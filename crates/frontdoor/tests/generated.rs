//! The report against datasets whose true figures the generator knows.

use mash_domain::Level;
use mash_frontdoor::report::IsoWeek;
use mash_frontdoor::{ContactId, Mix, Outcome, Period, Report, TrueFigures, generate};
use time::macros::date;
use time::{Duration, Weekday};

/// The report over the generated period must give exactly the true figures.
fn check(report: &Report, truth: &TrueFigures) {
    assert_eq!(report.contacts, truth.contacts);
    let weeks: Vec<(IsoWeek, u64)> = report.weeks.iter().map(|week| (week.week, week.contacts)).collect();
    assert_eq!(weeks, truth.weekly);
    for (index, level) in report.timeliness.iter().enumerate() {
        assert_eq!(
            (level.level, level.due, level.in_time),
            (Level::ALL[index], truth.due[index], truth.in_time[index])
        );
    }
    assert_eq!(report.decided, truth.decided);
    let outcomes: Vec<u64> = report.outcomes.iter().map(|count| count.count).collect();
    assert_eq!(outcomes, truth.outcomes);
    assert_eq!(report.re_referrals, truth.re_referrals);
    assert_eq!(report.open, truth.open);
    let mut past_deadline = report.past_deadline.clone();
    past_deadline.sort_unstable();
    assert_eq!(past_deadline, truth.past_deadline);
    assert_eq!(report.median_to_decision, truth.median_to_decision);
}

#[test]
fn report_equals_the_true_figures() {
    // 2025 and 2026 include both clock changes, Easter and Christmas in every run.
    for (seed, start, weeks) in
        [(1, date!(2025 - 01 - 06), 104), (2, date!(2025 - 03 - 26), 6), (3, date!(2026 - 12 - 20), 3)]
    {
        let (records, truth) = generate(seed, start, weeks, &Mix::default()).expect("the default mix is valid");
        assert!(!truth.past_deadline.is_empty(), "some contacts are overdue");
        assert!(truth.due.iter().sum::<u64>() < truth.contacts, "some contacts are not due yet");
        assert!(truth.open > 0 && truth.decided > truth.open);
        check(&Report::compute(&records, &truth.period, truth.as_of), &truth);
    }
}

#[test]
fn the_same_seed_gives_the_same_data() {
    let first = generate(7, date!(2025 - 01 - 06), 2, &Mix::default()).expect("valid");
    let again = generate(7, date!(2025 - 01 - 06), 2, &Mix::default()).expect("valid");
    assert_eq!(first, again);
    assert_ne!(first.0, generate(8, date!(2025 - 01 - 06), 2, &Mix::default()).expect("valid").0);
}

#[test]
fn a_sub_period_counts_its_own_weeks_but_every_overdue_contact() {
    let (records, truth) = generate(4, date!(2025 - 01 - 06), 10, &Mix::default()).expect("valid");
    let period = Period::new(date!(2025 - 01 - 20), date!(2025 - 02 - 09)).expect("valid");
    let report = Report::compute(&records, &period, truth.as_of);
    let weeks: Vec<(IsoWeek, u64)> = report.weeks.iter().map(|week| (week.week, week.contacts)).collect();
    assert_eq!(weeks, truth.weekly[2..5]);
    assert_eq!(report.contacts, truth.weekly[2..5].iter().map(|(_, count)| count).sum::<u64>());
    let mut past_deadline: Vec<ContactId> = report.past_deadline.clone();
    past_deadline.sort_unstable();
    assert_eq!(past_deadline, truth.past_deadline);
    assert!(period.first().weekday() == Weekday::Monday && truth.period.first() == date!(2025 - 01 - 06));
}

/// Two years at the default mix land near the reports' figures.
#[test]
fn the_default_mix_matches_the_reports() {
    let (records, truth) = generate(11, date!(2025 - 01 - 06), 104, &Mix::default()).expect("valid");
    let report = Report::compute(&records, &truth.period, truth.as_of);
    let per_week = report.contacts as f64 / report.weeks.len() as f64;
    assert!((440.0..460.0).contains(&per_week), "Wirral: about 450 a week, got {per_week}");
    let re_referrals = report.re_referral_rate().expect("contacts");
    assert!((23.0..25.0).contains(&re_referrals), "Wirral: 24% re-referrals, got {re_referrals}");
    for (outcome, devon) in [
        (Outcome::Section17, 20.0),
        (Outcome::ReferralOther, 16.0),
        (Outcome::EarlyHelp, 25.0),
        (Outcome::NoFurtherAction, 22.0),
        (Outcome::AdviceAndSignposting, 16.0),
    ] {
        let count = report.outcomes.iter().find(|count| count.outcome == outcome).expect("every outcome is listed");
        let share = report.outcome_percent(count).expect("decisions");
        assert!((share - devon).abs() < 1.0, "Devon: {devon}% {outcome}, got {share}");
    }
    let green = report.timeliness[0].percent().expect("due");
    assert!((84.0..86.0).contains(&green), "Wirral: 85% of Green on time, got {green}");
    assert!(report.median_to_decision.is_some_and(|median| median > Duration::ZERO));
}

#[test]
fn an_impossible_mix_is_refused() {
    let mut mix = Mix::default();
    mix.levels[0].late_per_mille += 1;
    assert!(generate(1, date!(2025 - 01 - 06), 1, &mix).is_err());
}
