//! `IntakeService`: reports in from victim-support frontends, identifier previews, and the
//! victim's follow-up with the secret returned at submission: status, added details, and the
//! victim's rights over their data (access, erasure, consent).

use std::sync::Arc;

use scamtrail_core::{ClusterStatus, Reference, UnixMicros};
use scamtrail_normalize::Normalizer;
use scamtrail_proto::v1 as pb;
use scamtrail_store::{Erasure, FollowUp, Store};
use tonic::{Request, Response, Status};

use crate::auth::guard::too_many;
use crate::auth::{Caller, GuardState, caller, secrets};
use crate::error;
use crate::lookup;
use crate::violations::Violations;
use crate::wire::{self, Intake};

/// Values in one `NormalizeIdentifiers` call at most.
pub const NORMALIZE_BATCH_MAX: usize = 1_000;

/// Characters of a typed reference at most (`ST-7K3M-9QXD` with room for spaces).
const REFERENCE_MAX_CHARS: usize = 32;

/// The intake service.
pub struct IntakeApi {
    store: Store,
    normalizer: Normalizer,
    guard: Arc<GuardState>,
    /// A follow-up hash of a random secret, checked against when the reference is unknown, so
    /// that an unknown reference costs the same as a wrong secret.
    decoy: String,
}

impl IntakeApi {
    /// A service writing to `store`, normalising with `normalizer`, throttling follow-up guesses
    /// with the guard's state.
    pub fn new(store: Store, normalizer: Normalizer, guard: Arc<GuardState>) -> Self {
        let decoy = secrets::hash(&secrets::new_follow_up_secret(), secrets::FOLLOW_UP_PARAMS);
        Self { store, normalizer, guard, decoy }
    }

    /// The report a victim's reference and secret open, or the same NOT_FOUND for an unknown
    /// reference, a wrong secret or a report without a secret; repeated failures on a reference
    /// make it wait.
    async fn open(&self, reference: &str, secret: &str, who: &Caller) -> Result<FollowUp, Status> {
        let mut v = Violations::default();
        v.max_chars("reference", reference, REFERENCE_MAX_CHARS);
        v.max_chars("secret", secret, 64);
        v.finish(()).map_err(error::invalid_argument)?;
        let mut v = Violations::default();
        let parsed = match Reference::parse(reference) {
            Ok(r) => Some(r),
            Err(e) => {
                v.add("reference", "INVALID_REFERENCE", e.to_string());
                None
            }
        };
        if secret.trim().is_empty() {
            v.required("secret");
        }
        let reference =
            v.finish(parsed).map_err(error::invalid_argument)?.ok_or_else(|| Status::internal("reference"))?;
        let throttle_key = reference.as_str().to_owned();
        self.guard
            .follow_up_attempts
            .attempt(&throttle_key, &who.address_key)
            .map_err(|wait| too_many(crate::auth::guard::Limit::FollowUpPerReference, wait))?;
        let found = self.store.follow_up(&reference).await.map_err(error::store)?;
        let hash = found.as_ref().and_then(|f| f.secret_hash.clone());
        let typed = secrets::canonical_follow_up(secret);
        let matched = secrets::verify(&typed, hash.as_deref().unwrap_or(&self.decoy));
        match found {
            Some(f) if matched && hash.is_some() => {
                self.guard.follow_up_attempts.succeeded(&throttle_key, &who.address_key);
                Ok(f)
            }
            _ => Err(Status::not_found("no report with that reference and secret")),
        }
    }
}

/// What a victim is told when their data is erased at once.
pub const ERASED_MESSAGE: &str = "Your name, contact details, vulnerability note and your account of what happened \
    have been erased. The scammers' details, your payments and their dates are kept without your name, so that \
    your report still helps to link and stop the scam.";

/// What a victim is told when a legal hold keeps their data for now.
pub const HELD_MESSAGE: &str = "Your report is part of an investigation or a referral to the police that is still \
    open, and the law requires it to be kept until that ends. Your request is recorded: your name, contact details, \
    vulnerability note and your account of what happened will be erased as soon as the investigation is closed.";

