//! Intake: reports in and out. The report writer takes the reports waiting into one transaction
//! (group commit, [`crate::group_commit`]), inserts them, links them into clusters in that same
//! transaction ([`crate::clustering`]), and answers each caller after the commit that holds its
//! report; a batch that fails (say, another instance inserting the same client request id) is
//! retried report by report, so one bad report never fails its neighbours. Cluster events are
//! broadcast after the commit. Reads of a whole report (`GetReport`) go to the pool.
//!
//! The writer runs on a thread of its own. On a SQLite file its transactions run on its own
//! rusqlite connection (`db::Writer`); on PostgreSQL and in-memory SQLite, on the pool.

use std::collections::HashMap;
use std::sync::Arc;

use scamtrail_core::{
    AgeBand, Category, ContactChannel, Country, DataKeys, IdentifierRole, KindHint, NewPayment, NewReport,
    NormalizedIdentifier, PersonalField, Reference, ReportedIdentifier, StoredReport, UnixMicros, Unverified, Victim,
};
use tokio::sync::{mpsc, oneshot};

use crate::clustering::{Change, Pending, ToLink};
use crate::config::KeySource;
use crate::db::entity::{payment, report, report_identifier, report_victim};
use crate::db::records::{FirstPositions, report_row, trail_rows, victim_row};
use crate::db::{Checkpoints, DbErr, IN_CHUNK, Intent, Pool, ReportKey, ReportRows, Tx, Value, Writer};
use crate::db::{insert_chunked, placeholders};
use crate::error::StoreError;
use crate::group_commit::{self, Batching, Committer};
use crate::shared::Shared;

/// The answer to a submitted report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The report's id.
    pub report_id: i64,
    /// Its human reference.
    pub reference: Reference,
    /// When it was first received.
    pub received_at: UnixMicros,
    /// True when the client request id was known and this is the first report's answer.
    pub replayed: bool,
    /// The cluster the report is in.
    pub cluster_id: i64,
}

/// A report waiting to be written, and where to send the answer.
pub(crate) struct Job {
    pub report: NewReport,
    pub reply: oneshot::Sender<Result<Submitted, StoreError>>,
}

/// Starts the report writer ([`group_commit::spawn`]); it ends when every sender is dropped and
/// the queue is drained. On a SQLite file it writes through a connection of its own.
pub(crate) fn spawn(shared: Arc<Shared>, max_batch: usize) -> Result<mpsc::Sender<Job>, StoreError> {
    let writer = shared.pool.writer(Checkpoints::Background, "reports")?;
    let batching = Batching { max: max_batch, linger: None };
    Ok(group_commit::spawn("reports", batching, ReportWriter { shared, writer })?)
}

/// The report writer's commit: a batch in one transaction, or report by report if it fails.
struct ReportWriter {
    shared: Arc<Shared>,
    writer: Writer,
}

impl Committer for ReportWriter {
    type Item = Job;

    async fn commit(&mut self, batch: &mut Vec<Job>) {
        let (shared, writer) = (&self.shared, &self.writer);
        let reports: Vec<&NewReport> = batch.iter().map(|j| &j.report).collect();
        match write_batch(shared, writer, &reports).await {
            Ok((answers, pending)) => {
                // Watchers hear of a commit before its callers are answered, so that anything a
                // caller does next is broadcast after it.
                shared.publish(pending.events).await;
                for (job, answer) in batch.drain(..).zip(answers) {
                    let _ = job.reply.send(Ok(answer));
                }
                checkpoint_between_batches(shared, writer);
            }
            Err(err) => {
                tracing::warn!(error = %err, size = batch.len(), "batch failed; writing its reports one by one");
                for job in batch.drain(..) {
                    let answer = write_batch(shared, writer, &[&job.report]).await;
                    let answer = match answer {
                        Ok((mut answers, pending)) => {
                            shared.publish(pending.events).await;
                            Ok(answers.remove(0))
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "report not stored");
                            Err(StoreError::from(e))
                        }
                    };
                    let _ = job.reply.send(answer);
                }
            }
        }
    }
}

