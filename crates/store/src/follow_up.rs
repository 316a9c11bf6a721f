//! A victim's follow-up: the report found by its reference (with the hash of its secret, which the
//! server checks), and details added later: payments, identifiers and dated words, linked like a
//! new report's, once per client request id.

use scamtrail_core::{ClusterStatus, NewPayment, PersonalField, Reference, ReportedIdentifier, UnixMicros};

use crate::clustering::{Change, Pending};
use crate::db::entity::{payment, report_identifier};
use crate::db::records::{FirstPositions, trail_rows};
use crate::db::{DbErr, Intent, Pool, Tx, Value, insert_chunked};
use crate::error::StoreError;
use crate::shared::Shared;

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

/// A follow-up's report row: id, secret hash, received, its cluster's status, additions, country.
type FollowUpRow = (i64, Option<String>, i64, Option<String>, i64, Option<String>);

/// What the follow-up calls need of the report with `reference`.
pub(crate) async fn follow_up(pool: &Pool, reference: &Reference) -> Result<Option<FollowUp>, StoreError> {
    let rows: Vec<FollowUpRow> = pool
        .fetch(
            "SELECT r.id, r.follow_up_hash, r.received_at, c.status, \
             (SELECT COUNT(*) FROM report_additions a WHERE a.report_id = r.id), v.country \
             FROM reports r LEFT JOIN clusters c ON c.id = r.cluster_id LEFT JOIN report_victims v ON v.report_id = r.id \
             WHERE r.reference = ?",
            vec![reference.as_str().into()],
        )
        .await?;
    let Some((report_id, secret_hash, received_at, status, additions, country)) = rows.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(FollowUp {
        report_id,
        reference: reference.clone(),
        secret_hash,
        received_at: UnixMicros(received_at),
        status: status
            .map(|s| s.parse())
            .transpose()
            .map_err(|e: scamtrail_core::UnknownName| StoreError::Corrupt(e.to_string()))?,
        additions,
        country: country.and_then(|c| scamtrail_core::Country::parse(&c)),
    }))
}

/// Adds details in one clustering transaction; returns whether the request was a replay, and
/// the cluster events to broadcast.
pub(crate) async fn add_details(
    shared: &Shared,
    report_id: i64,
    details: &NewDetails,
) -> Result<(bool, Pending), StoreError> {
    let done = shared
        .pool
        .transaction(Intent::Cluster, async |tx| {
            let mut change = Change::new(tx, &shared.clusters, UnixMicros::now());
            if let Some(key) = &details.client_request_id {
                // `SELECT 1` is an INTEGER on PostgreSQL, read as such.
                let known: Vec<(i32,)> = tx
                    .fetch(
                        "SELECT 1 FROM report_additions WHERE report_id = ? AND client_request_id = ?",
                        vec![report_id.into(), key.clone().into()],
                    )
                    .await?;
                if !known.is_empty() {
                    return Ok::<_, DbErr>((true, change.pending));
                }
            }
            tx.execute(
                "INSERT INTO report_additions (report_id, client_request_id, added_at) VALUES (?, ?, ?)",
                vec![report_id.into(), details.client_request_id.clone().into(), change.now.0.into()],
            )
            .await?;
            let first = first_positions(&tx, report_id).await?;
            let (mut payments, mut identifiers) = (vec![], vec![]);
            let trail = (&details.payments[..], &details.identifiers[..], &details.suggested[..]);
            trail_rows(report_id, trail, first, &mut payments, &mut identifiers);
            insert_chunked::<payment::Entity, _>(&tx, payments).await?;
            insert_chunked::<report_identifier::Entity, _>(&tx, identifiers).await?;
            if !details.narrative.is_empty() {
                // The narrative is sealed: opened, extended and sealed again, in this transaction
                // (which holds the write lock, so no other addition interleaves).
                let rows: Vec<(String, String)> =
                    tx.fetch("SELECT reference, narrative FROM reports WHERE id = ?", vec![report_id.into()]).await?;
                let (reference, stored) =
                    rows.into_iter().next().ok_or_else(|| DbErr::Custom(format!("report {report_id} is gone")))?;
                let mut narrative = shared
                    .keys
                    .open(PersonalField::Narrative, &reference, &stored)
                    .map_err(|e| DbErr::Custom(format!("reports.narrative of report {report_id}: {e}")))?;
                narrative.push_str(&details.narrative);
                let keys = shared.keys.keys();
                // Words added after an erasure are held again: a pending request applies to them.
                tx.execute(
                    "UPDATE reports SET narrative = ?, erased_at = NULL WHERE id = ?",
                    vec![Value::from(keys.seal(PersonalField::Narrative, &reference, &narrative)), report_id.into()],
                )
                .await?;
            }
            let namings = scamtrail_core::namings_of_report(&details.payments, &details.identifiers);
            // New payments or identifiers put a resting cluster back into triage; words alone do not.
            let reopen = !details.payments.is_empty() || !details.identifiers.is_empty();
            change.add_links(report_id, &namings, reopen).await?;
            Ok((false, change.pending))
        })
        .await?;
    Ok(done)
}

