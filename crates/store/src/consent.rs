//! What a victim agreed to: consent to share the report with the police
//! (`report_victims.consent_to_share_police`), read for the outward paths that show reports to
//! liaisons (whether a role sees a report is core's `Role::sees_report`), and changed by the
//! victim through the follow-up.

use std::collections::HashSet;

use crate::db::{DbErr, IN_CHUNK, Intent, Pool, Reader, Value, placeholders};
use crate::error::StoreError;

/// Which of `reports` have a victim who consented to share them with the police (a report
/// without a victim block has nobody's consent).
pub(crate) async fn consenting(db: &Reader, reports: &[i64]) -> Result<HashSet<i64>, StoreError> {
    let mut out = HashSet::new();
    for chunk in reports.chunks(IN_CHUNK) {
        let values: Vec<Value> = chunk.iter().map(|&i| Value::from(i)).collect();
        let sql = format!(
            "SELECT report_id FROM report_victims WHERE consent_to_share_police AND report_id IN ({})",
            placeholders(chunk.len())
        );
        out.extend(db.fetch::<(i64,)>(&sql, values).await?.into_iter().map(|(id,)| id));
    }
    Ok(out)
}

/// Sets the victim's consent on report `report_id` (a report stored without a victim block gets
/// one holding only the consent); `NotFound` for an unknown report.
pub(crate) async fn set(pool: &Pool, report_id: i64, consent: bool) -> Result<(), StoreError> {
    let found = pool
        .transaction(Intent::Write, async |tx| {
            let known: Vec<(i64,)> = tx.fetch("SELECT id FROM reports WHERE id = ?", vec![report_id.into()]).await?;
            if known.is_empty() {
                return Ok::<_, DbErr>(false);
            }
            let changed = tx
                .execute(
                    "UPDATE report_victims SET consent_to_share_police = ? WHERE report_id = ?",
                    vec![consent.into(), report_id.into()],
                )
                .await?;
            if changed == 0 {
                tx.execute(
                    "INSERT INTO report_victims (report_id, name, email, phone, declared_vulnerable, \
                     vulnerability_note, consent_to_share_police) VALUES (?, '', '', '', ?, '', ?)",
                    vec![report_id.into(), false.into(), consent.into()],
                )
                .await?;
            }
            Ok(true)
        })
        .await?;
    if found { Ok(()) } else { Err(StoreError::NotFound("report")) }
}
