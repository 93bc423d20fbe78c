//! What flows back to agencies: referral outcomes, information products and
//! disclosure notifications, each in the receiving agency's own queue,
//! delivered until acknowledged, across a broker restart; and every refusal
//! on the way.

use std::{collections::BTreeSet, time::Duration};

use mash_e2e::{
    Backend, Harness,
    fixtures::{checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{
    self as pb, ConcernCategory, DecisionOutcome, InformationProductKind, Level, ReferrerKind, Relation,
    agency_message::Body,
};
use mash_system::demo::{self, AMY, CONNOR, JADE};
use tokio_stream::StreamExt;
use tonic::Code;

on_both_backends!(
    an_agency_system_receives_the_outcome_of_its_own_referral_and_reads_only_its_own_queue,
    disclosures_notify_the_owning_agency_except_in_silent_categories,
    an_information_product_is_logged_queued_for_its_agency_and_timed_for_school,
    unacknowledged_messages_survive_a_restart_and_are_streamed_again,
);

type Client = mash_system::BrokerClients;

async fn poll(client: &mut Client) -> anyhow::Result<Vec<pb::AgencyMessage>> {
    Ok(client.queue.poll_messages(pb::PollMessagesRequest::default()).await?.into_inner().messages)
}

async fn ack(client: &mut Client, ids: &[&str]) -> Result<u32, tonic::Status> {
    let request = pb::AckMessagesRequest { message_ids: ids.iter().map(|id| id.to_string()).collect() };
    Ok(client.queue.ack_messages(request).await?.into_inner().acknowledged)
}

fn share(enquiry_id: &str, agency: &str, kind: InformationProductKind, text: &str) -> pb::ShareWithAgencyRequest {
    pb::ShareWithAgencyRequest {
        enquiry_id: enquiry_id.into(),
        agency: agency.into(),
        kind: kind.into(),
        text: text.into(),
    }
}

/// An enquiry about Amy's household at level 3, checked at every agency.
async fn checked_household(h: &Harness) -> anyhow::Result<pb::Enquiry> {
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let household = vec![
        subject(AMY, Relation::Child),
        subject(JADE, Relation::ParentOrCarer),
        subject(CONNOR, Relation::OtherAdult),
    ];
    let opened = rita.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, household)).await?.into_inner();
    rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?;
    Ok(opened)
}

