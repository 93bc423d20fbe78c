//! The front door through the API: contacts, triage deadlines, the enquiry
//! workflow and its refusals, re-referrals, and the report's figures on a
//! small dataset whose answers are known. The rules' exhaustive tables live
//! in `mash-frontdoor`; these prove the broker stores and serves them.

use mash_e2e::{Backend, Harness, fixtures::checks, on_both_backends};
use mash_proto::v1::{self as pb, ConcernCategory, DecisionOutcome, EnquiryState, Level, Rag, ReferrerKind, Relation};
use mash_system::demo::{AMY, DemoPerson, ELLA, EVIE, JADE, NOAH};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};
use tonic::Code;

on_both_backends!(
    the_workflow_runs_in_order_and_refuses_illegal_moves_and_non_managers,
    triage_sets_the_deadline_from_the_calendar,
    a_contact_for_a_child_closed_within_twelve_months_is_a_re_referral,
    the_report_gives_the_known_figures_of_a_small_dataset,
    bad_input_is_rejected_and_nothing_is_written,
);

type Client = mash_system::BrokerClients;

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("formats")
}

fn parse(raw: &str) -> OffsetDateTime {
    OffsetDateTime::parse(raw, &Rfc3339).expect("an RFC 3339 time")
}

/// A professional's contact about `child`, with `household`, received at `received_at` (empty: now).
fn contact(child: DemoPerson, household: &[(DemoPerson, Relation)], received_at: &str) -> pb::CreateContactRequest {
    let subject = |person: DemoPerson, relation: Relation| pb::EnquirySubject {
        subject_id: String::new(),
        relation: relation.into(),
        person: Some(person.to_wire()),
    };
    let mut subjects = vec![subject(child, Relation::Child)];
    subjects.extend(household.iter().map(|&(person, relation)| subject(person, relation)));
    pb::CreateContactRequest {
        referrer_kind: ReferrerKind::Professional.into(),
        referrer: "School DSL, Leeds Primary".into(),
        concerns: vec![ConcernCategory::DomesticAbuse.into(), ConcernCategory::Neglect.into()],
        subjects,
        received_at: received_at.into(),
        referrer_agency: String::new(),
    }
}

fn triage(contact_id: u64, level: Level) -> pb::TriageContactRequest {
    pb::TriageContactRequest { contact_id, level: level.into(), reason: "Police notification, children present".into() }
}

fn from_contact(contact_id: u64) -> pb::CreateEnquiryFromContactRequest {
    pb::CreateEnquiryFromContactRequest {
        contact_id,
        purpose: "front-door-decision".into(),
        lawful_basis: "children-act-1989-s47".into(),
        consent: pb::ConsentState::NotSought.into(),
        assigned_researcher: String::new(),
    }
}

fn decision(enquiry_id: &str, outcome: DecisionOutcome) -> pb::RecordDecisionRequest {
    pb::RecordDecisionRequest {
        enquiry_id: enquiry_id.into(),
        outcome: outcome.into(),
        reason: "Threshold met on the information gathered".into(),
    }
}

fn to(enquiry_id: &str, state: EnquiryState) -> pb::TransitionEnquiryRequest {
    pb::TransitionEnquiryRequest { enquiry_id: enquiry_id.into(), to: state.into() }
}

fn close(enquiry_id: &str) -> pb::CloseEnquiryRequest {
    pb::CloseEnquiryRequest { enquiry_id: enquiry_id.into() }
}

fn code<T: std::fmt::Debug>(result: Result<T, tonic::Status>, expected: Code) -> tonic::Status {
    let status = result.expect_err("must be refused");
    assert_eq!(status.code(), expected, "{status:?}");
    status
}

