//! A researcher's confirmation of a possible match, at the gRPC edge. It is
//! logged before it takes effect; later checks of the enquiry then treat the
//! record as a match and disclose it as the policy allows.

use mash_domain::DomainError;
use mash_policy::Action;
use mash_proto::v1 as pb;

use mash_disclosure_log::Outcome;
use mash_domain::Tier;

use super::{enquiries::EnquiryApi, holds::reason};
use crate::{
    BrokerError,
    authz::Call,
    check::digest,
    error::{Conflict, Missing},
};

impl EnquiryApi {
    pub(crate) async fn confirm_match(
        &self,
        call: &Call<'_>,
        request: pb::ConfirmMatchRequest,
    ) -> Result<pb::ConfirmMatchResponse, BrokerError> {
        let reason = reason(&request.reason)?;
        let candidate_id = request.candidate_id.trim();
        if candidate_id.is_empty() {
            return Err(DomainError::invalid("candidate_id", "is required").into());
        }
        let enquiry = self.authz.load_enquiry(&request.enquiry_id).await?;
        call.require_on(Action::EnquiryCheck, &enquiry).await?;
        let candidate = self.candidates.get(enquiry.enquiry_id, candidate_id).await?.ok_or_else(|| {
            BrokerError::NotFound(
                Missing::PossibleMatch,
                format!("no possible match {} in this enquiry", mash_domain::echo(candidate_id)),
            )
        })?;
        let already = || {
            BrokerError::FailedPrecondition(
                Conflict::MatchAlreadyConfirmed,
                format!("possible match {candidate_id} is already confirmed"),
            )
        };
        if !candidate.confirmed_by.is_empty() {
            return Err(already());
        }
        // As with a gatekeeper's reason, the log holds the digest, not the text.
        let logged = format!("possible match {candidate_id} confirmed; reason sha256:{}", digest(reason.as_bytes()));
        let entry = call
            .subject_entry(&enquiry, &candidate.subject_id, candidate.agency)
            .record(&candidate.record_ref, "")?
            .build(Outcome::MatchConfirmed, Tier::None, logged);
        self.log.append(vec![entry.into()]).await?;
        let confirmed_at = crate::now_rfc3339();
        if !self.candidates.confirm(candidate_id, &call.caller, &confirmed_at, reason).await? {
            return Err(already());
        }
        Ok(pb::ConfirmMatchResponse {
            candidate_id: candidate_id.to_owned(),
            confirmed_by: call.caller.to_string(),
            confirmed_at,
        })
    }
}