/// When the checkpointer found the log long, checkpoints what its passes left, between two
/// batches: no commit is running, so this one completes and the next commit starts the log over
/// (see `db::spawn_checkpointer`, which runs only for a SQLite file, as does the writer's own
/// connection).
fn checkpoint_between_batches(shared: &Shared, writer: &Writer) {
    if let Writer::Own(_) = writer
        && shared.log_restart_due.swap(false, std::sync::atomic::Ordering::Relaxed)
        && let Err(e) = writer.checkpoint()
    {
        tracing::warn!(error = %e, "checkpoint between batches failed");
    }
}

/// Writes reports in one transaction, links them into clusters, and returns one answer per
/// report, in order, with the cluster events to broadcast.
async fn write_batch(
    shared: &Shared,
    writer: &Writer,
    reports: &[&NewReport],
) -> Result<(Vec<Submitted>, Pending), DbErr> {
    let keys = shared.keys.keys();
    writer
        .transaction(Intent::Cluster, async |tx| {
            let mut change = Change::new(tx, &shared.clusters, UnixMicros::now());
            let answers = insert_and_link(&mut change, reports, &keys).await?;
            Ok((answers, change.pending))
        })
        .await
}

/// Inserts a batch's reports (received at the change's time, personal data sealed under `keys`)
/// and links them into clusters; returns one answer per report, in order.
pub(crate) async fn insert_and_link(
    change: &mut Change<'_>,
    reports: &[&NewReport],
    keys: &DataKeys,
) -> Result<Vec<Submitted>, DbErr> {
    let (inserted, to_link) = insert_reports(&change.tx, reports, change.now, keys).await?;
    let clusters = change.link_reports(&to_link).await?;
    let mut answers: Vec<Submitted> = Vec::with_capacity(inserted.len());
    for slot in inserted {
        let answer = match slot {
            Inserted::New { report_id, reference } => {
                let cluster_id = *clusters
                    .get(&report_id)
                    .ok_or_else(|| DbErr::Custom(format!("new report {report_id} was not linked")))?;
                Submitted { report_id, reference, received_at: change.now, replayed: false, cluster_id }
            }
            Inserted::Known(existing) => existing,
            // A replay within the batch answers with its first report's answer.
            Inserted::SameAs(earlier) => Submitted { replayed: true, ..answers[earlier].clone() },
        };
        answers.push(answer);
    }
    Ok(answers)
}

/// A batch's report as inserted, before it is linked into a cluster.
pub(crate) enum Inserted {
    /// A new report.
    New {
        /// Its id.
        report_id: i64,
        /// Its reference.
        reference: Reference,
    },
    /// A client request id stored before: the first report's answer.
    Known(Submitted),
    /// A client request id earlier in the batch (at this position).
    SameAs(usize),
}

/// A batch's reports as inserted, and the keys of each new report to link by.
type InsertedBatch = (Vec<Inserted>, Vec<ToLink>);

