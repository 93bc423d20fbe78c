//! A researcher's confirmation of a possible match, at the gRPC edge. It is
//! logged before it takes effect; later checks of the enquiry then treat the
//! record as a match and disclose it as the policy allows.

use mash_domain::{DomainError, Identity};
use mash_policy::{Action, access::Scope};
use mash_proto::v1 as pb;

use mash_disclosure_log::Outcome;
use mash_domain::Tier;

use crate::{BrokerError, check::digest, gatekeeper::reason, service::BrokerService};

impl BrokerService {
    pub(crate) async fn confirm_match(
        &self,
        caller: Identity,
        request: pb::ConfirmMatchRequest,
    ) -> Result<pb::ConfirmMatchResponse, BrokerError> {
        let reason = reason(&request.reason)?;
        let candidate_id = request.candidate_id.trim();
        if candidate_id.is_empty() {
            return Err(DomainError::invalid("candidate_id", "is required").into());
        }
        let enquiry = self.load_enquiry(&request.enquiry_id).await?;
        let scope = Scope::Enquiry { assigned_to_caller: enquiry.assigned_researcher == caller };
        self.require(&caller, Action::EnquiryCheck, scope, Some(enquiry.as_ref())).await?;
        let candidate = self
            .candidates
            .get(enquiry.enquiry_id, candidate_id)
            .await?
            .ok_or_else(|| BrokerError::NotFound(format!("no possible match {candidate_id} in this enquiry")))?;
        let already = || BrokerError::FailedPrecondition(format!("possible match {candidate_id} is already confirmed"));
        if !candidate.confirmed_by.is_empty() {
            return Err(already());
        }
        // As with a gatekeeper's reason, the log holds the digest, not the text.
        let logged = format!("possible match {candidate_id} confirmed; reason sha256:{}", digest(reason.as_bytes()));
        let entry = self
            .subject_entry(&caller, &enquiry, &candidate.subject_id, candidate.agency)
            .record(&candidate.record_ref, "")?
            .build(Outcome::MatchConfirmed, Tier::None, logged);
        self.log.append(vec![entry.into()]).await?;
        let confirmed_at = crate::now_rfc3339();
        if !self.candidates.confirm(candidate_id, &caller, &confirmed_at, reason).await? {
            return Err(already());
        }
        Ok(pb::ConfirmMatchResponse {
            candidate_id: candidate_id.to_owned(),
            confirmed_by: caller.to_string(),
            confirmed_at,
        })
    }
}
