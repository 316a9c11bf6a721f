//! `TriageService`: investigators read and work reports.

use scamtrail_core::Reference;
use scamtrail_proto::v1 as pb;
use scamtrail_store::Store;
use tonic::{Request, Response, Status};

use crate::error;
use crate::violations::Violations;
use crate::wire;

/// The triage service.
pub struct TriageApi {
    store: Store,
}

impl TriageApi {
    /// A service reading from `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl pb::triage_service_server::TriageService for TriageApi {
    async fn get_report(
        &self,
        request: Request<pb::GetReportRequest>,
    ) -> Result<Response<pb::GetReportResponse>, Status> {
        use pb::get_report_request::Selector;
        let mut v = Violations::default();
        let found = match request.into_inner().selector {
            None => {
                v.required("selector");
                None
            }
            Some(Selector::ReportId(id)) => Some(self.store.report_by_id(id).await.map_err(error::store)?),
            Some(Selector::Reference(typed)) => match Reference::parse(&typed) {
                Ok(reference) => Some(self.store.report_by_reference(&reference).await.map_err(error::store)?),
                Err(e) => {
                    v.add("reference", "INVALID_REFERENCE", e.to_string());
                    None
                }
            },
        };
        v.finish(()).map_err(error::invalid_argument)?;
        match found.flatten() {
            Some(stored) => Ok(Response::new(pb::GetReportResponse { report: Some(wire::stored_report_out(&stored)) })),
            None => Err(Status::not_found("no such report")),
        }
    }
}
