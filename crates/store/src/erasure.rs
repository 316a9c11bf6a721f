//! Erasing a report's personal data: on request (an administrator acting on a victim's written
//! request, or the victim through the follow-up) and by the retention policy. The victim's name,
//! e-mail, phone and vulnerability note and the narrative with its added details go; what the
//! service needs to go on linking and counting stays (identifiers and their keys, payments,
//! dates, category, country, age band, consent, and the victim's key, a keyed MAC that counts
//! distinct victims without naming anyone).
//!
//! A cluster that is not closed is a legal hold (an investigation or a referral may need the
//! victim's words): nothing is erased while it lasts. A victim's request made during a hold is
//! recorded (`reports.erasure_requested_at`) and applied by the next retention pass after the
//! cluster is closed. A closed cluster's reports are due under the retention policy once the
//! cluster's last status change (its closing, or a later change) is older than the policy.

use scamtrail_core::UnixMicros;

use crate::db::{DbErr, Intent, Pool, Tx};
use crate::error::StoreError;

/// Reports erased in one transaction of a retention pass.
pub const RETENTION_BATCH: u64 = 500;

/// What an erasure request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    /// The personal data and free text are gone.
    Erased,
    /// Nothing was erased: the report's cluster is in this status (not closed).
    Held {
        /// The cluster's status, which holds the data.
        status: String,
    },
}

/// Erases the personal data of report `report_id` unless its cluster holds it; with `record`,
/// a held request is recorded, to be applied when the hold ends.
pub(crate) async fn erase(pool: &Pool, report_id: i64, record: bool) -> Result<Erasure, StoreError> {
    let now = UnixMicros::now();
    let done = pool
        .transaction(Intent::Write, async |tx| {
            let status: Vec<(Option<String>,)> = tx
                .fetch(
                    "SELECT c.status FROM reports r LEFT JOIN clusters c ON c.id = r.cluster_id WHERE r.id = ?",
                    vec![report_id.into()],
                )
                .await?;
            let Some((status,)) = status.into_iter().next() else { return Ok::<_, DbErr>(None) };
            if let Some(status) = status.filter(|s| s != "closed") {
                if record {
                    tx.execute(
                        "UPDATE reports SET erasure_requested_at = ? WHERE id = ? AND erasure_requested_at IS NULL",
                        vec![now.0.into(), report_id.into()],
                    )
                    .await?;
                }
                return Ok(Some(Erasure::Held { status }));
            }
            wipe(&tx, report_id, now).await?;
            Ok(Some(Erasure::Erased))
        })
        .await?;
    done.ok_or(StoreError::NotFound("report"))
}

/// Blanks one report's personal columns and free text, and dates the erasure.
async fn wipe(tx: &Tx<'_>, report_id: i64, now: UnixMicros) -> Result<(), DbErr> {
    tx.execute(
        "UPDATE report_victims SET name = '', email = '', phone = '', vulnerability_note = '' WHERE report_id = ?",
        vec![report_id.into()],
    )
    .await?;
    tx.execute("UPDATE reports SET narrative = '', erased_at = ? WHERE id = ?", vec![now.0.into(), report_id.into()])
        .await?;
    Ok(())
}

/// The reports not yet erased whose cluster is closed and whose data is due: a victim asked, or
/// (with `closed_before`) the cluster's last status change is older than it. At most `limit`, by
/// id, after `after`.
const DUE: &str = "SELECT r.id FROM reports r JOIN clusters c ON c.id = r.cluster_id \
     WHERE r.id > ? AND r.erased_at IS NULL AND c.status = 'closed' AND (r.erasure_requested_at IS NOT NULL \
     OR (SELECT MAX(e.at) FROM cluster_events e WHERE e.cluster_id = c.id AND e.kind = 'status_changed') < ?) \
     ORDER BY r.id LIMIT ?";

/// Reports due for erasure (see [`DUE`]); `closed_before` `None` takes only victims' requests.
pub(crate) async fn due(
    pool: &Pool,
    closed_before: Option<UnixMicros>,
    after: i64,
    limit: u64,
) -> Result<Vec<i64>, StoreError> {
    // No policy: a cut-off before every instant, so that only requests match.
    let cutoff = closed_before.map_or(i64::MIN, |c| c.0);
    let rows: Vec<(i64,)> =
        pool.fetch(DUE, vec![after.into(), cutoff.into(), i64::try_from(limit).unwrap_or(i64::MAX).into()]).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Erases those of `candidates` that are still due, checking each again inside one transaction
/// (a cluster reopened meanwhile holds its reports again); returns the reports erased.
pub(crate) async fn erase_due(
    pool: &Pool,
    closed_before: Option<UnixMicros>,
    candidates: &[i64],
) -> Result<Vec<i64>, StoreError> {
    let now = UnixMicros::now();
    let cutoff = closed_before.map_or(i64::MIN, |c| c.0);
    let erased = pool
        .transaction(Intent::Write, async |tx| {
            let mut erased = Vec::with_capacity(candidates.len());
            for &id in candidates {
                let still: Vec<(i64,)> =
                    tx.fetch(DUE, vec![id.saturating_sub(1).into(), cutoff.into(), 1i64.into()]).await?;
                if still.first().is_some_and(|(found,)| *found == id) {
                    wipe(&tx, id, now).await?;
                    erased.push(id);
                }
            }
            Ok::<_, DbErr>(erased)
        })
        .await?;
    Ok(erased)
}

/// The retention policy's work on one database: which reports are due, and erasing them, a
/// batch at a time, so that the caller records each batch in the audit trail before it goes.
#[derive(Clone)]
pub struct Retention {
    pub(crate) pool: Pool,
    /// Reports of clusters closed before this instant are due; `None`: only victims' requests.
    pub(crate) closed_before: Option<UnixMicros>,
}

impl Retention {
    /// At most `limit` due reports after report id `after`, by id.
    pub async fn due(&self, after: i64, limit: u64) -> Result<Vec<i64>, StoreError> {
        due(&self.pool, self.closed_before, after, limit).await
    }

    /// Erases those of `candidates` still due; returns the reports erased.
    pub async fn erase(&self, candidates: &[i64]) -> Result<Vec<i64>, StoreError> {
        erase_due(&self.pool, self.closed_before, candidates).await
    }

    /// Closes the connections of a retention opened on its own (`scamtrail retention run`).
    pub async fn close(self) -> Result<(), StoreError> {
        Ok(self.pool.close().await?)
    }
}
