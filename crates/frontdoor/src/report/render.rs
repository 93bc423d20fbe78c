//! The report as text for people (a fixed-width table) and for spreadsheets
//! (CSV in one long `metric,group,value` shape, so that every section fits
//! one header and no value needs quoting).

use std::fmt::Write;

use time::Duration;
use time::format_description::well_known::Rfc3339;

use super::Report;
use crate::Rag;

impl Report {
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let as_of = self.as_of.format(&Rfc3339).unwrap_or_else(|_| self.as_of.to_string());
        let _ =
            writeln!(out, "Front door performance {} to {} (as of {as_of})", self.period.first(), self.period.last());
        let _ = writeln!(out);
        let row = |out: &mut String, name: &str, value: String| {
            let _ = writeln!(out, "{name:<40}{value:>16}");
        };
        row(&mut out, "Contacts", self.contacts.to_string());
        row(&mut out, "Re-referrals", format!("{} ({})", self.re_referrals, shown(self.re_referral_rate())));
        row(&mut out, "Decided", self.decided.to_string());
        row(&mut out, "Median time from contact to decision", self.median_to_decision.map_or("n/a".into(), hours));
        row(&mut out, "Open (not closed)", self.open.to_string());
        row(&mut out, "Undecided past deadline (all periods)", self.past_deadline.len().to_string());

        let _ = writeln!(out, "\n{:<40}{:>8}{:>8}{:>8}", "Completed within timescale", "due", "in time", "%");
        for level in &self.timeliness {
            let name = format!("  {} (Level {})", Rag::from(level.level).label(), level.level);
            let _ = writeln!(out, "{name:<40}{:>8}{:>8}{:>8}", level.due, level.in_time, shown(level.percent()));
        }

        let _ = writeln!(out, "\n{:<40}{:>8}{:>8}", "Outcome", "count", "%");
        for count in &self.outcomes {
            let name = format!("  {}", count.outcome.label());
            let _ = writeln!(out, "{name:<40}{:>8}{:>8}", count.count, shown(self.outcome_percent(count)));
        }

        let _ = writeln!(out, "\n{:<40}{:>8}", "Contacts per ISO week", "count");
        for week in &self.weeks {
            let name = format!("  {} (from {})", week.week, week.week.monday());
            let _ = writeln!(out, "{name:<40}{:>8}", week.contacts);
        }
        out
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::from("metric,group,value\n");
        let mut row = |metric: &str, group: &str, value: String| {
            let _ = writeln!(out, "{metric},{group},{value}");
        };
        row("period_first", "", self.period.first().to_string());
        row("period_last", "", self.period.last().to_string());
        row("as_of", "", self.as_of.format(&Rfc3339).unwrap_or_default());
        row("contacts", "", self.contacts.to_string());
        for week in &self.weeks {
            row("contacts_per_week", &week.week.to_string(), week.contacts.to_string());
        }
        for level in &self.timeliness {
            let group = Rag::from(level.level).as_str();
            row("due", group, level.due.to_string());
            row("completed_in_time", group, level.in_time.to_string());
            row("completed_in_time_pct", group, number(level.percent()));
        }
        row("decided", "", self.decided.to_string());
        for count in &self.outcomes {
            row("outcome", count.outcome.as_str(), count.count.to_string());
            row("outcome_pct", count.outcome.as_str(), number(self.outcome_percent(count)));
        }
        row("re_referrals", "", self.re_referrals.to_string());
        row("re_referral_pct", "", number(self.re_referral_rate()));
        row("open", "", self.open.to_string());
        row("past_deadline", "", self.past_deadline.len().to_string());
        row(
            "median_to_decision_seconds",
            "",
            self.median_to_decision.map_or(String::new(), |median| format!("{:.1}", median.as_seconds_f64())),
        );
        out
    }
}

fn shown(percent: Option<f64>) -> String {
    percent.map_or("n/a".into(), |percent| format!("{percent:.1}%"))
}

/// A percentage for CSV: one decimal, empty when there is nothing to divide by.
fn number(percent: Option<f64>) -> String {
    percent.map_or(String::new(), |percent| format!("{percent:.1}"))
}

fn hours(duration: Duration) -> String {
    let minutes = duration.whole_minutes();
    format!("{}h {:02}m", minutes / 60, minutes % 60)
}