/// A contact taken from intake to a recorded decision (and closure if `closed`).
async fn decided(
    rita: &mut Client,
    maya: &mut Client,
    request: pb::CreateContactRequest,
    level: Level,
    outcome: DecisionOutcome,
    closed: bool,
) -> anyhow::Result<pb::Contact> {
    let created = rita.frontdoor.create_contact(request).await?.into_inner();
    rita.frontdoor.triage_contact(triage(created.contact_id, level)).await?;
    let enquiry = rita.frontdoor.create_enquiry_from_contact(from_contact(created.contact_id)).await?.into_inner();
    rita.enquiries.request_checks(checks(&enquiry.enquiry_id)).await?;
    rita.frontdoor.transition_enquiry(to(&enquiry.enquiry_id, EnquiryState::InformationGathered)).await?;
    maya.frontdoor.record_decision(decision(&enquiry.enquiry_id, outcome)).await?;
    if closed {
        maya.frontdoor.close_enquiry(close(&enquiry.enquiry_id)).await?;
    }
    let request = pb::GetContactRequest { contact_id: created.contact_id };
    Ok(rita.frontdoor.get_contact(request).await?.into_inner())
}

async fn the_workflow_runs_in_order_and_refuses_illegal_moves_and_non_managers(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let mut maya = h.system.broker_as("maya-manager").await?;
    let created =
        rita.frontdoor.create_contact(contact(AMY, &[(JADE, Relation::ParentOrCarer)], "")).await?.into_inner();
    assert_eq!((created.subjects.len(), created.re_referral, created.level()), (2, false, Level::Unspecified));
    assert_eq!(created.recorded_by, "spiffe://mash.local/user/rita-researcher");

    let untriaged = rita.frontdoor.create_enquiry_from_contact(from_contact(created.contact_id)).await;
    code(untriaged, Code::FailedPrecondition);
    rita.frontdoor.triage_contact(triage(created.contact_id, Level::Level3ChildProtection)).await?;
    let twice = rita.frontdoor.triage_contact(triage(created.contact_id, Level::Level1EarlyHelp)).await;
    code(twice, Code::FailedPrecondition);
    let enquiry = rita.frontdoor.create_enquiry_from_contact(from_contact(created.contact_id)).await?.into_inner();
    assert_eq!((enquiry.level(), enquiry.subjects.len()), (Level::Level3ChildProtection, 2));
    code(rita.frontdoor.create_enquiry_from_contact(from_contact(created.contact_id)).await, Code::FailedPrecondition);
    let id = enquiry.enquiry_id.as_str();
    let workflow = |client: &mut Client| {
        let request = pb::GetEnquiryWorkflowRequest { enquiry_id: id.into() };
        let mut client = client.clone();
        async move { anyhow::Ok(client.frontdoor.get_enquiry_workflow(request).await?.into_inner()) }
    };
    let opened = workflow(&mut rita).await?;
    assert_eq!((opened.state(), opened.contact_id), (EnquiryState::Open, created.contact_id));

    // Illegal from open: every one refused, and the state unchanged.
    code(rita.frontdoor.transition_enquiry(to(id, EnquiryState::InformationGathered)).await, Code::FailedPrecondition);
    code(
        maya.frontdoor.record_decision(decision(id, DecisionOutcome::Section17Assessment)).await,
        Code::FailedPrecondition,
    );
    code(maya.frontdoor.close_enquiry(close(id)).await, Code::FailedPrecondition);
    // A decision is a manager's: a researcher is refused, and the refusal logged.
    let denied = code(
        rita.frontdoor.record_decision(decision(id, DecisionOutcome::Section17Assessment)).await,
        Code::PermissionDenied,
    );
    assert!(denied.message().contains("enquiry.decide"), "{denied:?}");
    code(rita.frontdoor.close_enquiry(close(id)).await, Code::PermissionDenied);
    let mut ian = h.system.broker_as("ian-ig").await?;
    let search = pb::SearchLogEntriesRequest {
        enquiry_id: id.into(),
        outcome: pb::Outcome::Refused.into(),
        ..Default::default()
    };
    let refusals = ian.log.search_log_entries(search).await?.into_inner().entries;
    assert!(refusals.iter().any(|e| e.reason.contains("enquiry.decide")), "{refusals:?}");
    assert_eq!(workflow(&mut rita).await?.state(), EnquiryState::Open);

    rita.enquiries.request_checks(checks(id)).await?;
    rita.enquiries.request_checks(checks(id)).await?;
    rita.frontdoor.transition_enquiry(to(id, EnquiryState::InformationGathered)).await?;
    rita.enquiries.request_checks(checks(id)).await?;
    rita.frontdoor.transition_enquiry(to(id, EnquiryState::InformationGathered)).await?;
    let wrong_rpc = rita.frontdoor.transition_enquiry(to(id, EnquiryState::DecisionRecorded)).await;
    assert!(code(wrong_rpc, Code::InvalidArgument).message().contains("RecordDecision"));
    let decided =
        maya.frontdoor.record_decision(decision(id, DecisionOutcome::Section47StrategyDiscussion)).await?.into_inner();
    assert_eq!(
        (decided.state(), decided.outcome(), decided.decided_by.as_str()),
        (
            EnquiryState::DecisionRecorded,
            DecisionOutcome::Section47StrategyDiscussion,
            "spiffe://mash.local/user/maya-manager"
        )
    );
    assert_eq!(decided.decision_reason, "Threshold met on the information gathered");
    // Decided: no revision, no further checks.
    code(
        maya.frontdoor.record_decision(decision(id, DecisionOutcome::NoFurtherAction)).await,
        Code::FailedPrecondition,
    );
    code(rita.enquiries.request_checks(checks(id)).await, Code::FailedPrecondition);
    let closed = maya.frontdoor.close_enquiry(close(id)).await?.into_inner();
    code(maya.frontdoor.close_enquiry(close(id)).await, Code::FailedPrecondition);

    use EnquiryState::*;
    let moves: Vec<_> = closed.transitions.iter().map(|t| (t.from(), t.to())).collect();
    assert_eq!(
        moves,
        [
            (Open, ChecksRequested),
            // Asking again while checks are requested changes nothing.
            (ChecksRequested, InformationGathered),
            (InformationGathered, ChecksRequested),
            (ChecksRequested, InformationGathered),
            (InformationGathered, DecisionRecorded),
            (DecisionRecorded, Closed),
        ]
    );
    let actors: Vec<_> = closed.transitions.iter().map(|t| t.actor.rsplit('/').next().unwrap_or_default()).collect();
    assert_eq!(actors[..2], ["rita-researcher", "rita-researcher"]);
    assert_eq!(actors[4..], ["maya-manager", "maya-manager"]);
    assert!(closed.transitions.windows(2).all(|w| parse(&w[0].at) <= parse(&w[1].at)));

    let shown =
        rita.frontdoor.get_contact(pb::GetContactRequest { contact_id: created.contact_id }).await?.into_inner();
    assert_eq!(
        (shown.state(), shown.outcome(), shown.enquiry_id.as_str()),
        (Closed, DecisionOutcome::Section47StrategyDiscussion, id)
    );
    assert!(!shown.decided_at.is_empty() && !shown.closed_at.is_empty());

    // Sealed at rest: neither the child's name nor the reasons are in clear.
    let pool = h.database("broker").await?;
    for (table, column) in [("contacts", "sealed"), ("contacts", "triage_reason"), ("enquiry_decisions", "reason")] {
        let sql = format!("SELECT {column} AS blob FROM {table}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await?;
        for row in rows {
            let blob: Vec<u8> = sqlx::Row::try_get(&row, "blob")?;
            let text = String::from_utf8_lossy(&blob);
            assert!(
                !text.contains("Amy") && !text.contains("Threshold") && !text.contains("Police"),
                "{table}.{column}"
            );
        }
    }
    pool.close().await;
    h.stop().await
}

async fn triage_sets_the_deadline_from_the_calendar(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    // Friday 16:00 in November (GMT): level 1 is due the next Wednesday at
    // 16:00; level 2 in 24 hours; level 3 in 4 hours. Thursday 2025-12-25 is
    // Christmas Day: level 1 from Wednesday 24 December skips it and Boxing Day.
    let cases = [
        ("2026-11-20T16:00:00Z", Level::Level1EarlyHelp, "2026-11-25T16:00:00Z", Rag::Green),
        ("2026-11-20T16:00:00Z", Level::Level2ChildInNeed, "2026-11-21T16:00:00Z", Rag::Amber),
        ("2026-11-20T16:00:00Z", Level::Level3ChildProtection, "2026-11-20T20:00:00Z", Rag::Red),
        ("2025-12-24T10:00:00Z", Level::Level1EarlyHelp, "2025-12-31T10:00:00Z", Rag::Green),
    ];
    for (received_at, level, deadline, rag) in cases {
        let created = rita.frontdoor.create_contact(contact(NOAH, &[], received_at)).await?.into_inner();
        assert_eq!(parse(&created.received_at), parse(received_at));
        let triaged = rita.frontdoor.triage_contact(triage(created.contact_id, level)).await?.into_inner();
        assert_eq!((parse(&triaged.deadline), triaged.rag(), triaged.level()), (parse(deadline), rag, level));
        assert_eq!(triaged.triaged_by, "spiffe://mash.local/user/rita-researcher");
    }
    h.stop().await
}

async fn a_contact_for_a_child_closed_within_twelve_months_is_a_re_referral(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let mut maya = h.system.broker_as("maya-manager").await?;
    let earlier = decided(
        &mut rita,
        &mut maya,
        contact(AMY, &[], ""),
        Level::Level2ChildInNeed,
        DecisionOutcome::EarlyHelp,
        true,
    )
    .await?;
    // The same child, known this time only by name and date of birth.
    let mut by_name = contact(AMY, &[], "");
    if let Some(person) = by_name.subjects[0].person.as_mut() {
        (person.nhs_number, person.upn) = (String::new(), String::new());
    }
    let again = rita.frontdoor.create_contact(by_name).await?.into_inner();
    assert_eq!((again.re_referral, again.re_referral_of), (true, earlier.contact_id));
    // Another child is not; nor is a contact received before the closure.
    let other = rita.frontdoor.create_contact(contact(NOAH, &[(AMY, Relation::Sibling)], "")).await?.into_inner();
    assert_eq!((other.re_referral, other.re_referral_of), (false, 0));
    let before = rfc3339(parse(&earlier.closed_at) - Duration::minutes(1));
    let backdated = rita.frontdoor.create_contact(contact(AMY, &[], &before)).await?.into_inner();
    assert!(!backdated.re_referral);
    // An open (undecided) referral is not a closed one.
    let open = rita.frontdoor.create_contact(contact(ELLA, &[], "")).await?.into_inner();
    rita.frontdoor.triage_contact(triage(open.contact_id, Level::Level1EarlyHelp)).await?;
    assert!(!rita.frontdoor.create_contact(contact(ELLA, &[], "")).await?.into_inner().re_referral);
    h.stop().await
}

async fn the_report_gives_the_known_figures_of_a_small_dataset(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let mut maya = h.system.broker_as("maya-manager").await?;
    let now = OffsetDateTime::now_utc();
    let ago = |minutes: i64| rfc3339(now - Duration::minutes(minutes));
    // Level 3 decided inside its 4 hours, and outside them; both closed.
    let on_time = decided(
        &mut rita,
        &mut maya,
        contact(AMY, &[], &ago(60)),
        Level::Level3ChildProtection,
        DecisionOutcome::Section47StrategyDiscussion,
        true,
    )
    .await?;
    let late = decided(
        &mut rita,
        &mut maya,
        contact(NOAH, &[], &ago(6 * 60)),
        Level::Level3ChildProtection,
        DecisionOutcome::NoFurtherAction,
        true,
    )
    .await?;
    // Level 2 undecided two days on (past its deadline), and one still in time.
    let overdue = rita.frontdoor.create_contact(contact(ELLA, &[], &ago(2 * 24 * 60))).await?.into_inner();
    rita.frontdoor.triage_contact(triage(overdue.contact_id, Level::Level2ChildInNeed)).await?;
    let waiting = rita.frontdoor.create_contact(contact(EVIE, &[], &ago(60))).await?.into_inner();
    rita.frontdoor.triage_contact(triage(waiting.contact_id, Level::Level2ChildInNeed)).await?;
    // Amy again after her closure: a re-referral; and one contact not triaged.
    let again = rita.frontdoor.create_contact(contact(AMY, &[], "")).await?.into_inner();
    assert!(again.re_referral);
    rita.frontdoor.triage_contact(triage(again.contact_id, Level::Level1EarlyHelp)).await?;
    rita.frontdoor.create_contact(contact(JADE, &[], "")).await?;

    let today = now.date();
    let request = pb::GetReportRequest {
        from: (today - Duration::days(20)).to_string(),
        to: (today + Duration::days(1)).to_string(),
        as_of: String::new(),
    };
    code(rita.frontdoor.get_report(request.clone()).await, Code::PermissionDenied);
    let mut ian = h.system.broker_as("ian-ig").await?;
    let report = ian.frontdoor.get_report(request.clone()).await?.into_inner();
    let same =
        maya.frontdoor.get_report(pb::GetReportRequest { as_of: report.as_of.clone(), ..request }).await?.into_inner();
    assert_eq!((same.contacts, same.decided, same.past_deadline.len()), (report.contacts, report.decided, 1));

    assert_eq!((report.contacts, report.untriaged, report.decided), (5, 1, 2));
    assert_eq!(report.weeks.iter().map(|w| w.contacts).sum::<u64>(), 5);
    let timeliness: Vec<_> = report.timeliness.iter().map(|t| (t.rag(), t.due, t.in_time)).collect();
    assert_eq!(timeliness, [(Rag::Green, 0, 0), (Rag::Amber, 1, 0), (Rag::Red, 2, 1)]);
    assert_eq!(report.timeliness[2].percent, Some(50.0));
    assert_eq!(report.timeliness[0].percent, None, "nothing due, no percentage");
    let outcomes: Vec<_> = report.outcomes.iter().filter(|o| o.count > 0).map(|o| (o.outcome(), o.count)).collect();
    assert_eq!(outcomes, [(DecisionOutcome::NoFurtherAction, 1), (DecisionOutcome::Section47StrategyDiscussion, 1)]);
    assert_eq!((report.re_referrals, report.re_referral_percent), (1, Some(20.0)));
    assert_eq!((report.open, report.past_deadline.as_slice()), (3, [overdue.contact_id].as_slice()));
    let took = |c: &pb::Contact| (parse(&c.decided_at) - parse(&c.received_at)).as_seconds_f64();
    let median = report.median_to_decision_seconds.expect("two decisions");
    assert!((median - (took(&on_time) + took(&late)) / 2.0).abs() < 0.001, "{median}");
    assert!(
        report.csv.contains("\ncontacts,,5\n") && report.csv.contains("\nre_referral_pct,,20.0\n"),
        "{}",
        report.csv
    );
    assert!(report.table.contains("Re-referrals") && report.table.contains("Red (Level 3)"), "{}", report.table);

    // As of before anything arrived, nothing has happened yet.
    let earlier = pb::GetReportRequest { as_of: rfc3339(now - Duration::days(10)), ..request_for(today) };
    let empty = ian.frontdoor.get_report(earlier).await?.into_inner();
    assert_eq!((empty.contacts, empty.decided, empty.past_deadline.len()), (0, 0, 0));
    h.stop().await
}

fn request_for(today: time::Date) -> pb::GetReportRequest {
    pb::GetReportRequest {
        from: (today - Duration::days(20)).to_string(),
        to: (today + Duration::days(1)).to_string(),
        as_of: String::new(),
    }
}

async fn bad_input_is_rejected_and_nothing_is_written(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let good = || contact(AMY, &[(JADE, Relation::ParentOrCarer)], "");
    let edit = |change: fn(&mut pb::CreateContactRequest)| {
        let mut request = good();
        change(&mut request);
        request
    };
    let future = rfc3339(OffsetDateTime::now_utc() + Duration::hours(2));
    let cases: Vec<(pb::CreateContactRequest, &str)> = vec![
        (edit(|r| r.referrer_kind = ReferrerKind::Unspecified.into()), "referrer_kind"),
        (edit(|r| r.referrer = " ".into()), "referrer"),
        (edit(|r| r.concerns.clear()), "concerns"),
        (edit(|r| r.concerns.push(ConcernCategory::Unspecified.into())), "concerns[2]"),
        (edit(|r| r.concerns.push(99)), "concerns[2]"),
        (edit(|r| r.subjects.clear()), "subjects"),
        (edit(|r| r.subjects[1].relation = Relation::Child.into()), "subjects"),
        (edit(|r| r.subjects[1].relation = Relation::Unspecified.into()), "subjects[1].relation"),
        (
            edit(|r| r.subjects[0].person.as_mut().expect("person").nhs_number = "9434765918".into()),
            "subjects[0].person.nhs_number",
        ),
        (edit(|r| r.received_at = "yesterday".into()), "received_at"),
        (pb::CreateContactRequest { received_at: future, ..good() }, "received_at"),
    ];
    for (request, field) in cases {
        let status = code(rita.frontdoor.create_contact(request).await, Code::InvalidArgument);
        assert!(status.message().starts_with(field), "{field}: {}", status.message());
    }
    for table in ["contacts", "contact_children"] {
        assert_eq!(h.count("broker", table).await?, 0, "{table}");
    }
    // A member of the public may stay anonymous.
    let anonymous = edit(|r| (r.referrer_kind, r.referrer) = (ReferrerKind::MemberOfPublic.into(), String::new()));
    let created = rita.frontdoor.create_contact(anonymous).await?.into_inner();

    let mut no_level = triage(created.contact_id, Level::Unspecified);
    code(rita.frontdoor.triage_contact(no_level.clone()).await, Code::InvalidArgument);
    no_level.level = Level::Level2ChildInNeed.into();
    no_level.reason = "  ".into();
    code(rita.frontdoor.triage_contact(no_level).await, Code::InvalidArgument);
    code(rita.frontdoor.triage_contact(triage(0, Level::Level2ChildInNeed)).await, Code::InvalidArgument);
    code(
        rita.frontdoor.triage_contact(triage(created.contact_id + 100, Level::Level2ChildInNeed)).await,
        Code::NotFound,
    );
    let shown =
        rita.frontdoor.get_contact(pb::GetContactRequest { contact_id: created.contact_id }).await?.into_inner();
    assert_eq!((shown.level(), shown.deadline.as_str()), (Level::Unspecified, ""));

    rita.frontdoor.triage_contact(triage(created.contact_id, Level::Level2ChildInNeed)).await?;
    let enquiry = rita.frontdoor.create_enquiry_from_contact(from_contact(created.contact_id)).await?.into_inner();
    let id = enquiry.enquiry_id.as_str();
    rita.enquiries.request_checks(checks(id)).await?;
    rita.frontdoor.transition_enquiry(to(id, EnquiryState::InformationGathered)).await?;
    let mut maya = h.system.broker_as("maya-manager").await?;
    code(maya.frontdoor.record_decision(decision(id, DecisionOutcome::Unspecified)).await, Code::InvalidArgument);
    let mut no_reason = decision(id, DecisionOutcome::EarlyHelp);
    no_reason.reason = String::new();
    code(maya.frontdoor.record_decision(no_reason).await, Code::InvalidArgument);
    code(rita.frontdoor.transition_enquiry(to(id, EnquiryState::Unspecified)).await, Code::InvalidArgument);
    let request = pb::GetEnquiryWorkflowRequest { enquiry_id: id.into() };
    assert_eq!(
        rita.frontdoor.get_enquiry_workflow(request).await?.into_inner().state(),
        EnquiryState::InformationGathered
    );
    assert_eq!(h.count("broker", "enquiry_decisions").await?, 0);

    let mut ian = h.system.broker_as("ian-ig").await?;
    let report = |from: &str, to: &str| pb::GetReportRequest { from: from.into(), to: to.into(), as_of: String::new() };
    code(ian.frontdoor.get_report(report("2026-02-01", "2026-01-01")).await, Code::InvalidArgument);
    code(ian.frontdoor.get_report(report("2026-13-01", "2026-12-01")).await, Code::InvalidArgument);
    code(
        ian.frontdoor
            .get_report(pb::GetReportRequest { as_of: "noon".into(), ..report("2026-01-01", "2026-02-01") })
            .await,
        Code::InvalidArgument,
    );
    h.stop().await
}