/// Inserts a batch's reports, their victims, payments and identifiers, answering a known client
/// request id with its first report instead; links nothing. The writer links right after, in the
/// same transaction; a bulk import links everything at the end with one recluster. Victims'
/// personal data and narratives are sealed under `keys`.
pub(crate) async fn insert_reports(
    txn: &Tx<'_>,
    reports: &[&NewReport],
    received_at: UnixMicros,
    keys: &DataKeys,
) -> Result<InsertedBatch, DbErr> {
    // First, which reports are new and which answer with an earlier one (known before, or
    // earlier in this batch); then every new report in one statement per chunk.
    enum Slot {
        New(Reference),
        Known(Submitted),
        SameAs(usize),
    }
    let known = known_request_ids(txn, reports).await?;
    let mut in_batch: HashMap<&str, usize> = HashMap::new();
    let mut slots: Vec<Slot> = Vec::with_capacity(reports.len());
    for (i, &new) in reports.iter().enumerate() {
        let key = new.client_request_id.as_deref();
        let slot = match key.map(|k| (in_batch.get(k), known.get(k))) {
            Some((Some(&earlier), _)) => Slot::SameAs(earlier),
            Some((None, Some(existing))) => Slot::Known(existing.clone()),
            _ => Slot::New(Reference::generate(&mut rand::rng())),
        };
        if let (Some(k), Slot::New(_) | Slot::Known(_)) = (key, &slot) {
            in_batch.insert(k, i);
        }
        slots.push(slot);
    }
    let rows: Vec<report::ActiveModel> = slots
        .iter()
        .zip(reports)
        .filter_map(|(slot, new)| match slot {
            Slot::New(reference) => Some(report_row(new, reference.as_str(), received_at, keys)),
            _ => None,
        })
        .collect();
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<report::ActiveModel> = rows.by_ref().take(200).collect();
        let stored: Vec<(i64, String)> = txn.insert_returning::<report::Entity, _, _>(chunk, "id, reference").await?;
        ids.extend(stored.into_iter().map(|(id, reference)| (reference, id)));
    }

    let mut inserted: Vec<Inserted> = Vec::with_capacity(reports.len());
    let mut victims = Vec::with_capacity(reports.len());
    let mut payments = Vec::new();
    let mut identifiers = Vec::new();
    let mut to_link: Vec<ToLink> = Vec::new();
    for (slot, &new) in slots.into_iter().zip(reports) {
        let reference = match slot {
            Slot::SameAs(earlier) => {
                inserted.push(Inserted::SameAs(earlier));
                continue;
            }
            Slot::Known(existing) => {
                inserted.push(Inserted::Known(existing));
                continue;
            }
            Slot::New(reference) => reference,
        };
        let id = *ids.get(reference.as_str()).ok_or_else(|| DbErr::Custom("a new report's id is missing".into()))?;
        if let Some(victim) = &new.victim {
            victims.push(victim_row(id, reference.as_str(), victim, keys));
        }
        let trail = (&new.payments[..], &new.identifiers[..], &new.suggested[..]);
        trail_rows(id, trail, FirstPositions::default(), &mut payments, &mut identifiers);
        let namings = scamtrail_core::namings_of_report(&new.payments, &new.identifiers);
        to_link.push(ToLink { report: id, category: new.category, namings });
        inserted.push(Inserted::New { report_id: id, reference });
    }
    insert_chunked::<report_victim::Entity, _>(txn, victims).await?;
    insert_chunked::<payment::Entity, _>(txn, payments).await?;
    insert_chunked::<report_identifier::Entity, _>(txn, identifiers).await?;
    Ok((inserted, to_link))
}

/// A stored report found by client request id: id, reference, the id, received, cluster.
type KnownReport = (i64, String, Option<String>, i64, Option<i64>);

/// The reports already stored under any of the batch's client request ids, by id: one query for
/// the batch rather than one per report.
async fn known_request_ids(txn: &Tx<'_>, reports: &[&NewReport]) -> Result<HashMap<String, Submitted>, DbErr> {
    let mut keys: Vec<&str> = reports.iter().filter_map(|r| r.client_request_id.as_deref()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut known = HashMap::new();
    for chunk in keys.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT id, reference, client_request_id, received_at, cluster_id FROM reports \
             WHERE client_request_id IN ({})",
            placeholders(chunk.len())
        );
        let rows: Vec<KnownReport> = txn.fetch(&sql, chunk.iter().map(|&k| Value::from(k)).collect()).await?;
        for (report_id, reference, key, received_at, cluster_id) in rows {
            let (Some(key), Ok(reference)) = (key, Reference::parse(&reference)) else {
                continue;
            };
            known.insert(
                key,
                Submitted {
                    report_id,
                    reference,
                    received_at: UnixMicros(received_at),
                    replayed: true,
                    cluster_id: cluster_id.unwrap_or_default(),
                },
            );
        }
    }
    Ok(known)
}

