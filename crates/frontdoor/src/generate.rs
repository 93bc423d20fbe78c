//! A seeded dataset of contacts whose true figures are known, for the report's
//! tests and benchmark.
//!
//! The generator decides each contact's fate first (on time, late, overdue,
//! not yet due; outcome; re-referral; closed) and then makes timestamps that
//! agree with it, tallying the true figures from those decisions. The report
//! must arrive at the same figures from the timestamps alone.
//!
//! The default [`Mix`] is calibrated to the councils' reports: Wirral's
//! volume (about 450 contacts a week; 380–484 in 2018) and re-referral rate
//! (24%), Devon's outcomes, and Wirral's 85% of Green contacts on time.

use mash_domain::Level;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

use crate::report::{IsoWeek, Period};
use crate::{Calendar, ContactId, ContactRecord, FrontDoorError, Outcome, level_index, uk_time};

/// What the generated contacts look like. Rates are per mille, weights relative.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    /// The mean; each week's count is drawn uniformly within ±15% of it.
    pub weekly_contacts: u32,
    pub re_referral_per_mille: u32,
    pub levels: [LevelMix; 3],
    pub outcomes: [(Outcome, u32); 6],
}

/// How often one level arrives and how its contacts end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelMix {
    pub level: Level,
    pub weight: u32,
    /// Decided at or before the deadline.
    pub in_time_per_mille: u32,
    /// Decided after the deadline.
    pub late_per_mille: u32,
    /// Not decided at all (overdue once the deadline passes). The three sum to 1000.
    pub undecided_per_mille: u32,
}

impl Default for Mix {
    /// Devon's "none / rejected" (16%) were contacts not accepted, answered with
    /// advice and signposting; its "other CSW" (1%) is the s47 share here.
    /// The level split (50/38/12) is an assumption: no report gives one.
    fn default() -> Self {
        let level = |level, weight, in_time_per_mille, late_per_mille| LevelMix {
            level,
            weight,
            in_time_per_mille,
            late_per_mille,
            undecided_per_mille: 1000 - in_time_per_mille - late_per_mille,
        };
        Self {
            weekly_contacts: 450,
            re_referral_per_mille: 240,
            levels: [
                level(Level::EarlyHelp, 50, 850, 140),
                level(Level::ChildInNeed, 38, 930, 65),
                level(Level::ChildProtection, 12, 970, 28),
            ],
            outcomes: [
                (Outcome::Section17, 20),
                (Outcome::ReferralOther, 16),
                (Outcome::EarlyHelp, 25),
                (Outcome::NoFurtherAction, 22),
                (Outcome::AdviceAndSignposting, 16),
                (Outcome::Section47, 1),
            ],
        }
    }
}

/// The figures a correct report must give for the generated contacts, over
/// `period` as of `as_of` (the end of the period). Per-level arrays are Level 1 first;
/// `outcomes` is in `Outcome::ALL` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrueFigures {
    pub period: Period,
    pub as_of: OffsetDateTime,
    pub contacts: u64,
    pub weekly: Vec<(IsoWeek, u64)>,
    pub due: [u64; 3],
    pub in_time: [u64; 3],
    pub decided: u64,
    pub outcomes: [u64; 6],
    pub re_referrals: u64,
    pub open: u64,
    /// Sorted by id.
    pub past_deadline: Vec<ContactId>,
    pub median_to_decision: Option<Duration>,
}

/// How a contact ends, as of the end of the generated period.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    InTime,
    Late,
    Overdue,
    NotYetDue,
}

/// `weeks` weeks of contacts from the Monday of `start`'s ISO week, with
/// deadlines from the England and Wales calendar. Ids follow arrival order.
pub fn generate(
    seed: u64,
    start: Date,
    weeks: u16,
    mix: &Mix,
) -> Result<(Vec<ContactRecord>, TrueFigures), FrontDoorError> {
    validate(mix)?;
    let calendar = Calendar::england_and_wales();
    let monday = start - Duration::days(i64::from(start.weekday().number_days_from_monday()));
    let period = Period::new(monday, monday + Duration::days(7 * i64::from(weeks) - 1))?;
    let as_of = period.end();
    let mut random = SplitMix64(seed);
    let mut truth = TrueFigures {
        period,
        as_of,
        contacts: 0,
        weekly: Vec::new(),
        due: [0; 3],
        in_time: [0; 3],
        decided: 0,
        outcomes: [0; 6],
        re_referrals: 0,
        open: 0,
        past_deadline: Vec::new(),
        median_to_decision: None,
    };

    let mut contacts: Vec<(ContactRecord, Fate)> = Vec::new();
    for week in 0..weeks {
        let week_monday = monday + Duration::weeks(i64::from(week));
        let spread = mix.weekly_contacts * 15 / 100;
        let count = mix.weekly_contacts - spread + random.below(2 * spread + 1);
        truth.weekly.push((IsoWeek::of(week_monday), u64::from(count)));
        for _ in 0..count {
            contacts.push(contact(&mut random, &calendar, mix, week_monday, as_of));
        }
    }
    contacts.sort_by_key(|(record, _)| record.received_at);

    let mut to_decision = Vec::new();
    let mut records = Vec::with_capacity(contacts.len());
    for (number, (mut record, fate)) in contacts.into_iter().enumerate() {
        record.id = ContactId::new(number as u64 + 1);
        let level = level_index(record.level);
        truth.contacts += 1;
        truth.re_referrals += u64::from(record.re_referral);
        truth.open += u64::from(record.closed_at.is_none());
        truth.due[level] += u64::from(fate != Fate::NotYetDue);
        truth.in_time[level] += u64::from(fate == Fate::InTime);
        if fate == Fate::Overdue {
            truth.past_deadline.push(record.id);
        }
        if let (Some(decided_at), Some(outcome)) = (record.decided_at, record.outcome) {
            truth.decided += 1;
            truth.outcomes[outcome as usize] += 1;
            to_decision.push(decided_at - record.received_at);
        }
        records.push(record);
    }
    to_decision.sort_unstable();
    let middle = to_decision.len() / 2;
    truth.median_to_decision = match to_decision.len() {
        0 => None,
        odd if odd % 2 == 1 => Some(to_decision[middle]),
        _ => Some((to_decision[middle - 1] + to_decision[middle]) / 2_i32),
    };
    Ok((records, truth))
}

