//! The single writer: one task owns every report insert, so that many reports share one
//! transaction (group commit) and concurrent writers never fight over SQLite's one write lock.
//!
//! The task takes the first waiting job, then whatever else is already queued (up to the batch
//! size), writes them all in one transaction and answers each caller after the commit. If a batch
//! fails (a rare reference collision, a concurrent instance inserting the same client request id
//! on PostgreSQL), each job is retried alone so that one bad job never fails its neighbours.
//!
//! In the same transaction the batch's reports are linked into clusters ([`clustering`]), so an
//! acknowledged report is always in a cluster, and the cluster events are broadcast after commit.
//!
//! The writer runs on a thread of its own. On a SQLite file its transactions run on its own
//! rusqlite connection ([`crate::tx`]); on PostgreSQL and in-memory SQLite, on sea-orm's pool.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use scamtrail_core::{NewPayment, NewReport, Reference, ReportedIdentifier, UnixMicros};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, SqliteTransactionMode,
    TransactionOptions, TransactionTrait, Value,
};
use tokio::sync::{mpsc, oneshot};

use crate::clustering::{self, ClusterConfig, LinkKey, Pending, ToLink, links_by_kind};
use crate::connect::Checkpoints;
use crate::entity::{payment, report, report_identifier, report_victim};
use crate::rows::{FirstPositions, report_row, trail_rows, victim_row};
use crate::tx::{SqliteWriter, Tx};
use crate::{Shared, StoreError, Submitted};

/// A report waiting to be written, and where to send the answer.
pub(crate) struct Job {
    pub report: NewReport,
    pub reply: oneshot::Sender<Result<Submitted, StoreError>>,
}

/// Starts the writer on a thread of its own ([`crate::tx::spawn_thread`]); it ends when every
/// sender is dropped and the queue is drained. On a SQLite file (`file`) it writes through a
/// connection of its own ([`crate::tx`]).
pub(crate) fn spawn(
    shared: Arc<Shared>,
    file: Option<&Path>,
    max_batch: usize,
) -> Result<mpsc::Sender<Job>, StoreError> {
    let (tx, rx) = mpsc::channel(max_batch.max(1) * 4);
    let own = file.map(|f| SqliteWriter::open(f, Checkpoints::Background, "reports")).transpose()?;
    crate::tx::spawn_thread("scamtrail-writer", move || run(shared, own, rx, max_batch.max(1)))?;
    Ok(tx)
}

