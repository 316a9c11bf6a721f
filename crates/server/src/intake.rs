//! `IntakeService`: reports in from victim-support frontends, and identifier previews.

use scamtrail_core::UnixMicros;
use scamtrail_normalize::Normalizer;
use scamtrail_proto::v1 as pb;
use scamtrail_store::Store;
use tonic::{Request, Response, Status};

use crate::error;
use crate::lookup;
use crate::violations::Violations;
use crate::wire::{self, Intake};

/// Values in one `NormalizeIdentifiers` call at most.
pub const NORMALIZE_BATCH_MAX: usize = 1_000;

/// The intake service.
pub struct IntakeApi {
    store: Store,
    normalizer: Normalizer,
}

impl IntakeApi {
    /// A service writing to `store` and normalising with `normalizer`.
    pub fn new(store: Store, normalizer: Normalizer) -> Self {
        Self { store, normalizer }
    }
}

#[tonic::async_trait]
impl pb::intake_service_server::IntakeService for IntakeApi {
    async fn submit_report(
        &self,
        request: Request<pb::SubmitReportRequest>,
    ) -> Result<Response<pb::SubmitReportResponse>, Status> {
        let intake = Intake { normalizer: &self.normalizer, now: UnixMicros::now() };
        let report = intake.report(request.get_ref()).map_err(error::invalid_argument)?;
        let identifiers = wire::submitted_outcomes(&report);
        let submitted = self.store.submit(report).await.map_err(error::store)?;
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
            .map(|(value, hint)| wire::preview_out(&value.value, &self.normalizer.normalize(&value.value, hint)))
            .collect();
        Ok(Response::new(pb::NormalizeIdentifiersResponse { outcomes }))
    }
}