/// One contact in the week from `monday`, its fate and timestamps; id assigned later.
fn contact(
    random: &mut SplitMix64,
    calendar: &Calendar,
    mix: &Mix,
    monday: Date,
    as_of: OffsetDateTime,
) -> (ContactRecord, Fate) {
    // Monday first: contacts come mostly on weekdays, mostly in office hours.
    let day = weighted(random, &[180, 180, 180, 180, 180, 50, 50]);
    let second = if random.below(10) < 8 { 8 * 3600 + random.below(10 * 3600) } else { random.below(24 * 3600) };
    let date = monday + Duration::days(day as i64);
    let local = PrimitiveDateTime::new(date, Time::MIDNIGHT) + Duration::seconds(i64::from(second));
    let received_at = uk_time::instant(local);

    let weights: Vec<u32> = mix.levels.iter().map(|level| level.weight).collect();
    let level = mix.levels[weighted(random, &weights)];
    let deadline = calendar.deadline(level.level, received_at);
    let draw = random.below(1000);
    let fate = if deadline >= as_of {
        // Lateness and overdue need the deadline to have passed: a contact
        // that would go either way is simply still waiting.
        if draw < level.in_time_per_mille { Fate::InTime } else { Fate::NotYetDue }
    } else if draw < level.in_time_per_mille {
        Fate::InTime
    } else if draw < level.in_time_per_mille + level.late_per_mille {
        Fate::Late
    } else {
        Fate::Overdue
    };
    // One decision in 50 lands on the boundary (the deadline, or a second
    // after it), so that an off-by-one in the report shows.
    let on_the_boundary = random.below(50) == 0;
    let decided_at = match fate {
        Fate::InTime if on_the_boundary && deadline <= as_of => Some(deadline),
        Fate::InTime => Some(received_at + seconds_up_to(random, deadline.min(as_of) - received_at)),
        Fate::Late if on_the_boundary => Some(deadline + Duration::SECOND),
        Fate::Late => {
            let latest = (deadline + Duration::days(3)).min(as_of);
            Some(deadline + Duration::SECOND + seconds_up_to(random, latest - deadline - Duration::SECOND))
        }
        Fate::Overdue | Fate::NotYetDue => None,
    };
    let outcome = decided_at.map(|_| {
        let weights: Vec<u32> = mix.outcomes.iter().map(|&(_, weight)| weight).collect();
        mix.outcomes[weighted(random, &weights)].0
    });
    let closed_at = decided_at
        .map(|decided_at| decided_at + seconds_up_to(random, Duration::days(2)))
        .filter(|&closed_at| closed_at <= as_of);
    let re_referral = random.below(1000) < mix.re_referral_per_mille;
    let record = ContactRecord {
        id: ContactId::new(0),
        received_at,
        level: level.level,
        deadline,
        decided_at,
        outcome,
        re_referral,
        closed_at,
    };
    (record, fate)
}

fn validate(mix: &Mix) -> Result<(), FrontDoorError> {
    if mix.re_referral_per_mille > 1000 {
        return Err(FrontDoorError::Mix("the re-referral rate is over 1000 per mille"));
    }
    if mix.levels.iter().any(|level| level.in_time_per_mille + level.late_per_mille + level.undecided_per_mille != 1000)
    {
        return Err(FrontDoorError::Mix("a level's on-time, late and undecided rates do not sum to 1000"));
    }
    if mix.levels.iter().map(|level| level.weight).sum::<u32>() == 0
        || mix.outcomes.iter().map(|(_, weight)| weight).sum::<u32>() == 0
    {
        return Err(FrontDoorError::Mix("level and outcome weights must not all be zero"));
    }
    Ok(())
}

/// Whole seconds from 0 to `limit` inclusive (0 when `limit` is negative).
fn seconds_up_to(random: &mut SplitMix64, limit: Duration) -> Duration {
    let limit = u32::try_from(limit.whole_seconds().max(0)).unwrap_or(u32::MAX);
    Duration::seconds(i64::from(random.below(limit.saturating_add(1))))
}

/// An index drawn in proportion to `weights` (not all zero: validated).
fn weighted(random: &mut SplitMix64, weights: &[u32]) -> usize {
    let mut draw = random.below(weights.iter().sum());
    weights
        .iter()
        .position(|&weight| {
            let hit = draw < weight;
            draw = draw.saturating_sub(weight);
            hit
        })
        .expect("the draw is below the sum of the weights")
}

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, seedable, and good enough
/// for test data; no dependency needed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform below `bound` (> 0), by Lemire's multiply-shift; the bias is
    /// below 2^-32 for the bounds used here.
    fn below(&mut self, bound: u32) -> u32 {
        ((u128::from(self.next()) * u128::from(bound)) >> 64) as u32
    }
}