async fn run(shared: Arc<Shared>, own: Option<SqliteWriter>, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let own = own.as_ref();
    let mut batch = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        let reports: Vec<&NewReport> = batch.iter().map(|j| &j.report).collect();
        match write_batch(&shared, own, &reports).await {
            Ok((answers, pending)) => {
                // Watchers hear of a commit before its callers are answered, so that anything a
                // caller does next is broadcast after it.
                shared.publish(pending).await;
                for (job, answer) in batch.drain(..).zip(answers) {
                    let _ = job.reply.send(Ok(answer));
                }
                checkpoint_between_batches(&shared, own);
            }
            Err(err) => {
                tracing::warn!(error = %err, size = batch.len(), "batch failed; writing its reports one by one");
                for job in batch.drain(..) {
                    let answer = write_batch(&shared, own, &[&job.report]).await;
                    let answer = match answer {
                        Ok((mut answers, pending)) => {
                            shared.publish(pending).await;
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
/// (see `connect::spawn_checkpointer`, which runs only for a SQLite file, as does `own`).
fn checkpoint_between_batches(shared: &Shared, own: Option<&SqliteWriter>) {
    if let Some(own) = own
        && shared.log_restart_due.swap(false, std::sync::atomic::Ordering::Relaxed)
        && let Err(e) = own.checkpoint()
    {
        tracing::warn!(error = %e, "checkpoint between batches failed");
    }
}

/// Begins a write transaction.
pub(crate) async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    // IMMEDIATE takes SQLite's write lock at BEGIN, so the transaction never fails half-way on
    // a lock upgrade; PostgreSQL ignores the option.
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Key of the PostgreSQL advisory lock that makes clustering changes run one at a time.
const CLUSTERING_LOCK: i64 = 0x5343_414d_5452; // "SCAMTR" in ASCII: any constant no other lock uses

/// Begins a transaction that may change the graph (link, merge, split, rescore, recluster).
/// Such transactions run one at a time, across every instance sharing the database: on SQLite the
/// IMMEDIATE write lock does it, on PostgreSQL a transaction-scoped advisory lock. Merges and
/// splits then never interleave, so they read live clusters and never deadlock on each other's
/// identifier and cluster rows. Claims and workflow updates touch one cluster row and do not take it.
pub(crate) async fn begin_clustering(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = begin(db).await?;
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        crate::sql::query(&txn, "SELECT pg_advisory_xact_lock(?)", vec![CLUSTERING_LOCK.into()]).await?;
    }
    Ok(txn)
}

/// Runs `work` in one transaction that may change the graph: on `own` (a connection of the
/// store's own to a SQLite file) if given, else as [`begin_clustering`] on `db`. Committed if
/// `work` succeeds, rolled back if not.
pub(crate) async fn clustering_transaction<T>(
    db: &DatabaseConnection,
    own: Option<&SqliteWriter>,
    work: impl AsyncFnOnce(&Tx<'_>) -> Result<T, DbErr>,
) -> Result<T, DbErr> {
    match own {
        Some(own) => own.transaction(work).await,
        None => {
            let txn = begin_clustering(db).await?;
            let done = work(&Tx::Orm(&txn)).await?;
            txn.commit().await?;
            Ok(done)
        }
    }
}

/// The keys a report links by: typed (not suggested) identifiers that normalised, of a linking kind.
fn link_keys(report: &NewReport) -> Vec<LinkKey> {
    typed_link_keys(&report.payments, &report.identifiers)
}

/// The linking keys among payments' beneficiaries and typed identifiers.
pub(crate) fn typed_link_keys(payments: &[NewPayment], identifiers: &[ReportedIdentifier]) -> Vec<LinkKey> {
    let typed = payments.iter().flat_map(|p| &p.beneficiaries).chain(identifiers);
    let mut keys: Vec<LinkKey> = typed
        .filter_map(|i| i.outcome.as_ref().ok())
        .filter(|n| links_by_kind(&n.kind))
        .map(|n| LinkKey { key: n.key.clone(), kind: n.kind.clone(), display: n.display.clone() })
        .collect();
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    keys.dedup_by(|a, b| a.key == b.key);
    keys
}

/// Writes reports in one transaction, links them into clusters, and returns one answer per
/// report, in order, with the cluster events to broadcast.
async fn write_batch(
    shared: &Shared,
    own: Option<&SqliteWriter>,
    reports: &[&NewReport],
) -> Result<(Vec<Submitted>, Pending), DbErr> {
    clustering_transaction(&shared.db, own, async |tx| link_batch(shared, *tx, reports).await).await
}

/// A batch's statements in the transaction `tx`, which the caller begins and commits.
async fn link_batch(shared: &Shared, tx: Tx<'_>, reports: &[&NewReport]) -> Result<(Vec<Submitted>, Pending), DbErr> {
    let mut pending = Pending::default();
    let answers = insert_and_link(&tx, &shared.clusters, &mut pending, UnixMicros::now(), reports).await?;
    Ok((answers, pending))
}

/// Inserts a batch's reports and links them into clusters; returns one answer per report, in order.
pub(crate) async fn insert_and_link(
    tx: &Tx<'_>,
    config: &ClusterConfig,
    pending: &mut Pending,
    received_at: UnixMicros,
    reports: &[&NewReport],
) -> Result<Vec<Submitted>, DbErr> {
    let (mut answers, to_link) = insert_reports(tx, reports, received_at).await?;
    let clusters = clustering::link_reports(tx, config, pending, received_at, &to_link).await?;
    for answer in answers.iter_mut().filter(|a| !a.replayed) {
        answer.cluster_id = clusters.get(&answer.report_id).copied().unwrap_or_default();
    }
    // A replay within the batch answers with its first report's cluster.
    for i in 0..answers.len() {
        if answers[i].replayed && answers[i].cluster_id == 0 {
            let first = answers[..i].iter().find(|a| a.report_id == answers[i].report_id && !a.replayed);
            if let Some(first) = first {
                answers[i].cluster_id = first.cluster_id;
            }
        }
    }
    Ok(answers)
}

/// A batch's answers (cluster ids still 0) and the keys of each new report to link by.
type Inserted = (Vec<Submitted>, Vec<ToLink>);

/// Inserts a batch's reports, their victims, payments and identifiers, answering a known client
/// request id with its first report instead; links nothing. The writer links right after, in the
/// same transaction; a bulk import links everything at the end with one recluster.
pub(crate) async fn insert_reports(
    txn: &Tx<'_>,
    reports: &[&NewReport],
    received_at: UnixMicros,
) -> Result<Inserted, DbErr> {
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
            Slot::New(reference) => Some(report_row(new, reference.as_str(), received_at)),
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

    let mut answers: Vec<Submitted> = Vec::with_capacity(reports.len());
    let mut victims = Vec::with_capacity(reports.len());
    let mut payments = Vec::new();
    let mut identifiers = Vec::new();
    let mut to_link: Vec<ToLink> = Vec::new();
    for (slot, &new) in slots.into_iter().zip(reports) {
        let reference = match slot {
            Slot::SameAs(earlier) => {
                let first: Submitted = answers[earlier].clone();
                answers.push(Submitted { replayed: true, ..first });
                continue;
            }
            Slot::Known(existing) => {
                answers.push(existing);
                continue;
            }
            Slot::New(reference) => reference,
        };
        let id = *ids.get(reference.as_str()).ok_or_else(|| DbErr::Custom("a new report's id is missing".into()))?;
        if let Some(victim) = &new.victim {
            victims.push(victim_row(id, victim));
        }
        let trail = (&new.payments[..], &new.identifiers[..], &new.suggested[..]);
        trail_rows(id, trail, FirstPositions::default(), &mut payments, &mut identifiers);
        to_link.push(ToLink { report: id, category: new.category, keys: link_keys(new) });
        answers.push(Submitted { report_id: id, reference, received_at, replayed: false, cluster_id: 0 });
    }
    insert_chunked::<report_victim::Entity, _>(txn, victims).await?;
    insert_chunked::<payment::Entity, _>(txn, payments).await?;
    insert_chunked::<report_identifier::Entity, _>(txn, identifiers).await?;
    Ok((answers, to_link))
}

/// Inserts rows in chunks that stay under SQLite's and PostgreSQL's bound-parameter limits.
pub(crate) async fn insert_chunked<E, A>(txn: &Tx<'_>, rows: Vec<A>) -> Result<(), DbErr>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    const ROWS_PER_STATEMENT: usize = 500; // at most 18 columns: 9,000 parameters
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        txn.insert_many::<E, _>(chunk).await?;
    }
    Ok(())
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
    for chunk in keys.chunks(crate::sql::IN_CHUNK) {
        let sql = format!(
            "SELECT id, reference, client_request_id, received_at, cluster_id FROM reports \
             WHERE client_request_id IN ({})",
            crate::sql::placeholders(chunk.len())
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