async fn an_agency_system_receives_the_outcome_of_its_own_referral_and_reads_only_its_own_queue(
    backend: Backend,
) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut police = h.system.broker_as("agency-police").await?;
    let contact = pb::CreateContactRequest {
        referrer_kind: ReferrerKind::AgencySystem.into(),
        referrer: "West Yorkshire Police PPN".into(),
        concerns: vec![ConcernCategory::DomesticAbuse.into()],
        subjects: vec![subject(AMY, Relation::Child)],
        // Claims another agency: the certificate wins.
        referrer_agency: "health".into(),
        ..Default::default()
    };
    let contact = police.frontdoor.create_contact(contact).await?.into_inner();
    assert_eq!(contact.referrer_agency, "police", "an agency system refers as itself");
    assert!(poll(&mut police).await?.is_empty(), "nothing is decided yet");

    let mut rita = h.system.broker_as("rita-researcher").await?;
    let mut maya = h.system.broker_as("maya-manager").await?;
    let triage = pb::TriageContactRequest {
        contact_id: contact.contact_id,
        level: Level::Level2ChildInNeed.into(),
        reason: "Repeat incidents".into(),
    };
    rita.frontdoor.triage_contact(triage).await?;
    let open = pb::CreateEnquiryFromContactRequest {
        contact_id: contact.contact_id,
        purpose: "front-door-decision".into(),
        lawful_basis: "children-act-1989-s17".into(),
        consent: pb::ConsentState::NotSought.into(),
        assigned_researcher: String::new(),
    };
    let enquiry = rita.frontdoor.create_enquiry_from_contact(open).await?.into_inner();
    rita.enquiries.request_checks(checks(&enquiry.enquiry_id)).await?;
    let gathered = pb::TransitionEnquiryRequest {
        enquiry_id: enquiry.enquiry_id.clone(),
        to: pb::EnquiryState::InformationGathered.into(),
    };
    rita.frontdoor.transition_enquiry(gathered).await?;
    let decision = pb::RecordDecisionRequest {
        enquiry_id: enquiry.enquiry_id.clone(),
        outcome: DecisionOutcome::Section17Assessment.into(),
        reason: "Needs assessment".into(),
    };
    maya.frontdoor.record_decision(decision).await?;

    let outcomes: Vec<pb::ReferralOutcome> = poll(&mut police)
        .await?
        .into_iter()
        .filter_map(|m| match m.body {
            Some(Body::ReferralOutcome(outcome)) => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes.len(), 1, "one outcome for one referral");
    assert_eq!(outcomes[0].contact_id, contact.contact_id);
    assert_eq!(outcomes[0].enquiry_id, enquiry.enquiry_id);
    assert_eq!(outcomes[0].outcome(), DecisionOutcome::Section17Assessment);
    let mut health = h.system.broker_as("agency-health").await?;
    let health_sees = poll(&mut health).await?;
    assert!(health_sees.iter().all(|m| !matches!(m.body, Some(Body::ReferralOutcome(_)))), "not health's referral");

    // Only an agency system reads a queue, and only its own.
    let other = pb::PollMessagesRequest { agency: "health".into(), max: 0 };
    assert_eq!(police.queue.poll_messages(other).await.expect_err("health's queue").code(), Code::PermissionDenied);
    for who in ["rita-researcher", "ian-ig", "police-gatekeeper"] {
        let mut client = h.system.broker_as(who).await?;
        let refused = client.queue.poll_messages(pb::PollMessagesRequest::default()).await.expect_err(who);
        assert_eq!(refused.code(), Code::PermissionDenied, "{who}");
        let refused = client.queue.ack_messages(pb::AckMessagesRequest { message_ids: vec!["x".into()] }).await;
        assert_eq!(refused.expect_err(who).code(), Code::PermissionDenied, "{who}");
    }
    let unknown = pb::PollMessagesRequest { agency: "probation".into(), max: 0 };
    assert_eq!(police.queue.poll_messages(unknown).await.expect_err("no such agency").code(), Code::InvalidArgument);

    // Acknowledging someone else's message is NOT_FOUND, and acknowledges
    // nothing, not even the caller's own ids in the same request.
    let police_ids: Vec<String> = poll(&mut police).await?.into_iter().map(|m| m.message_id).collect();
    let outcome_id = format!("o-{}", enquiry.enquiry_id);
    assert!(police_ids.contains(&outcome_id));
    let health_own = health_sees.first().expect("health were told of their disclosures").message_id.clone();
    let mixed = ack(&mut health, &[&health_own, &outcome_id]).await.expect_err("police's message");
    assert_eq!(mixed.code(), Code::NotFound, "{mixed:?}");
    assert!(mixed.message().contains("message_ids[1]"), "{}", mixed.message());
    assert_eq!(poll(&mut health).await?.len(), health_sees.len(), "all or none: health's own id stays unacknowledged");
    let empty = ack(&mut police, &[]).await.expect_err("no ids");
    assert_eq!(empty.code(), Code::InvalidArgument);

    let ids: Vec<&str> = police_ids.iter().map(String::as_str).collect();
    assert_eq!(ack(&mut police, &ids).await?, ids.len() as u32);
    assert!(poll(&mut police).await?.is_empty(), "acknowledged messages are not delivered again");
    assert_eq!(ack(&mut police, &ids).await?, 0, "acknowledging twice is harmless");
    h.stop().await
}

