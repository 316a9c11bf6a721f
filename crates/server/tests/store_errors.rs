//! Store failures the guard meets (an audit event that cannot be appended, credentials that
//! cannot be read) become statuses in `error.rs`, like every other store error.

use scamtrail_server::error;
use scamtrail_store::StoreError;
use tonic::Code;

#[test]
fn an_unwritable_audit_trail_refuses_the_call_as_unavailable() {
    for err in [StoreError::Audit("disk full".into()), StoreError::Closed] {
        let status = error::audit_unwritten(&err);
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(status.message(), "the audit trail cannot be written; retry");
    }
}

#[test]
fn unreadable_credentials_refuse_the_call_as_unavailable() {
    let status = error::credentials_unreadable(&StoreError::Busy);
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "cannot check credentials now; retry");
}
