//! Deadlines: the clock that triage starts.
//!
//! Two kinds of timescale, with different rules on purpose:
//!
//! - **Elapsed** (Level 3: 4 hours, Level 2: 24 hours) is real elapsed time.
//!   A child at immediate risk is not safer because the clocks went back, so a
//!   4-hour deadline is 4 hours later on the UTC clock, even across a clock
//!   change (it reads 5 or 3 hours later on the wall).
//! - **Working days** (Level 1: 3 working days) counts days on which the
//!   front door is staffed as normal: not Saturday, Sunday or a configured
//!   bank holiday, judged on the UK local date. The deadline is the same local
//!   wall-clock time on the Nth following working day (Friday 16:00 → Wednesday
//!   16:00; clock changes keep 16:00 on the wall). A contact that arrives on a
//!   non-working day is counted from 00:00 at the start of the next working day
//!   (Saturday 10:00 → Thursday 00:00, that is, the end of Wednesday).
//!
//! The bank holidays are configuration: a list of dates. The default is the
//! England and Wales list for 2025–2028 shipped in `data/`. Outside the years
//! a list covers only weekends are skipped; the broker should check
//! [`Calendar::covers`] at start-up for the current and next year.

use std::collections::BTreeSet;

use mash_domain::Level;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

use crate::{FrontDoorError, level_index, uk_time};

const ENGLAND_AND_WALES: &str = include_str!("../data/bank-holidays-england-wales.txt");

/// How long a level allows for the front door to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timescale {
    Elapsed(Duration),
    WorkingDays(u8),
}

/// The working-day calendar and the timescale of each level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    bank_holidays: BTreeSet<Date>,
    /// Indexed by level 1, 2, 3. Configurable because councils change them
    /// (Wirral moved every level to 24 hours in January 2018).
    timescales: [Timescale; 3],
}

impl Default for Calendar {
    fn default() -> Self {
        Self::england_and_wales()
    }
}

impl Calendar {
    /// Thurrock's timescales: Level 3 in 4 hours, Level 2 in 24, Level 1 in 3 working days.
    const THURROCK: [Timescale; 3] =
        [Timescale::WorkingDays(3), Timescale::Elapsed(Duration::hours(24)), Timescale::Elapsed(Duration::hours(4))];

    /// Thurrock's timescales with the England and Wales bank holidays 2025–2028.
    pub fn england_and_wales() -> Self {
        Self::parse(ENGLAND_AND_WALES).expect("the shipped bank holiday list parses (tested)")
    }

    /// Thurrock's timescales with the bank holidays in `list`: one ISO date
    /// (`2025-12-25`) at the start of each line, optionally followed by a
    /// name; blank lines and `#` comments are ignored.
    pub fn parse(list: &str) -> Result<Self, FrontDoorError> {
        let format = format_description!("[year]-[month]-[day]");
        let mut bank_holidays = BTreeSet::new();
        for (index, line) in list.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let first = line.split_whitespace().next().unwrap_or_default();
            let date = Date::parse(first, format).map_err(|_| FrontDoorError::Calendar {
                line: index + 1,
                problem: format!("{first:?} is not a date like 2025-12-25"),
            })?;
            bank_holidays.insert(date);
        }
        Ok(Self { bank_holidays, timescales: Self::THURROCK })
    }

    /// The same calendar with `level`'s timescale replaced.
    pub fn with_timescale(mut self, level: Level, timescale: Timescale) -> Self {
        self.timescales[level_index(level)] = timescale;
        self
    }

    pub fn timescale(&self, level: Level) -> Timescale {
        self.timescales[level_index(level)]
    }

    /// Whether the list names any bank holiday in `year`: without one, Level 1
    /// deadlines in that year silently count holidays as working days.
    pub fn covers(&self, year: i32) -> bool {
        self.bank_holidays.iter().any(|date| date.year() == year)
    }

    pub fn is_working_day(&self, date: Date) -> bool {
        !uk_time::is_weekend(date) && !self.bank_holidays.contains(&date)
    }

    /// The deadline, in UTC, for a contact received at `received_at` and triaged at `level`.
    pub fn deadline(&self, level: Level, received_at: OffsetDateTime) -> OffsetDateTime {
        let received_at = received_at.to_offset(time::UtcOffset::UTC);
        match self.timescale(level) {
            Timescale::Elapsed(duration) => received_at + duration,
            Timescale::WorkingDays(days) => {
                let arrived = uk_time::local(received_at);
                let start = if self.is_working_day(arrived.date()) {
                    arrived
                } else {
                    PrimitiveDateTime::new(self.next_working_day(arrived.date()), Time::MIDNIGHT)
                };
                let day = (0..days).fold(start.date(), |day, _| self.next_working_day(day));
                uk_time::instant(PrimitiveDateTime::new(day, start.time()))
            }
        }
    }

    /// When an Operation Encompass notification shared at `at` reaches the
    /// school: the start (08:00 UK time) of the next school day, which is
    /// today if the day has not started yet. Term dates are not in the
    /// calendar, so a holiday counts as a school day: the school gets the
    /// notification early, never late.
    pub fn start_of_next_school_day(&self, at: OffsetDateTime) -> OffsetDateTime {
        const SCHOOL_STARTS: Time = time::macros::time!(08:00);
        let local = uk_time::local(at);
        let day = if self.is_working_day(local.date()) && local.time() < SCHOOL_STARTS {
            local.date()
        } else {
            self.next_working_day(local.date())
        };
        uk_time::instant(PrimitiveDateTime::new(day, SCHOOL_STARTS))
    }

    /// The first working day after `date`. Terminates: any week has a weekday
    /// that is not a bank holiday unless the list is absurd, and a list has
    /// finitely many dates.
    fn next_working_day(&self, date: Date) -> Date {
        let mut day = date.next_day().expect("dates stay far from the end of time");
        while !self.is_working_day(day) {
            day = day.next_day().expect("dates stay far from the end of time");
        }
        day
    }
}

#[cfg(test)]
mod tests;
