//! The attacks of the security review (issue 22) that need the whole system,
//! one test each, on SQLite and on PostgreSQL where storage is involved.
//! Attacks that a crate can show alone are tested there:
//! - servers identified beyond the CA, revocation, stalled handshakes:
//!   `crates/transport/tests/mtls.rs`;
//! - scopes and agencies in separate namespaces: `crates/policy/tests/policy_table.rs`;
//! - report periods at the edge of the calendar: `crates/frontdoor/src/report/tests.rs`.

use mash_e2e::{Backend, Harness, on_both_backends};
use mash_proto::v1 as pb;
use tonic::Code;

on_both_backends!(a_report_to_the_end_of_time_is_refused_naming_the_field_not_a_panic);

/// F10: `to=9999-12-31` used to panic the connection's task in date
/// arithmetic; a period of centuries built a table of half a million weeks.
async fn a_report_to_the_end_of_time_is_refused_naming_the_field_not_a_panic(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut maya = h.system.broker_as("maya-manager").await?;
    for (from, to) in [("2026-01-01", "9999-12-31"), ("0001-01-01", "9999-12-30")] {
        let request = pb::GetReportRequest { from: from.into(), to: to.into(), as_of: String::new() };
        let status = maya.get_report(request).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{from}..{to}: {status:?}");
        assert!(status.message().starts_with("to"), "{from}..{to}: {status:?}");
    }
    // The connection survived: a sensible period is served on it.
    let request = pb::GetReportRequest { from: "2026-01-01".into(), to: "2026-03-31".into(), as_of: String::new() };
    maya.get_report(request).await?;
    h.stop().await
}
