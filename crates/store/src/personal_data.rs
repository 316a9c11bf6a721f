//! Victims' personal data at rest: sealing the values written before sealing existed (a start-up
//! step) and sealing everything again under the newest data key (`scamtrail data-key rotate`).
//!
//! Both walk the personal columns ([`PersonalField`], investigators' notes among them) in batches, in id order, each batch in one
//! short write transaction, so that they run beside a serving store. Every value names the key
//! that sealed it, so a pass stopped anywhere leaves every value readable, and the next pass
//! picks up what is left. A victim's row gets its distinct-victim key again from the opened
//! e-mail or phone (a keyed MAC; rows from before sealing hold a plain hash).

use scamtrail_core::{DataKeys, PersonalField, SEALED_PREFIX, Victim, note_binding};

use crate::config::KeySource;
use crate::db::{DbErr, Intent, Pool, Value};
use crate::error::StoreError;

/// Rows taken into one transaction.
const BATCH: u64 = 500;

/// Which values a pass seals again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Only values in clear (rows written before sealing).
    Clear,
    /// Every value not sealed under the newest key (a rotation).
    NotNewest,
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResealSummary {
    /// Reports whose narrative was sealed again.
    pub narratives: u64,
    /// Victims' rows whose fields were sealed again.
    pub victims: u64,
    /// Investigators' notes sealed again.
    pub notes: u64,
    /// Values still to seal when the pass stopped at its limit (0 when it finished).
    pub remaining: u64,
}

/// The `LIKE` pattern of the values a pass keeps (already sealed as it wants them).
fn kept(pass: Pass, keys: &DataKeys) -> String {
    match pass {
        Pass::Clear => format!("{SEALED_PREFIX}%"),
        Pass::NotNewest => format!("{SEALED_PREFIX}{}:%", keys.current()),
    }
}

/// `column` needs sealing: not empty, and not as the pass wants it.
fn needs(column: &str) -> String {
    format!("({column} <> '' AND {column} NOT LIKE ?)")
}

fn victims_condition() -> String {
    ["v.name", "v.email", "v.phone", "v.vulnerability_note"].map(needs).join(" OR ")
}

/// The notes a pass walks: investigators' notes on clusters.
const NOTES: &str = "kind = 'note'";

/// How many narratives, victims' rows and investigators' notes a pass would seal.
pub(crate) async fn to_reseal(pool: &Pool, keys: &DataKeys, pass: Pass) -> Result<(u64, u64, u64), StoreError> {
    let pattern = kept(pass, keys);
    let notes: Vec<(i64,)> = pool
        .fetch(
            &format!("SELECT COUNT(*) FROM cluster_events WHERE {NOTES} AND {}", needs("detail")),
            vec![pattern.clone().into()],
        )
        .await?;
    let narratives: Vec<(i64,)> = pool
        .fetch(&format!("SELECT COUNT(*) FROM reports WHERE {}", needs("narrative")), vec![pattern.clone().into()])
        .await?;
    let victims: Vec<(i64,)> = pool
        .fetch(&format!("SELECT COUNT(*) FROM report_victims v WHERE {}", victims_condition()), vec![pattern.into(); 4])
        .await?;
    let count = |rows: Vec<(i64,)>| rows.first().map_or(0, |(n,)| u64::try_from(*n).unwrap_or(0));
    Ok((count(narratives), count(victims), count(notes)))
}

