//! The performance report, computed from plain contact records.
//!
//! Definitions (they decide what the numbers mean, so they are stated here):
//! - The report looks at the world **as of** an instant: a decision or closure
//!   after `as_of` has not happened yet, a contact after `as_of` not arrived.
//! - **Contacts in the period**: received from 00:00 UK local time on the
//!   first day to 00:00 after the last day. Every figure but one is about them.
//! - **Contacts per week**: by ISO week (Monday to Sunday) of the UK local
//!   date of arrival; every week the period touches is listed, empty or not.
//!   The first and last weeks are partial if the period starts or ends mid-week.
//! - **Completed within timescale**: a decision was recorded at or before the
//!   deadline. The denominator is the contacts that are **due**: decided, or
//!   undecided with the deadline already passed. An undecided contact whose
//!   deadline is still ahead is neither on time nor late yet, so it is left out.
//! - **Outcome distribution**: over contacts with a decision.
//! - **Re-referral rate**: re-referrals over all contacts in the period (the
//!   flag is set at intake, see [`crate::rereferral`]).
//! - **Open**: contacts in the period not closed as of `as_of`.
//! - **Past deadline**: undecided with the deadline before `as_of`, among
//!   **all** contacts received by then, not only the period's: an overdue
//!   child must not drop out of sight because a manager picked a range.
//! - **Median time to decision**: over decided contacts; with an even count,
//!   the mean of the two middle values (truncated to the nanosecond).
//!
//! Cost: one pass over the records plus a linear-time selection for the
//! median, so O(n).

mod render;

use std::fmt;

use mash_domain::Level;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, Weekday};

use crate::{FrontDoorError, Outcome, level_index, uk_time};

/// The broker's number for a contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContactId(u64);

impl ContactId {
    pub fn new(id: u64) -> Self {
        Self(id)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the report needs to know about one contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: ContactId,
    pub received_at: OffsetDateTime,
    pub level: Level,
    pub deadline: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
    pub outcome: Option<Outcome>,
    pub re_referral: bool,
    pub closed_at: Option<OffsetDateTime>,
}

/// The longest period a report covers: ten years of weeks is already more
/// than anyone reads, and the report's cost grows with its weeks.
pub const MAX_PERIOD_DAYS: i64 = 3653;

/// A range of whole UK local days, first and last included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    first: Date,
    last: Date,
    first_monday: Date,
    start: OffsetDateTime,
    end: OffsetDateTime,
}

impl Period {
    /// The days are a caller's, so every step of arithmetic on them is
    /// checked: a day at the edge of the calendar is refused, not a panic.
    pub fn new(first: Date, last: Date) -> Result<Self, FrontDoorError> {
        if last < first {
            return Err(FrontDoorError::EmptyPeriod { first, last });
        }
        let days = (last - first).whole_days() + 1;
        if days > MAX_PERIOD_DAYS {
            let problem = format!("{days} days from {first} to {last}; a report covers at most {MAX_PERIOD_DAYS}");
            return Err(FrontDoorError::PeriodOutOfBounds { field: "to", problem });
        }
        let edge = |field: &'static str, date: Date| FrontDoorError::PeriodOutOfBounds {
            field,
            problem: format!("{date} is too close to the end of the calendar"),
        };
        let midnight = |date: Date| uk_time::checked_instant(PrimitiveDateTime::new(date, Time::MIDNIGHT));
        let first_monday = checked_monday_of(first).ok_or_else(|| edge("from", first))?;
        let start = midnight(first).ok_or_else(|| edge("from", first))?;
        let end = last.next_day().and_then(midnight).ok_or_else(|| edge("to", last))?;
        Ok(Self { first, last, first_monday, start, end })
    }

    pub fn first(&self) -> Date {
        self.first
    }

    pub fn last(&self) -> Date {
        self.last
    }

    /// The instant the period starts (included).
    pub fn start(&self) -> OffsetDateTime {
        self.start
    }

    /// The instant after the period (excluded).
    pub fn end(&self) -> OffsetDateTime {
        self.end
    }

    pub fn contains(&self, instant: OffsetDateTime) -> bool {
        self.start <= instant && instant < self.end
    }

    /// The Mondays of the ISO weeks the period touches.
    fn week_mondays(&self) -> impl Iterator<Item = Date> + use<> {
        let first_monday = self.first_monday;
        let weeks = (monday_of(self.last) - first_monday).whole_weeks() + 1;
        (0..weeks).map(move |week| first_monday + Duration::weeks(week))
    }
}

fn checked_monday_of(date: Date) -> Option<Date> {
    date.checked_sub(Duration::days(i64::from(date.weekday().number_days_from_monday())))
}

/// The Monday of a day no earlier than a period's first day, whose own
/// Monday was found (checked) when the period was made.
fn monday_of(date: Date) -> Date {
    date - Duration::days(i64::from(date.weekday().number_days_from_monday()))
}