async fn disclosures_notify_the_owning_agency_except_in_silent_categories(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let opened = checked_household(&h).await?;
    let mut ian = h.system.broker_as("ian-ig").await?;
    let search = pb::SearchLogEntriesRequest {
        enquiry_id: opened.enquiry_id.clone(),
        outcome: pb::Outcome::Disclosed.into(),
        page_size: 1000,
        ..Default::default()
    };
    let disclosed = ian.log.search_log_entries(search).await?.into_inner().entries;
    let silent = [
        "education/attendance",
        "education/school-registration",
        "education/free-school-meals",
        "health/gp-registration",
    ];
    assert!(disclosed.iter().any(|e| e.category == "education/attendance"), "the test needs a silent disclosure");

    let mut silent_seen = 0;
    for agency in ["police", "health", "education", "social-care"] {
        let mut client = h.system.broker_as(&format!("agency-{agency}")).await?;
        let notified: BTreeSet<u64> = poll(&mut client)
            .await?
            .into_iter()
            .filter_map(|m| match m.body {
                Some(Body::DisclosureNotification(n)) => {
                    assert_eq!(n.enquiry_id, opened.enquiry_id);
                    assert!(n.category.starts_with(&format!("{agency}/")), "{agency} told only of its own items");
                    assert_eq!(n.requester_role, "researcher", "the role, not the person");
                    Some(n.seq)
                }
                _ => None,
            })
            .collect();
        let expected: BTreeSet<u64> = disclosed
            .iter()
            .filter(|e| e.agency == agency && !silent.contains(&e.category.as_str()))
            .map(|e| e.seq)
            .collect();
        silent_seen += disclosed.iter().filter(|e| e.agency == agency && silent.contains(&e.category.as_str())).count();
        assert_eq!(notified, expected, "{agency}: one notification per disclosure in a notify category");
    }
    assert!(silent_seen > 0);
    h.stop().await
}

async fn an_information_product_is_logged_queued_for_its_agency_and_timed_for_school(
    backend: Backend,
) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let opened = checked_household(&h).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let before = time::OffsetDateTime::now_utc();

    let encompass = share(
        &opened.enquiry_id,
        "education",
        InformationProductKind::OperationEncompass,
        "Police attended a domestic incident at Amy's home last night; Amy was present.",
    );
    let queued = rita.queue.share_with_agency(encompass).await?.into_inner();
    let next_school_day = mash_frontdoor::Calendar::england_and_wales().start_of_next_school_day(before);
    let due = time::OffsetDateTime::parse(&queued.deliver_after, &time::format_description::well_known::Rfc3339)?;
    assert!((due - next_school_day).abs() < time::Duration::minutes(1), "{due} vs {next_school_day}");
    let mut school = h.system.broker_as("agency-education").await?;
    let products = |messages: Vec<pb::AgencyMessage>| -> Vec<pb::InformationProduct> {
        messages
            .into_iter()
            .filter_map(|m| match m.body {
                Some(Body::InformationProduct(p)) => Some(p),
                _ => None,
            })
            .collect()
    };
    assert!(products(poll(&mut school).await?).is_empty(), "not before the school day starts");

    let now =
        share(&opened.enquiry_id, "education", InformationProductKind::Notification, "Strategy discussion on Tuesday.");
    let sent = rita.queue.share_with_agency(now).await?.into_inner();
    let delivered = products(poll(&mut school).await?);
    assert_eq!(delivered.len(), 1);
    let product = &delivered[0];
    assert_eq!(product.text, "Strategy discussion on Tuesday.");
    assert_eq!(product.child.as_ref().map(|c| c.given_name.as_str()), Some("Amy"), "the school can find the child");
    assert!(product.seq > 0);
    let mut police = h.system.broker_as("agency-police").await?;
    assert!(products(poll(&mut police).await?).is_empty(), "only the addressee receives it");

    // Logged as a share, with the message's own sequence number.
    let mut ian = h.system.broker_as("ian-ig").await?;
    let search = pb::SearchLogEntriesRequest {
        enquiry_id: opened.enquiry_id.clone(),
        outcome: pb::Outcome::Shared.into(),
        page_size: 100,
        ..Default::default()
    };
    let shared = ian.log.search_log_entries(search).await?.into_inner().entries;
    assert_eq!(shared.len(), 2);
    let entry = shared.iter().find(|e| e.seq == product.seq).expect("the product's entry");
    assert_eq!(entry.recipient, "agency:education");
    assert!(entry.reason.contains(&sent.message_id));

    // Refusals, each leaving nothing queued.
    let mut robin = h.system.broker_as("robin-researcher").await?;
    let not_assigned = share(&opened.enquiry_id, "education", InformationProductKind::Notification, "x");
    assert_eq!(
        robin.queue.share_with_agency(not_assigned).await.expect_err("unassigned").code(),
        Code::PermissionDenied
    );
    let mut police_system = h.system.broker_as("agency-police").await?;
    let agency_sends = share(&opened.enquiry_id, "education", InformationProductKind::Notification, "x");
    assert_eq!(
        police_system.queue.share_with_agency(agency_sends).await.expect_err("agency").code(),
        Code::PermissionDenied
    );
    for (request, field) in [
        (share(&opened.enquiry_id, "health", InformationProductKind::OperationEncompass, "x"), "agency"),
        (share(&opened.enquiry_id, "probation", InformationProductKind::Notification, "x"), "agency"),
        (share(&opened.enquiry_id, "", InformationProductKind::Notification, "x"), "agency"),
        (share(&opened.enquiry_id, "education", InformationProductKind::Unspecified, "x"), "kind"),
        (share(&opened.enquiry_id, "education", InformationProductKind::Notification, "  "), "text"),
        (share(&opened.enquiry_id, "education", InformationProductKind::Notification, &"x".repeat(2001)), "text"),
    ] {
        let refused = rita.queue.share_with_agency(request).await.expect_err(field);
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert!(refused.message().contains(field), "{field}: {}", refused.message());
    }
    let early_help = pb::CreateEnquiryRequest {
        consent: pb::ConsentState::Refused.into(),
        ..enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Child)])
    };
    let early_help = rita.enquiries.create_enquiry(early_help).await?.into_inner();
    let no_consent = share(&early_help.enquiry_id, "education", InformationProductKind::Notification, "x");
    assert_eq!(
        rita.queue.share_with_agency(no_consent).await.expect_err("no consent").code(),
        Code::FailedPrecondition
    );
    assert_eq!(h.count("broker", "agency_messages WHERE kind = 'information-product'").await?, 2);
    h.stop().await
}

