//! How long the front door's performance report takes through the real
//! broker (issue 6's target: ≤ 1 s over two years at Wirral's volume, about
//! 50,000 contacts).
//!
//! Starts a whole test system, loads the generated contacts of
//! `mash_frontdoor::generate` (known true figures) straight into the broker's
//! `contacts` table, then times `FrontDoorService/GetReport` over mTLS as information
//! governance: the query, the computation and both renderings. Checks the
//! figures against the truth, and prints the median of several runs.
//!
//! Run: `cargo run --release -p mash-e2e --bin report-bench -- [weeks] [runs] [sqlite|postgres]`

use mash_alloc as _;

use std::time::{Duration, Instant};

use mash_e2e::{Backend, Harness};
use mash_frontdoor::{ContactRecord, Mix, TrueFigures, generate};
use mash_proto::v1 as pb;
use time::{OffsetDateTime, format_description::well_known::Rfc3339, macros::date};

/// Rows per INSERT statement, and statements per transaction.
const ROWS_PER_INSERT: usize = 200;
const INSERTS_PER_COMMIT: usize = 25;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let weeks: u16 = args.next().map_or(Ok(112), |raw| raw.parse())?;
    let runs: usize = args.next().map_or(Ok(7), |raw| raw.parse())?;
    let backend = match args.next().as_deref() {
        None | Some("sqlite") => Backend::Sqlite,
        Some("postgres") => Backend::Postgres,
        Some(other) => anyhow::bail!("backend must be sqlite or postgres, not {other:?}"),
    };
    let (records, truth) = generate(1, date!(2025 - 01 - 06), weeks, &Mix::default())?;

    let h = Harness::start(backend).await?;
    let started = Instant::now();
    load(&h, backend, &records).await?;
    println!("loaded {} contacts ({weeks} weeks) into {backend:?} in {:.1} s", records.len(), secs(started.elapsed()));

    let mut ian = h.system.broker_as("ian-ig").await?;
    let request = pb::GetReportRequest {
        from: truth.period.first().to_string(),
        to: truth.period.last().to_string(),
        as_of: truth.as_of.format(&Rfc3339)?,
    };
    let mut timings = Vec::with_capacity(runs);
    let mut report = None;
    for _ in 0..runs {
        let started = Instant::now();
        let answer = ian.frontdoor.get_report(request.clone()).await?.into_inner();
        timings.push(started.elapsed());
        report = Some(answer);
    }
    let report = report.ok_or_else(|| anyhow::anyhow!("no runs"))?;
    check(&report, &truth)?;
    timings.sort_unstable();
    println!(
        "GetReport over {} contacts, through gRPC (mTLS): median {:.0} ms of {runs} runs (min {:.0} ms, max {:.0} ms); figures match the truth",
        report.contacts,
        secs(timings[runs / 2]) * 1e3,
        secs(timings[0]) * 1e3,
        secs(timings[runs - 1]) * 1e3,
    );
    println!("\n{}", report.table.lines().take(14).collect::<Vec<_>>().join("\n"));
    h.stop().await
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// The contacts as the broker stores them after triage, decision and
/// closure. The sealed columns hold empty blobs: the report never opens them.
async fn load(h: &Harness, backend: Backend, records: &[ContactRecord]) -> anyhow::Result<()> {
    const COLUMNS: &str = "contact_id, received_at, recorded_by, recorded_at, referrer_kind, concerns, key_id, sealed, \
                           re_referral_of, level, deadline, triaged_by, triaged_at, outcome, decided_at, closed_at";
    const PER_ROW: usize = 16;
    let pool = h.database("broker").await?;
    for commit in records.chunks(ROWS_PER_INSERT * INSERTS_PER_COMMIT) {
        let mut tx = pool.begin().await?;
        for rows in commit.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..rows.len())
                .map(|row| {
                    let marks: Vec<String> = (1..=PER_ROW)
                        .map(|column| match backend {
                            Backend::Sqlite => "?".to_owned(),
                            Backend::Postgres => format!("${}", row * PER_ROW + column),
                        })
                        .collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            let sql = format!("INSERT INTO contacts ({COLUMNS}) VALUES {}", values.join(", "));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in rows {
                let id = r.id.get() as i64;
                query = query
                    .bind(id)
                    .bind(stored(r.received_at))
                    .bind("spiffe://mash.local/user/rita-researcher")
                    .bind(stored(r.received_at))
                    .bind("professional")
                    .bind("domestic-abuse")
                    .bind("")
                    .bind(Vec::<u8>::new())
                    // A re-referral points at an earlier contact; which one does not matter here.
                    .bind(r.re_referral.then_some((id - 1).max(1)))
                    .bind(r.level.as_str())
                    .bind(stored(r.deadline))
                    .bind("spiffe://mash.local/user/rita-researcher")
                    .bind(stored(r.received_at))
                    .bind(r.outcome.map(|o| o.as_str()))
                    .bind(r.decided_at.map(stored))
                    .bind(r.closed_at.map(stored));
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    pool.close().await;
    Ok(())
}

/// The broker's stored form of a time: fixed-width UTC, microseconds.
fn stored(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    at.to_offset(time::UtcOffset::UTC).format(format).unwrap_or_default()
}

fn check(report: &pb::PerformanceReport, truth: &TrueFigures) -> anyhow::Result<()> {
    let due: Vec<u64> = report.timeliness.iter().map(|t| t.due).collect();
    let in_time: Vec<u64> = report.timeliness.iter().map(|t| t.in_time).collect();
    let outcomes: Vec<u64> = report.outcomes.iter().map(|o| o.count).collect();
    let weekly: Vec<u64> = report.weeks.iter().map(|w| w.contacts).collect();
    let median = truth.median_to_decision.map(|d| d.as_seconds_f64());
    let found = (
        report.contacts,
        due,
        in_time,
        report.decided,
        outcomes,
        report.re_referrals,
        report.open,
        report.past_deadline.clone(),
        weekly,
        report.median_to_decision_seconds,
    );
    let expected = (
        truth.contacts,
        truth.due.to_vec(),
        truth.in_time.to_vec(),
        truth.decided,
        truth.outcomes.to_vec(),
        truth.re_referrals,
        truth.open,
        past_deadline_most_overdue_first(truth, report),
        truth.weekly.iter().map(|(_, count)| *count).collect(),
        median,
    );
    anyhow::ensure!(found == expected, "the report's figures differ from the truth:\n{found:?}\n{expected:?}");
    Ok(())
}

/// The truth lists overdue contacts by id; the report most overdue first.
/// Same set, so compare as sets by sorting the report's order into the truth's.
fn past_deadline_most_overdue_first(truth: &TrueFigures, report: &pb::PerformanceReport) -> Vec<u64> {
    let mut sorted = report.past_deadline.clone();
    sorted.sort_unstable();
    let truth_ids: Vec<u64> = truth.past_deadline.iter().map(|id| id.get()).collect();
    if sorted == truth_ids { report.past_deadline.clone() } else { truth_ids }
}
