//! `IntakeService`: reports in from victim-support frontends, and identifier previews.

use scamtrail_core::{Country, UnixMicros};
use scamtrail_normalize::{Hint, Normalizer};
use scamtrail_proto::v1 as pb;
use scamtrail_store::Store;
use tonic::{Request, Response, Status};

use crate::error;
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
        tracing::info!(report_id = submitted.report_id, replayed = submitted.replayed, "report submitted");
        Ok(Response::new(pb::SubmitReportResponse {
            report_id: submitted.report_id,
            reference: submitted.reference.to_string(),
            received_at: Some(wire::timestamp(submitted.received_at)),
            replayed: submitted.replayed,
            identifiers,
        }))
    }

    async fn normalize_identifiers(
        &self,
        request: Request<pb::NormalizeIdentifiersRequest>,
    ) -> Result<Response<pb::NormalizeIdentifiersResponse>, Status> {
        let req = request.into_inner();
        let mut v = Violations::default();
        if req.values.is_empty() {
            v.required("values");
        }
        v.max_items("values", req.values.len(), NORMALIZE_BATCH_MAX);
        let country = match req.country.trim() {
            "" => None,
            c => {
                let parsed = Country::parse(c);
                if parsed.is_none() {
                    v.add("country", "COUNTRY_UNKNOWN", "not an ISO 3166-1 alpha-2 country code, e.g. GB");
                }
                parsed
            }
        };
        let mut hints = Vec::with_capacity(req.values.len());
        for (i, value) in req.values.iter().enumerate().take(NORMALIZE_BATCH_MAX) {
            match wire::kind_in(value.kind_hint) {
                Ok(kind) => hints.push(Hint { kind, country }),
                Err(_) => v.add(format!("values[{i}].kind_hint"), "UNKNOWN_VALUE", "not a defined identifier kind"),
            }
        }
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
