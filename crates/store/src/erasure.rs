//! Erasing a report's personal data on request (an administrator acting on a victim's written
//! request): the victim's name, e-mail, phone and vulnerability note and the narrative with its
//! added details go; what the service needs to go on linking and counting stays (identifiers
//! and their keys, payments, dates, category, country, age band, and the victim's key, a keyed
//! MAC that counts distinct victims without naming anyone).
//!
//! A cluster that is not closed is a legal hold (an investigation or a referral may need the
//! victim's words): nothing is erased while it lasts.

use crate::db::{DbErr, Intent, Pool};
use crate::error::StoreError;

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

/// Erases the personal data of report `report_id` unless its cluster holds it.
pub(crate) async fn erase(pool: &Pool, report_id: i64) -> Result<Erasure, StoreError> {
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
                return Ok(Some(Erasure::Held { status }));
            }
            tx.execute(
                "UPDATE report_victims SET name = '', email = '', phone = '', vulnerability_note = '' \
                 WHERE report_id = ?",
                vec![report_id.into()],
            )
            .await?;
            tx.execute("UPDATE reports SET narrative = '' WHERE id = ?", vec![report_id.into()]).await?;
            Ok(Some(Erasure::Erased))
        })
        .await?;
    done.ok_or(StoreError::NotFound("report"))
}