/// Where a report stands, as a victim is told.
fn progress(status: Option<ClusterStatus>) -> pb::ReportProgress {
    use ClusterStatus as S;
    match status {
        None | Some(S::New) => pb::ReportProgress::Received,
        Some(S::Referred) => pb::ReportProgress::ReferredToPolice,
        Some(S::Closed) => pb::ReportProgress::Closed,
        Some(S::Triaging | S::Assigned | S::RecallRequested | S::Monitoring | S::Merged) => {
            pb::ReportProgress::UnderReview
        }
    }
}

fn status_out(f: &FollowUp) -> pb::GetReportStatusResponse {
    pb::GetReportStatusResponse {
        reference: f.reference.to_string(),
        received_at: Some(wire::timestamp(f.received_at)),
        progress: progress(f.status) as i32,
        details_added: i32::try_from(f.additions).unwrap_or(i32::MAX),
    }
}

#[tonic::async_trait]
impl pb::intake_service_server::IntakeService for IntakeApi {
    async fn submit_report(
        &self,
        request: Request<pb::SubmitReportRequest>,
    ) -> Result<Response<pb::SubmitReportResponse>, Status> {
        let who = caller(&request)?;
        let intake = Intake { normalizer: &self.normalizer, now: UnixMicros::now() };
        let (mut report, identifiers) =
            intake.report_with_outcomes(request.get_ref()).map_err(error::invalid_argument)?;
        report.client_request_id = report.client_request_id.map(|id| wire::scoped_request_id(&who.actor, &id));
        let secret = secrets::new_follow_up_secret();
        report.follow_up_hash = Some(secrets::hash(&secret, secrets::FOLLOW_UP_PARAMS));
        // Kept only when the report can be a replay, to compare it with the stored one.
        let sent = report.client_request_id.is_some().then(|| report.clone());
        let category = report.category;
        let submitted = self.store.submit(report).await.map_err(error::store)?;
        if !submitted.replayed {
            metrics::counter!("scamtrail_reports_submitted_total", "category" => category.as_str()).increment(1);
        }
        who.target(format!("report:{}", submitted.report_id));
        // A client request id reused for another report is refused, as payment APIs refuse an
        // idempotency key reused with another body: answering with the first report would tell
        // whoever guessed the id another victim's reference and cluster.
        if submitted.replayed {
            let stored = self.store.report_by_id(submitted.report_id).await.map_err(error::store)?;
            let same = sent.zip(stored).is_some_and(|(sent, (stored, _))| sent.same_submission(&stored.report));
            if !same {
                return Err(Status::already_exists(
                    "this client_request_id was used for another report; send a new report with a new id",
                ));
            }
        }
        // A replay never hands out a secret: whoever knows a client request id (guessable when a
        // frontend counts) would otherwise take over the victim's follow-up.
        let follow_up_secret = if submitted.replayed {
            who.target("follow-up-secret:not-reissued");
            String::new()
        } else {
            who.target("follow-up-secret:issued");
            secret
        };
        tracing::info!(
            report_id = submitted.report_id,
            cluster_id = submitted.cluster_id,
            replayed = submitted.replayed,
            "report submitted"
        );
        Ok(Response::new(pb::SubmitReportResponse {
            report_id: submitted.report_id,
            reference: submitted.reference.to_string(),
            received_at: Some(wire::timestamp(submitted.received_at)),
            replayed: submitted.replayed,
            identifiers,
            cluster_id: submitted.cluster_id,
            follow_up_secret,
        }))
    }

    async fn normalize_identifiers(
        &self,
        request: Request<pb::NormalizeIdentifiersRequest>,
    ) -> Result<Response<pb::NormalizeIdentifiersResponse>, Status> {
        let req = request.into_inner();
        let mut v = Violations::default();
        let country = lookup::country(&mut v, "country", &req.country);
        let hints = lookup::hints(&mut v, &req.values, country, NORMALIZE_BATCH_MAX);
        v.finish(()).map_err(error::invalid_argument)?;
        let outcomes = req
            .values
            .iter()
            .zip(&hints)
            .map(|(value, hint)| wire::reading_out(&value.value, &self.normalizer.read(&value.value, hint)))
            .collect();
        Ok(Response::new(pb::NormalizeIdentifiersResponse { outcomes }))
    }