/// Imports reports in bulk: one transaction, no linking (a recluster links them all
/// afterwards). Returns the new reports' ids.
pub(crate) async fn import(pool: &Pool, keys: &KeySource, reports: &[NewReport]) -> Result<Vec<i64>, StoreError> {
    let refs: Vec<&NewReport> = reports.iter().collect();
    let keys = keys.keys();
    // References are random: among millions of reports one may collide, failing the
    // transaction; a new attempt draws new ones.
    let mut attempt = 0;
    loop {
        let done = pool
            .transaction(Intent::Cluster, async |tx| insert_reports(&tx, &refs, UnixMicros::now(), &keys).await)
            .await;
        match done {
            Ok((inserted, _)) => {
                return Ok(inserted
                    .iter()
                    .filter_map(|i| match i {
                        Inserted::New { report_id, .. } => Some(*report_id),
                        _ => None,
                    })
                    .collect());
            }
            Err(e) if attempt < 3 => {
                tracing::warn!(error = %e, "import transaction failed; trying again");
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads one report, by id or reference, with its cluster; its personal data opened with `keys`.
pub(crate) async fn report(
    pool: &Pool,
    keys: &KeySource,
    which: ReportKey<'_>,
) -> Result<Option<(StoredReport, Option<i64>)>, StoreError> {
    let Some(rows) = pool.report_rows(which).await? else { return Ok(None) };
    let ReportRows { report: row, victim, payments, identifiers } = rows;
    let report = report_from_rows(&row, victim.as_ref(), &payments, &identifiers, keys)?;
    let reference = Reference::parse(&row.reference)
        .map_err(|_| StoreError::Corrupt(format!("reports.reference = {:?}", row.reference)))?;
    let stored = StoredReport { id: row.id, reference, received_at: UnixMicros(row.received_at), report };
    Ok(Some((stored, row.cluster_id)))
}

/// Parses a stored vocabulary name, reporting which column held an unreadable value.
fn parse<T: std::str::FromStr>(column: &str, value: &str) -> Result<T, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt(format!("{column} = {value:?}")))
}

fn parse_opt<T: std::str::FromStr>(column: &str, value: Option<&str>) -> Result<Option<T>, StoreError> {
    value.map(|v| parse(column, v)).transpose()
}

/// A stored identifier row as the report it belongs to holds it.
fn identifier_from_row(row: &report_identifier::Model) -> Result<ReportedIdentifier, StoreError> {
    let outcome = match (&row.key, &row.unverified_reason) {
        (Some(key), _) => Ok(NormalizedIdentifier {
            kind: row.kind.clone().unwrap_or_default(),
            key: key.clone(),
            display: row.display.clone().unwrap_or_default(),
            country: row.country.clone(),
            bank_code: row.bank_code.clone(),
            phone_type: row.phone_type.clone(),
            chain: row.chain.clone(),
            checksum_verified: row.checksum_verified,
        }),
        (None, reason) => Err(Unverified {
            reason: reason.clone().unwrap_or_default(),
            message: row.unverified_message.clone().unwrap_or_default(),
        }),
    };
    Ok(ReportedIdentifier {
        raw: row.raw.clone(),
        role: parse_opt::<IdentifierRole>("report_identifiers.role", row.role.as_deref())?,
        kind_hint: parse_opt::<KindHint>("report_identifiers.kind_hint", row.kind_hint.as_deref())?,
        outcome,
    })
}

/// A stored report's rows as the report it was.
fn report_from_rows(
    r: &report::Model,
    victim: Option<&report_victim::Model>,
    payments: &[payment::Model],
    identifiers: &[report_identifier::Model],
    keys: &KeySource,
) -> Result<NewReport, StoreError> {
    let open = |field: PersonalField, stored: &str| {
        keys.open(field, &r.reference, stored)
            .map_err(|e| StoreError::DataKeys(format!("{} of report {}: {e}", field.column(), r.id)))
    };
    let contact_channels = r
        .contact_channels
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|c| parse::<ContactChannel>("reports.contact_channels", c))
        .collect::<Result<_, _>>()?;
    let mut new_payments = Vec::with_capacity(payments.len());
    for p in payments {
        let beneficiaries = identifiers
            .iter()
            .filter(|i| i.payment_position == Some(p.position))
            .map(identifier_from_row)
            .collect::<Result<_, _>>()?;
        new_payments.push(NewPayment {
            amount_minor: crate::amounts::exact(&p.amount_exact)?,
            currency: p.currency.clone(),
            method: parse_opt("payments.method", p.method.as_deref())?,
            paid_at: p.paid_at.map(UnixMicros),
            beneficiaries,
            transaction_hash: p.transaction_hash.clone(),
            recall_requested: p.recall_requested,
        });
    }
    let loose = |suggested: bool| -> Result<Vec<ReportedIdentifier>, StoreError> {
        identifiers
            .iter()
            .filter(|i| i.payment_position.is_none() && i.suggested == suggested)
            .map(identifier_from_row)
            .collect()
    };
    let victim = match victim {
        None => None,
        Some(v) => Some(Victim {
            name: open(PersonalField::VictimName, &v.name)?,
            email: open(PersonalField::VictimEmail, &v.email)?,
            phone: open(PersonalField::VictimPhone, &v.phone)?,
            country: match v.country.as_deref() {
                None => None,
                Some(c) => Some(
                    Country::parse(c).ok_or_else(|| StoreError::Corrupt(format!("report_victims.country = {c:?}")))?,
                ),
            },
            age_band: parse_opt::<AgeBand>("report_victims.age_band", v.age_band.as_deref())?,
            declared_vulnerable: v.declared_vulnerable,
            vulnerability_note: open(PersonalField::VulnerabilityNote, &v.vulnerability_note)?,
            consent_to_share_with_police: v.consent_to_share_police,
        }),
    };
    Ok(NewReport {
        category: parse::<Category>("reports.category", &r.category)?,
        first_contact_at: r.first_contact_at.map(UnixMicros),
        last_contact_at: r.last_contact_at.map(UnixMicros),
        contact_channels,
        narrative: open(PersonalField::Narrative, &r.narrative)?,
        payments: new_payments,
        identifiers: loose(false)?,
        suggested: loose(true)?,
        victim,
        contact_ongoing: r.contact_ongoing,
        client_request_id: r.client_request_id.clone(),
        // Never read back: the hash serves only the follow-up check.
        follow_up_hash: None,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{ClusterConfig, StoreConfig};
    use scamtrail_core::{Category, NewPayment, NewReport, NormalizedIdentifier, PaymentMethod, ReportedIdentifier};
    use scamtrail_core::{UnixMicros, Victim};

    /// An identifier named as the caller's number: strong, so that the bridge rule leaves a
    /// network's phone linking the two accounts its victims pay.
    fn wallet(key: &str) -> ReportedIdentifier {
        let kind = key.split(':').next().unwrap_or_default().to_owned();
        ReportedIdentifier {
            raw: key.to_owned(),
            role: Some(scamtrail_core::IdentifierRole::CallerNumber),
            kind_hint: None,
            outcome: Ok(NormalizedIdentifier {
                kind,
                key: key.to_owned(),
                display: key.to_owned(),
                country: None,
                bank_code: None,
                phone_type: None,
                chain: None,
                checksum_verified: true,
            }),
        }
    }

    /// Report `n` of three networks; from the third batch on every fifth carries the key of the
    /// next network too, so that batch merges the clusters of the first two.
    fn report(n: usize) -> NewReport {
        let net = n % 3;
        let mut identifiers = vec![wallet(&format!("tel:+4420794609{net:02}"))];
        if n >= 24 && n % 5 == 4 {
            identifiers.push(wallet(&format!("tel:+4420794609{:02}", (net + 1) % 3)));
        }
        NewReport {
            category: if net == 0 { Category::Romance } else { Category::TechSupport },
            narrative: format!("report {n}"),
            payments: vec![NewPayment {
                amount_minor: 10_000 + n as i128,
                currency: "GBP".into(),
                method: Some(PaymentMethod::BankTransfer),
                paid_at: Some(UnixMicros(1_700_000_000_000_000)),
                beneficiaries: vec![wallet(&format!("iban:GB{net}TEST{}", n % 2))],
                transaction_hash: String::new(),
                recall_requested: false,
            }],
            identifiers,
            victim: Some(Victim { email: format!("victim{}@example.test", n % 7), ..Default::default() }),
            contact_ongoing: n.is_multiple_of(4),
            // Ids repeat within a batch (n sends the id of n - 1) and across batches (report 5's).
            client_request_id: Some(format!(
                "req-{}",
                match n {
                    _ if n % 11 == 10 => n - 1,
                    _ if n > 12 && n % 12 == 5 => 5,
                    _ => n,
                }
            )),
            first_contact_at: None,
            last_contact_at: None,
            contact_channels: Vec::new(),
            suggested: Vec::new(),
            follow_up_hash: None,
        }
    }

    /// What the two executors must agree on: the graph, clusters and their aggregates.
    fn tables(path: &Path) -> Vec<String> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut out = Vec::new();
        for sql in [
            "SELECT id, cluster_id, contact_ongoing, client_request_id FROM reports ORDER BY id",
            "SELECT report_id, identifier_id FROM report_links ORDER BY 1, 2",
            "SELECT key, report_count, cluster_id, category_mask, state FROM identifiers ORDER BY key",
            "SELECT id, status, merged_into, report_count, victim_count, total_loss_minor, loss_by_currency, \
             categories, ongoing_reports, identifiers_by_kind, priority_milli FROM clusters ORDER BY id",
            "SELECT cluster_id, kind, other_cluster_id, detail FROM cluster_events ORDER BY id",
            "SELECT report_id, position, amount_minor FROM payments ORDER BY 1, 2",
        ] {
            let mut statement = conn.prepare(sql).unwrap();
            let columns = statement.column_count();
            let rows = statement
                .query_map([], |row| {
                    (0..columns).map(|i| row.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}"))).collect()
                })
                .unwrap();
            for row in rows {
                out.push(format!("{sql}: {}", row.unwrap_or_else(|e: rusqlite::Error| vec![e.to_string()]).join("|")));
            }
        }
        out
    }

    /// The writer's own connection and a sea-orm transaction write the same rows for the same
    /// batches: new reports, replays of a client request id within and across batches, links,
    /// new clusters, merges and their events, aggregates.
    #[tokio::test]
    async fn both_executors_write_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let config = ClusterConfig::default();
        let keys = DataKeys::generate();
        let mut results = Vec::new();
        for own in [false, true] {
            let path = dir.path().join(format!("{own}.db"));
            let url = format!("sqlite://{}", path.display());
            let pool = Pool::open(&StoreConfig::new(url), Checkpoints::Automatic, true).await.unwrap();
            let writer = if own { pool.writer(Checkpoints::Automatic, "reports").unwrap() } else { pool.pool_writer() };
            for batch in 0..4 {
                let reports: Vec<NewReport> = (batch * 12..batch * 12 + 12).map(report).collect();
                let refs: Vec<&NewReport> = reports.iter().collect();
                let now = UnixMicros(1_700_000_100_000_000 + batch as i64);
                let (answers, pending) = writer
                    .transaction(Intent::Cluster, async |tx| {
                        let mut change = Change::new(tx, &config, now);
                        let answers = insert_and_link(&mut change, &refs, &keys).await?;
                        Ok::<_, DbErr>((answers, change.pending))
                    })
                    .await
                    .unwrap();
                assert_eq!(answers.len(), 12);
                assert!(answers.iter().all(|a| a.cluster_id > 0), "every report is in a cluster");
                if batch == 0 {
                    assert!(pending.events.iter().any(|e| e.kind == scamtrail_core::EventKind::Created));
                }
                assert!(answers.iter().any(|a| a.replayed), "client request ids repeat");
            }
            // A merge happened: some cluster was folded into another.
            let merged: Vec<(i64,)> =
                pool.fetch("SELECT id FROM clusters WHERE merged_into IS NOT NULL", vec![]).await.unwrap();
            assert!(!merged.is_empty(), "the batches merge clusters");
            drop(writer);
            results.push(tables(&path));
        }
        assert!(results[0].len() > 100, "{} rows", results[0].len());
        assert_eq!(results[0], results[1], "sea-orm and the writer's connection write the same rows");
    }
}