/// An ISO 8601 week, shown as `2025-W07`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    pub year: i32,
    pub week: u8,
}

impl IsoWeek {
    pub fn of(date: Date) -> Self {
        let (year, week, _) = date.to_iso_week_date();
        Self { year, week }
    }

    pub fn monday(self) -> Date {
        Date::from_iso_week_date(self.year, self.week, Weekday::Monday).expect("an IsoWeek is made from a real date")
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeekCount {
    pub week: IsoWeek,
    pub contacts: u64,
}

/// Completion within timescale for one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeliness {
    pub level: Level,
    /// Decided, or undecided with the deadline passed.
    pub due: u64,
    /// Decided at or before the deadline.
    pub in_time: u64,
}

impl Timeliness {
    pub fn percent(&self) -> Option<f64> {
        percent(self.in_time, self.due)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutcomeCount {
    pub outcome: Outcome,
    pub count: u64,
}

/// The performance report; see the module documentation for each definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub period: Period,
    pub as_of: OffsetDateTime,
    pub contacts: u64,
    pub weeks: Vec<WeekCount>,
    /// One per level, Level 1 first.
    pub timeliness: Vec<Timeliness>,
    pub decided: u64,
    /// One per outcome, in `Outcome::ALL` order.
    pub outcomes: Vec<OutcomeCount>,
    pub re_referrals: u64,
    pub open: u64,
    /// Most overdue first.
    pub past_deadline: Vec<ContactId>,
    pub median_to_decision: Option<Duration>,
}

impl Report {
    pub fn compute(records: &[ContactRecord], period: &Period, as_of: OffsetDateTime) -> Self {
        let mondays: Vec<Date> = period.week_mondays().collect();
        let mut weekly = vec![0_u64; mondays.len()];
        let mut due = [0_u64; 3];
        let mut in_time = [0_u64; 3];
        let mut outcomes = [0_u64; 6];
        let (mut contacts, mut re_referrals, mut open) = (0, 0, 0);
        let mut to_decision = Vec::new();
        let mut past_deadline = Vec::new();

        for record in records.iter().filter(|record| record.received_at <= as_of) {
            let decided_at = record.decided_at.filter(|&at| at <= as_of);
            if decided_at.is_none() && record.deadline < as_of {
                past_deadline.push((record.deadline, record.id));
            }
            if !period.contains(record.received_at) {
                continue;
            }
            contacts += 1;
            let week = (monday_of(uk_time::local(record.received_at).date()) - mondays[0]).whole_weeks();
            weekly[usize::try_from(week).expect("a contact in the period is in one of its weeks")] += 1;
            re_referrals += u64::from(record.re_referral);
            open += u64::from(record.closed_at.is_none_or(|at| at > as_of));
            let level = level_index(record.level);
            match decided_at {
                Some(at) => {
                    due[level] += 1;
                    in_time[level] += u64::from(at <= record.deadline);
                    to_decision.push(at - record.received_at);
                    if let Some(outcome) = record.outcome {
                        outcomes[outcome_index(outcome)] += 1;
                    }
                }
                None => due[level] += u64::from(record.deadline < as_of),
            }
        }
        past_deadline.sort_unstable();

        Self {
            period: *period,
            as_of,
            contacts,
            weeks: mondays
                .iter()
                .zip(weekly)
                .map(|(&monday, contacts)| WeekCount { week: IsoWeek::of(monday), contacts })
                .collect(),
            timeliness: Level::ALL
                .iter()
                .map(|&level| Timeliness { level, due: due[level_index(level)], in_time: in_time[level_index(level)] })
                .collect(),
            decided: to_decision.len() as u64,
            outcomes: Outcome::ALL
                .iter()
                .map(|&outcome| OutcomeCount { outcome, count: outcomes[outcome_index(outcome)] })
                .collect(),
            re_referrals,
            open,
            past_deadline: past_deadline.into_iter().map(|(_, id)| id).collect(),
            median_to_decision: median(&mut to_decision),
        }
    }

    pub fn re_referral_rate(&self) -> Option<f64> {
        percent(self.re_referrals, self.contacts)
    }

    pub fn outcome_percent(&self, count: &OutcomeCount) -> Option<f64> {
        percent(count.count, self.decided)
    }
}

/// The median in linear time; with an even count, the mean of the two middles.
fn median(durations: &mut [Duration]) -> Option<Duration> {
    let (count, middle) = (durations.len(), durations.len() / 2);
    if count == 0 {
        return None;
    }
    let (below, &mut upper, _) = durations.select_nth_unstable(middle);
    if count % 2 == 1 {
        return Some(upper);
    }
    // Selection leaves nothing larger before the middle: the lower middle is the largest of them.
    let lower = below.iter().max().copied()?;
    Some((lower + upper) / 2_i32)
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

fn outcome_index(outcome: Outcome) -> usize {
    outcome as usize
}

#[cfg(test)]
mod tests;
