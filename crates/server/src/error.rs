//! The one place where internal errors become gRPC statuses.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::violations::Violation;

/// `INVALID_ARGUMENT` with `google.rpc.BadRequest` naming every bad field.
pub fn invalid_argument(violations: Vec<Violation>) -> Status {
    let summary = violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; ");
    let fields = violations
        .into_iter()
        .map(|v| FieldViolation {
            field: v.field,
            description: v.description,
            reason: v.reason.to_owned(),
            localized_message: None,
        })
        .collect::<Vec<_>>();
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid request: {summary}"),
        ErrorDetails::with_bad_request(fields),
    )
}

/// Maps a store failure; internal details go to the log, not to the caller.
pub fn store(err: scamtrail_store::StoreError) -> Status {
    use scamtrail_store::StoreError as E;
    match err {
        E::Closed => Status::unavailable("the server is shutting down; retry"),
        E::Busy => Status::unavailable(err.to_string()),
        E::AlreadyExists(_) => Status::already_exists(err.to_string()),
        E::Forbidden(why) => Status::permission_denied(why),
        E::NotFound(_) => Status::not_found(err.to_string()),
        E::StaleVersion { .. } | E::Merged { .. } | E::Transition(_) | E::NotClaimed(_) => {
            Status::failed_precondition(err.to_string())
        }
        other => {
            tracing::error!(error = %other, "store failure");
            Status::internal("internal storage error")
        }
    }
}
