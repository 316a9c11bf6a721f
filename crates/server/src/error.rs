//! The one place where internal errors become gRPC statuses.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, LocalizedMessage, StatusExt};

use crate::localized;
use crate::violations::Violations;

/// Bytes of the human-readable summary in an `INVALID_ARGUMENT` message at most.
const SUMMARY_MAX_BYTES: usize = 1_024;
/// Bytes of the violations in the details at most. The details also repeat the message, and
/// travel in base64 (a third more): with the message this keeps a rejection's trailers under
/// 9 KiB, well within the 16 KiB of headers that HTTP/2 clients accept by default.
const DETAILS_MAX_BYTES: usize = 4_500;

/// `INVALID_ARGUMENT` with `google.rpc.BadRequest` naming every bad field: as many of the first
/// [`crate::violations::LISTED_MAX`] as fit in [`DETAILS_MAX_BYTES`]; the message says how many
/// more there were. Each field carries its message in the caller's language
/// (`localized_message`, [`localized::current`]), and a `google.rpc.LocalizedMessage` sums them up.
pub fn invalid_argument(violations: Violations) -> Status {
    let language = localized::current();
    let locale = language.locale();
    let mut fields = Vec::new();
    // The summary's share of the details counts against the same bound.
    let mut bytes = 48;
    for v in violations.listed() {
        let localized = localized::field_message(language, v.reason, &v.description);
        // A violation's share of the encoded BadRequest: its strings and their framing.
        bytes += v.field.len() + v.description.len() + v.reason.len() + localized.len() + locale.len() + 16;
        if bytes > DETAILS_MAX_BYTES {
            break;
        }
        fields.push(FieldViolation {
            field: v.field.clone(),
            description: v.description.clone(),
            reason: v.reason.to_owned(),
            localized_message: Some(LocalizedMessage { locale: locale.to_owned(), message: localized }),
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
    let mut details = ErrorDetails::with_bad_request(fields);
    details.set_localized_message(
        locale,
        localized::invalid_summary(language, violations.listed().len() + violations.unlisted()),
    );
    Status::with_error_details(Code::InvalidArgument, format!("invalid request: {summary}"), details)
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
        E::StaleVersion { .. }
        | E::Merged { .. }
        | E::Transition(_)
        | E::NotClaimed(_)
        | E::TooManyTags { .. }
        | E::LinkRemoved(_) => Status::failed_precondition(err.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::localized::{Language, in_language};

    #[test]
    fn a_french_rejection_of_a_thousand_long_violations_stays_within_its_bounds() {
        let mut violations = Violations::default();
        for i in 0..1_000 {
            violations.add(
                format!("report.payments[{i}].beneficiaries[9].value"),
                "TOO_LONG",
                "at most 512 characters ".repeat(9),
            );
        }
        let status = in_language(Language::Fr, || invalid_argument(violations));
        assert!(status.message().len() <= SUMMARY_MAX_BYTES + 64, "{}", status.message().len());
        // The details repeat the message; base64 adds a third on the wire.
        assert!(status.details().len() <= DETAILS_MAX_BYTES + SUMMARY_MAX_BYTES + 256, "{}", status.details().len());
        assert!(status.message().len() + status.details().len().div_ceil(3) * 4 <= 10 * 1024);
        let bad = status.get_details_bad_request().unwrap();
        assert!(bad.field_violations.len() >= 10, "{}", bad.field_violations.len());
        for v in &bad.field_violations {
            let m = v.localized_message.as_ref().unwrap();
            assert_eq!(
                (m.locale.as_str(), m.message.as_str()),
                ("fr", "Ce texte est trop long (au plus 512 caractères).")
            );
        }
        let summary = status.get_details_localized_message().unwrap();
        assert_eq!(summary.message, "1000 réponses sont à corriger.");
    }
}