    async fn get_report_status(
        &self,
        request: Request<pb::GetReportStatusRequest>,
    ) -> Result<Response<pb::GetReportStatusResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let found = self.open(&req.reference, &req.secret, &who).await?;
        Ok(Response::new(status_out(&found)))
    }

    async fn add_report_details(
        &self,
        request: Request<pb::AddReportDetailsRequest>,
    ) -> Result<Response<pb::AddReportDetailsResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        // Sizes first: an oversized request costs no secret check.
        wire::details_sizes(&req).finish(()).map_err(error::invalid_argument)?;
        let found = self.open(&req.reference, &req.secret, &who).await?;
        who.target(format!("report:{}", found.report_id));
        if found.additions >= scamtrail_core::limits::ADDITIONS_MAX {
            return Err(Status::failed_precondition(format!(
                "details were added to this report {} times, the most it takes; please contact the organisation",
                found.additions
            )));
        }
        let now = UnixMicros::now();
        let dated = format!("added {}", wire::date_time_text(now));
        let intake = Intake { normalizer: &self.normalizer, now };
        let (details, outcomes) = intake.details(&req, found.country, &dated).map_err(error::invalid_argument)?;
        let replayed = self.store.add_details(found.report_id, &details).await.map_err(error::store)?;
        let after = self.store.follow_up(&found.reference).await.map_err(error::store)?.unwrap_or(found);
        tracing::info!(report_id = after.report_id, replayed, "report details added");
        Ok(Response::new(pb::AddReportDetailsResponse {
            replayed,
            identifiers: if replayed { vec![] } else { outcomes },
            status: Some(status_out(&after)),
        }))
    }

    async fn get_my_data(
        &self,
        request: Request<pb::GetMyDataRequest>,
    ) -> Result<Response<pb::GetMyDataResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let found = self.open(&req.reference, &req.secret, &who).await?;
        who.target(format!("report:{}", found.report_id));
        let data = self
            .store
            .my_data(found.report_id)
            .await
            .map_err(error::store)?
            .ok_or_else(|| Status::not_found("no report with that reference and secret"))?;
        Ok(Response::new(pb::GetMyDataResponse {
            report: Some(wire::stored_report_out(&data.report, data.cluster_id)),
            status: Some(status_out(&found)),
            details_added_at: data.additions.iter().map(|&at| wire::timestamp(at)).collect(),
            shared_with: data.shared_with.into_iter().collect(),
            erasure_requested_at: data.erasure_requested_at.map(wire::timestamp),
            erased_at: data.erased_at.map(wire::timestamp),
        }))
    }

    async fn erase_my_data(
        &self,
        request: Request<pb::EraseMyDataRequest>,
    ) -> Result<Response<pb::EraseMyDataResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let found = self.open(&req.reference, &req.secret, &who).await?;
        who.target(format!("report:{}", found.report_id));
        let (outcome, message) = match self.store.request_erasure(found.report_id).await.map_err(error::store)? {
            Erasure::Erased => {
                who.target("erasure:erased");
                (pb::ErasureOutcome::Erased, ERASED_MESSAGE)
            }
            Erasure::Held { .. } => {
                who.target("erasure:pending-legal-hold");
                (pb::ErasureOutcome::PendingLegalHold, HELD_MESSAGE)
            }
        };
        tracing::info!(report_id = found.report_id, outcome = outcome.as_str_name(), "victim's erasure request");
        Ok(Response::new(pb::EraseMyDataResponse { outcome: outcome as i32, message: message.to_owned() }))
    }

    async fn set_my_consent(
        &self,
        request: Request<pb::SetMyConsentRequest>,
    ) -> Result<Response<pb::SetMyConsentResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let found = self.open(&req.reference, &req.secret, &who).await?;
        who.target(format!("report:{}", found.report_id));
        let consent = req.consent_to_share_with_police;
        self.store.set_consent(found.report_id, consent).await.map_err(error::store)?;
        who.target(if consent { "consent:given" } else { "consent:withdrawn" });
        Ok(Response::new(pb::SetMyConsentResponse { consent_to_share_with_police: consent }))
    }
}