/// Seals again, in batches, the values `pass` names, at most `limit` rows (narratives and
/// victims' rows counted together) when given; `progress(stage, done, total)` after each batch.
pub(crate) async fn reseal(
    pool: &Pool,
    source: &KeySource,
    pass: Pass,
    limit: Option<u64>,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<ResealSummary, StoreError> {
    let keys = source.keys();
    let (narratives, victims, notes) = to_reseal(pool, &keys, pass).await?;
    let mut summary = ResealSummary::default();
    let mut budget = limit.unwrap_or(u64::MAX);
    let pattern = kept(pass, &keys);

    let mut after = 0i64;
    while budget > 0 {
        let take = budget.min(BATCH);
        let rows: Vec<(i64, String, String)> = pool
            .fetch(
                &format!(
                    "SELECT id, reference, narrative FROM reports WHERE id > ? AND {} ORDER BY id LIMIT ?",
                    needs("narrative")
                ),
                vec![after.into(), pattern.clone().into(), (take as i64).into()],
            )
            .await?;
        let Some((last, _, _)) = rows.last() else { break };
        after = *last;
        let mut sealed = Vec::with_capacity(rows.len());
        for (id, reference, stored) in rows {
            let fresh = keys.reseal(PersonalField::Narrative, &reference, &stored).map_err(|e| unreadable(e, id))?;
            sealed.push((id, stored, fresh));
        }
        let done = sealed.len() as u64;
        pool.transaction(Intent::Write, async |tx| {
            for (id, stored, fresh) in &sealed {
                // Only if unchanged: a detail added meanwhile sealed the narrative afresh.
                tx.execute(
                    "UPDATE reports SET narrative = ? WHERE id = ? AND narrative = ?",
                    vec![fresh.clone().into(), (*id).into(), stored.clone().into()],
                )
                .await?;
            }
            Ok::<_, DbErr>(())
        })
        .await?;
        summary.narratives += done;
        budget -= done;
        progress("sealing narratives", summary.narratives, narratives);
    }

    let mut after = 0i64;
    while budget > 0 {
        let take = budget.min(BATCH);
        let mut values: Vec<Value> = vec![after.into()];
        values.extend(std::iter::repeat_n(Value::from(pattern.clone()), 4));
        values.push((take as i64).into());
        let rows: Vec<(i64, String, String, String, String, String)> = pool
            .fetch(
                &format!(
                    "SELECT v.report_id, r.reference, v.name, v.email, v.phone, v.vulnerability_note \
                     FROM report_victims v JOIN reports r ON r.id = v.report_id \
                     WHERE v.report_id > ? AND ({}) ORDER BY v.report_id LIMIT ?",
                    victims_condition()
                ),
                values,
            )
            .await?;
        let Some((last, ..)) = rows.last() else { break };
        after = *last;
        let mut sealed = Vec::with_capacity(rows.len());
        for (id, reference, name, email, phone, note) in rows {
            let open = |field, stored: &str| source.open(field, &reference, stored);
            let victim = Victim {
                email: open(PersonalField::VictimEmail, &email)
                    .or_else(|e| clear(e, &email))
                    .map_err(|e| unreadable(e, id))?,
                phone: open(PersonalField::VictimPhone, &phone)
                    .or_else(|e| clear(e, &phone))
                    .map_err(|e| unreadable(e, id))?,
                ..Victim::default()
            };
            let reseal = |field, stored: &str| keys.reseal(field, &reference, stored).map_err(|e| unreadable(e, id));
            sealed.push((
                id,
                [
                    reseal(PersonalField::VictimName, &name)?,
                    reseal(PersonalField::VictimEmail, &email)?,
                    reseal(PersonalField::VictimPhone, &phone)?,
                    reseal(PersonalField::VulnerabilityNote, &note)?,
                ],
                keys.victim_key(&victim),
            ));
        }
        let done = sealed.len() as u64;
        pool.transaction(Intent::Write, async |tx| {
            for (id, [name, email, phone, note], victim_key) in &sealed {
                tx.execute(
                    "UPDATE report_victims SET name = ?, email = ?, phone = ?, vulnerability_note = ?, victim_key = ? \
                     WHERE report_id = ?",
                    vec![
                        name.clone().into(),
                        email.clone().into(),
                        phone.clone().into(),
                        note.clone().into(),
                        victim_key.clone().into(),
                        (*id).into(),
                    ],
                )
                .await?;
            }
            Ok::<_, DbErr>(())
        })
        .await?;
        summary.victims += done;
        budget -= done;
        progress("sealing victims", summary.victims, victims);
    }
    let mut after = 0i64;
    while budget > 0 {
        let take = budget.min(BATCH);
        let rows: Vec<(i64, i64, String)> = pool
            .fetch(
                &format!(
                    "SELECT id, cluster_id, detail FROM cluster_events WHERE id > ? AND {NOTES} AND {} \
                     ORDER BY id LIMIT ?",
                    needs("detail")
                ),
                vec![after.into(), pattern.clone().into(), (take as i64).into()],
            )
            .await?;
        let Some((last, ..)) = rows.last() else { break };
        after = *last;
        let mut sealed = Vec::with_capacity(rows.len());
        for (id, cluster_id, stored) in rows {
            let fresh = keys
                .reseal(PersonalField::InvestigatorNote, &note_binding(cluster_id), &stored)
                .map_err(|e| StoreError::DataKeys(format!("note {id} of cluster {cluster_id}: {e}")))?;
            sealed.push((id, stored, fresh));
        }
        let done = sealed.len() as u64;
        pool.transaction(Intent::Write, async |tx| {
            for (id, stored, fresh) in &sealed {
                tx.execute(
                    "UPDATE cluster_events SET detail = ? WHERE id = ? AND detail = ?",
                    vec![fresh.clone().into(), (*id).into(), stored.clone().into()],
                )
                .await?;
            }
            Ok::<_, DbErr>(())
        })
        .await?;
        summary.notes += done;
        budget -= done;
        progress("sealing notes", summary.notes, notes);
    }
    let (left_narratives, left_victims, left_notes) = to_reseal(pool, &keys, pass).await?;
    summary.remaining = left_narratives + left_victims + left_notes;
    Ok(summary)
}

/// A value from before sealing reads as the clear text it is.
fn clear(e: scamtrail_core::OpenError, stored: &str) -> Result<String, scamtrail_core::OpenError> {
    match e {
        scamtrail_core::OpenError::NotSealed => Ok(stored.to_owned()),
        other => Err(other),
    }
}

fn unreadable(e: scamtrail_core::OpenError, report: i64) -> StoreError {
    StoreError::DataKeys(format!("report {report}: {e}"))
}