/// The positions after a report's existing payments, typed identifiers and suggestions, in one query.
async fn first_positions(tx: &Tx<'_>, report_id: i64) -> Result<FirstPositions, DbErr> {
    let rows: Vec<(Option<i32>, Option<i32>, Option<i32>)> = tx
        .fetch(
            "SELECT (SELECT MAX(position) FROM payments WHERE report_id = ?), \
             (SELECT MAX(position) FROM report_identifiers WHERE report_id = ? AND payment_position IS NULL AND NOT suggested), \
             (SELECT MAX(position) FROM report_identifiers WHERE report_id = ? AND payment_position IS NULL AND suggested)",
            vec![report_id.into(), report_id.into(), report_id.into()],
        )
        .await?;
    let (payment, typed, suggested) = rows.into_iter().next().unwrap_or_default();
    let next = |max: Option<i32>| max.map_or(0, |m| usize::try_from(m).unwrap_or(0) + 1);
    Ok(FirstPositions { payment: next(payment), typed: next(typed), suggested: next(suggested) })
}

/// Everything stored about a victim's report, for the victim (the right of access).
#[derive(Debug, Clone, PartialEq)]
pub struct MyData {
    /// The report as stored, the victim's data and narrative opened (blank once erased).
    pub report: scamtrail_core::StoredReport,
    /// Its cluster, when it has one.
    pub cluster_id: Option<i64>,
    /// When details were added, oldest first.
    pub additions: Vec<UnixMicros>,
    /// The agency its cluster was referred to, when it was and the victim consented to share
    /// the report with the police (without consent a referral carries nothing of it).
    pub shared_with: Option<String>,
    /// When the victim asked for erasure during a legal hold, if they did.
    pub erasure_requested_at: Option<UnixMicros>,
    /// When the personal data and free text were erased, if they were.
    pub erased_at: Option<UnixMicros>,
}

/// When erasure was asked for and done, the cluster's referral, and the victim's consent.
type RightsRow = (Option<i64>, Option<i64>, Option<String>, Option<bool>);

/// Everything stored about report `report_id`, or `None` for an unknown report.
pub(crate) async fn my_data(
    pool: &Pool,
    keys: &crate::config::KeySource,
    report_id: i64,
) -> Result<Option<MyData>, StoreError> {
    let Some((report, cluster_id)) = crate::intake::report(pool, keys, crate::db::ReportKey::Id(report_id)).await?
    else {
        return Ok(None);
    };
    let additions: Vec<(i64,)> = pool
        .fetch("SELECT added_at FROM report_additions WHERE report_id = ? ORDER BY added_at", vec![report_id.into()])
        .await?;
    let rows: Vec<RightsRow> = pool
        .fetch(
            "SELECT r.erasure_requested_at, r.erased_at, c.referred_to, v.consent_to_share_police \
             FROM reports r LEFT JOIN clusters c ON c.id = r.cluster_id LEFT JOIN report_victims v ON v.report_id = r.id \
             WHERE r.id = ?",
            vec![report_id.into()],
        )
        .await?;
    let (requested, erased, referred_to, consent) = rows.into_iter().next().unwrap_or_default();
    Ok(Some(MyData {
        report,
        cluster_id,
        additions: additions.into_iter().map(|(at,)| UnixMicros(at)).collect(),
        shared_with: referred_to.filter(|_| consent == Some(true)),
        erasure_requested_at: requested.map(UnixMicros),
        erased_at: erased.map(UnixMicros),
    }))
}
