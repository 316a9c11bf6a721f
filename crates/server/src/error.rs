//! The one place where internal errors become gRPC statuses.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::violations::Violations;

/// Bytes of the human-readable summary in an `INVALID_ARGUMENT` message at most.
const SUMMARY_MAX_BYTES: usize = 1_024;
/// Bytes of the violations in the details at most. The details also repeat the message, and
/// travel in base64 (a third more): with the message this keeps a rejection's trailers under
/// 9 KiB, well within the 16 KiB of headers that HTTP/2 clients accept by default.
const DETAILS_MAX_BYTES: usize = 4_500;

/// `INVALID_ARGUMENT` with `google.rpc.BadRequest` naming every bad field: as many of the first
/// [`crate::violations::LISTED_MAX`] as fit in [`DETAILS_MAX_BYTES`]; the message says how many
/// more there were.
pub fn invalid_argument(violations: Violations) -> Status {
    let mut fields = Vec::new();
    let mut bytes = 0;
    for v in violations.listed() {
        // A violation's share of the encoded BadRequest: its three strings and their framing.
        bytes += v.field.len() + v.description.len() + v.reason.len() + 10;
        if bytes > DETAILS_MAX_BYTES {
            break;
        }
        fields.push(FieldViolation {
            field: v.field.clone(),
            description: v.description.clone(),
            reason: v.reason.to_owned(),
            localized_message: None,
        });
    }
    let unlisted = violations.unlisted() + (violations.listed().len() - fields.len());
    let mut summary = String::new();
    for v in &fields {
        let part = format!("{}{}: {}", if summary.is_empty() { "" } else { "; " }, v.field, v.description);
        if summary.len() + part.len() > SUMMARY_MAX_BYTES {
            summary.push_str("; ...");
            break;
        }
        summary.push_str(&part);
    }
    if unlisted > 0 {
        summary.push_str(&format!(" (and {unlisted} more bad fields not listed)"));
    }
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

/// The audit trail could not take an audited call's event: the call is refused (a read is not
/// answered, a change not made); the failure goes to the log.
pub fn audit_unwritten(err: &scamtrail_store::StoreError) -> Status {
    tracing::error!(error = %err, "cannot append to the audit trail; refusing the call");
    Status::unavailable("the audit trail cannot be written; retry")
}

/// A caller's credentials could not be read: the call is refused for now; the failure goes to
/// the log.
pub fn credentials_unreadable(err: &scamtrail_store::StoreError) -> Status {
    tracing::error!(error = %err, "cannot read credentials");
    Status::unavailable("cannot check credentials now; retry")
}