async fn unacknowledged_messages_survive_a_restart_and_are_streamed_again(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened =
        rita.enquiries.create_enquiry(enquiry(Level::Level2ChildInNeed, vec![subject(AMY, Relation::Child)])).await?;
    let enquiry_id = opened.into_inner().enquiry_id;
    let first = share(&enquiry_id, "social-care", InformationProductKind::Notification, "First");
    let first = rita.queue.share_with_agency(first).await?.into_inner().message_id;

    let mut council = h.system.broker_as("agency-social-care").await?;
    let mut stream = council.queue.subscribe_messages(pb::SubscribeMessagesRequest::default()).await?.into_inner();
    let received = next(&mut stream).await?;
    assert_eq!(received.message_id, first);
    drop((stream, council, rita));

    // Received but never acknowledged: the restart must not lose it.
    let h = h.restart().await?;
    let mut council = h.system.broker_as("agency-social-care").await?;
    let mut stream = council.queue.subscribe_messages(pb::SubscribeMessagesRequest::default()).await?.into_inner();
    assert_eq!(next(&mut stream).await?.message_id, first, "delivered again after the restart");
    assert_eq!(ack(&mut council, &[&first]).await?, 1);

    // A message queued while subscribed arrives on the open stream.
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let second = share(&enquiry_id, "social-care", InformationProductKind::Notification, "Second");
    let second = rita.queue.share_with_agency(second).await?.into_inner().message_id;
    assert_eq!(next(&mut stream).await?.message_id, second);
    drop(stream);
    assert_eq!(poll(&mut council).await?.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>(), vec![second]);
    h.stop().await
}

async fn next(stream: &mut tonic::Streaming<pb::AgencyMessage>) -> anyhow::Result<pb::AgencyMessage> {
    let message = tokio::time::timeout(Duration::from_secs(10), stream.next()).await?;
    Ok(message.ok_or_else(|| anyhow::anyhow!("the stream ended"))??)
}
