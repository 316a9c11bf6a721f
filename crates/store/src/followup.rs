//! A victim's follow-up: the report found by its reference (with the hash of its secret, which the
//! server checks), and details added later: payments, identifiers and dated words, linked like a
//! new report's, once per client request id.

use scamtrail_core::{ClusterStatus, NewPayment, Reference, ReportedIdentifier, UnixMicros};
use sea_orm::{DbErr, Value};

use crate::clustering::{self, Pending};
use crate::entity::{payment, report_identifier};
use crate::rows::{FirstPositions, trail_rows};
use crate::sql::{execute, query};
use crate::tx::Tx;
use crate::writer::{self, typed_link_keys};
use crate::{Shared, StoreError};

/// What the follow-up calls need of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    /// The report.
    pub report_id: i64,
    /// Its reference.
    pub reference: Reference,
    /// The argon2id hash of its secret; `None` for reports stored before secrets existed.
    pub secret_hash: Option<String>,
    /// When it was received.
    pub received_at: UnixMicros,
    /// Its cluster's status.
    pub status: Option<ClusterStatus>,
    /// How many times details were added.
    pub additions: i64,
    /// The victim's country, to read national numbers and accounts in added details.
    pub country: Option<scamtrail_core::Country>,
}

/// Details a victim adds to a report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewDetails {
    /// Payments not reported before.
    pub payments: Vec<NewPayment>,
    /// Identifiers not reported before.
    pub identifiers: Vec<ReportedIdentifier>,
    /// Identifiers found in the added words (suggestions; they never link).
    pub suggested: Vec<ReportedIdentifier>,
    /// More words, appended to the narrative as given (the caller dates them); empty adds none.
    pub narrative: String,
    /// The client's idempotency key.
    pub client_request_id: Option<String>,
}

pub(crate) async fn follow_up(
    db: &impl sea_orm::ConnectionTrait,
    reference: &Reference,
) -> Result<Option<FollowUp>, StoreError> {
    let rows = query(
        db,
        "SELECT r.id, r.follow_up_hash, r.received_at, c.status, \
         (SELECT COUNT(*) FROM report_additions a WHERE a.report_id = r.id), v.country \
         FROM reports r LEFT JOIN clusters c ON c.id = r.cluster_id LEFT JOIN report_victims v ON v.report_id = r.id \
         WHERE r.reference = ?",
        vec![reference.as_str().into()],
    )
    .await?;
    let Some(r) = rows.first() else { return Ok(None) };
    let status: Option<String> = r.try_get_by_index(3)?;
    Ok(Some(FollowUp {
        report_id: r.try_get_by_index(0)?,
        reference: reference.clone(),
        secret_hash: r.try_get_by_index(1)?,
        received_at: UnixMicros(r.try_get_by_index(2)?),
        status: status
            .map(|s| s.parse())
            .transpose()
            .map_err(|e: scamtrail_core::UnknownName| StoreError::Corrupt(e.to_string()))?,
        additions: r.try_get_by_index(4)?,
        country: r.try_get_by_index::<Option<String>>(5)?.and_then(|c| scamtrail_core::Country::parse(&c)),
    }))
}

/// Adds details in one clustering transaction; returns whether the request was a replay.
pub(crate) async fn add_details(
    shared: &Shared,
    report_id: i64,
    details: &NewDetails,
) -> Result<(bool, Pending), StoreError> {
    let txn = writer::begin_clustering(&shared.db).await?;
    let now = UnixMicros::now();
    let mut pending = Pending::default();
    if let Some(key) = &details.client_request_id {
        let known = query(
            &txn,
            "SELECT 1 FROM report_additions WHERE report_id = ? AND client_request_id = ?",
            vec![report_id.into(), key.clone().into()],
        )
        .await?;
        if !known.is_empty() {
            txn.rollback().await?;
            return Ok((true, pending));
        }
    }
    execute(
        &txn,
        "INSERT INTO report_additions (report_id, client_request_id, added_at) VALUES (?, ?, ?)",
        vec![report_id.into(), details.client_request_id.clone().into(), now.0.into()],
    )
    .await?;
    let first = first_positions(&txn, report_id).await?;
    let (mut payments, mut identifiers) = (vec![], vec![]);
    let trail = (&details.payments[..], &details.identifiers[..], &details.suggested[..]);
    trail_rows(report_id, trail, first, &mut payments, &mut identifiers);
    writer::insert_chunked::<payment::Entity, _>(&Tx::Orm(&txn), payments).await?;
    writer::insert_chunked::<report_identifier::Entity, _>(&Tx::Orm(&txn), identifiers).await?;
    if !details.narrative.is_empty() {
        execute(
            &txn,
            "UPDATE reports SET narrative = narrative || ? WHERE id = ?",
            vec![Value::from(details.narrative.clone()), report_id.into()],
        )
        .await?;
    }
    let keys = typed_link_keys(&details.payments, &details.identifiers);
    // New payments or identifiers put a resting cluster back into triage; words alone do not.
    let reopen = !details.payments.is_empty() || !details.identifiers.is_empty();
    clustering::add_links(&Tx::Orm(&txn), &shared.clusters, &mut pending, now, report_id, &keys, reopen).await?;
    txn.commit().await?;
    Ok((false, pending))
}

/// The positions after a report's existing payments, typed identifiers and suggestions, in one query.
async fn first_positions(txn: &sea_orm::DatabaseTransaction, report_id: i64) -> Result<FirstPositions, DbErr> {
    let rows = query(
        txn,
        "SELECT (SELECT MAX(position) FROM payments WHERE report_id = ?), \
         (SELECT MAX(position) FROM report_identifiers WHERE report_id = ? AND payment_position IS NULL AND NOT suggested), \
         (SELECT MAX(position) FROM report_identifiers WHERE report_id = ? AND payment_position IS NULL AND suggested)",
        vec![report_id.into(), report_id.into(), report_id.into()],
    )
    .await?;
    let next = |i: usize| -> Result<usize, DbErr> {
        let max: Option<i32> = rows.first().map(|r| r.try_get_by_index(i)).transpose()?.flatten();
        Ok(max.map_or(0, |m| usize::try_from(m).unwrap_or(0) + 1))
    };
    Ok(FirstPositions { payment: next(0)?, typed: next(1)?, suggested: next(2)? })
}
