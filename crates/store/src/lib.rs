//! scamtrail's storage: the one place that speaks SQL, on SQLite (the embedded default) and
//! PostgreSQL, with the same sea-orm code and the same migrations.
//!
//! Writes of reports go through a single writer task ([`writer`]) that takes reports in batches,
//! one transaction per batch (group commit), links them into clusters in that transaction
//! ([`clustering`]), and answers each caller only after the commit that holds its report.
//! Investigators' changes (identifier decisions, claims, workflow) are short transactions of their
//! own ([`triage`]). Reads never wait for the writer: report reads go to the pool ([`reads`]), cluster,
//! queue and lookup reads to the [`fetch::Reader`] ([`cluster_reads`]), which on a SQLite file steps
//! its own read-only connections on the caller's thread.
//! Every change to a cluster is broadcast after its commit to queue watchers ([`Store::watch`]).
//!
//! This crate knows nothing of gRPC: it takes and returns `scamtrail-core` types and its own read
//! models ([`views`]); its errors are [`StoreError`], which the server maps to status codes.

mod access;
mod cluster_reads;
mod clustering;
mod connect;
mod entity;
mod fetch;
mod followup;
mod queue;
mod reads;
mod recluster;
mod rows;
mod sql;
mod triage;
mod tx;
mod views;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use scamtrail_core::{IdentifierState, NewReport, Reference, StoredReport, TransitionError, UnixMicros};
use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use access::{Access, ApiKey, AuditLog, AuditSeal, Credential, CredentialKind, User};
pub use cluster_reads::{KeyLookup, LinkExplanation};
pub use clustering::ClusterConfig;
pub use connect::StoreConfig;
pub use followup::{FollowUp, NewDetails};
pub use queue::{PageToken, Queue, QueueFilter};
pub use recluster::ReclusterSummary;
pub use scamtrail_core::EventKind;
pub use triage::ClusterUpdate;
pub use views::{
    ClaimView, ClusterDetail, ClusterEventView, ClusterReportView, ClusterView, IdentifierView, PriorityPart,
    QueueEvent,
};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The writer task has stopped (the server is shutting down).
    #[error("the store is shutting down")]
    Closed,
    /// The writer's thread could not be started.
    #[error("cannot start the writer: {0}")]
    Writer(#[from] std::io::Error),
    /// A stored row holds a value this version cannot read.
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// The record does not exist.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The cluster changed since the caller read it.
    #[error("cluster {id} is at version {current}, not {expected}: read it again")]
    StaleVersion {
        /// The cluster.
        id: i64,
        /// The version the caller quoted.
        expected: i64,
        /// The version it has.
        current: i64,
    },
    /// The cluster was merged into another and takes no changes.
    #[error("cluster {id} was merged into cluster {into}")]
    Merged {
        /// The merged cluster.
        id: i64,
        /// Where it lives now.
        into: i64,
    },
    /// The workflow does not allow the change.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The caller holds no live claim on the cluster.
    #[error("you hold no live claim on cluster {0}")]
    NotClaimed(i64),
    /// Too many competing claimers; the caller may retry.
    #[error("too many competing claims; retry")]
    Busy,
    /// The audit trail could not be written.
    #[error("cannot append to the audit trail: {0}")]
    Audit(String),
    /// The caller's role does not allow this change.
    #[error("{0}")]
    Forbidden(String),
    /// A record with that name exists already.
    #[error("a {0} with that name exists already")]
    AlreadyExists(&'static str),
}

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

/// An identifier with a decision on it: a safelist file's entry, or an investigator's exclusion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierDecision {
    /// Canonical key.
    pub key: String,
    /// Fine-grained kind.
    pub kind: String,
    /// How to show it.
    pub display: String,
    /// Why it must not link (or, returning it to normal, why it may again).
    pub reason: String,
}

/// What the writer, the services and the background tasks share.
pub(crate) struct Shared {
    pub db: DatabaseConnection,
    /// The SQLite file, when the store runs on one.
    pub file: Option<std::path::PathBuf>,
    /// Where the hot reads run (see [`fetch`]).
    pub reader: fetch::Reader,
    /// Set by the checkpointer when a SQLite log should start over (see [`connect::spawn_checkpointer`]).
    pub log_restart_due: Arc<std::sync::atomic::AtomicBool>,
    pub clusters: ClusterConfig,
    pub events: broadcast::Sender<Arc<QueueEvent>>,
}

impl Shared {
    /// Broadcasts committed events, each with its cluster as it is now, if anyone watches.
    pub(crate) async fn publish(&self, pending: clustering::Pending) {
        if self.events.receiver_count() == 0 {
            return;
        }
        for event in pending.events {
            match cluster_reads::cluster_view(&self.reader, &self.clusters, event.cluster_id).await {
                Ok(Some(cluster)) => {
                    let _ = self.events.send(Arc::new(QueueEvent { event, cluster }));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read a cluster to broadcast its event"),
            }
        }
    }
}

/// A handle on the database: cheap to clone, shared by every service.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    writer: mpsc::Sender<writer::Job>,
}

impl Store {
    /// Connects, applies pending migrations, links any report not yet in a cluster (a database
    /// from before clustering), and starts the writer and the rescoring task.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let db = connect::connect(config, connect::Checkpoints::Background).await?;
        connect::migrate(&db).await?;
        let file = fetch::sqlite_file(&db).await?;
        if recluster::unclustered_reports(&db).await? > 0 {
            tracing::info!("reports without a cluster found: reclustering");
            recluster::recluster(&db, &config.clusters, connect::Checkpoints::Background, &mut |_, _, _| {}).await?;
        }
        let (events, _) = broadcast::channel(1024);
        let reader = fetch::Reader::new(&db, file.clone());
        let log_restart_due = Arc::default();
        let shared = Arc::new(Shared {
            db,
            file: file.clone(),
            reader,
            log_restart_due,
            clusters: config.clusters.clone(),
            events,
        });
        let writer = writer::spawn(shared.clone(), file.as_deref(), config.max_batch)?;
        if let Some(path) = file {
            connect::spawn_checkpointer(path, Arc::downgrade(&shared), shared.log_restart_due.clone());
        }
        tokio::spawn(rescore_loop(Arc::downgrade(&shared), config.rescore_interval));
        Ok(Self { shared, writer })
    }

    fn db(&self) -> &DatabaseConnection {
        &self.shared.db
    }

    /// Users, sessions, keys and the audit trail (chained under `audit_key`), on this store's pool.
    pub fn access(&self, audit_key: scamtrail_core::AuditKey) -> Access {
        Access::new(self.shared.db.clone(), self.shared.file.clone(), audit_key)
    }

    /// Stores a report durably and links it into a cluster; answers after the commit that holds it.
    /// A known `client_request_id` answers with the first report instead.
    pub async fn submit(&self, report: NewReport) -> Result<Submitted, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(writer::Job { report, reply }).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// What a victim's follow-up needs of the report with `reference`.
    pub async fn follow_up(&self, reference: &Reference) -> Result<Option<FollowUp>, StoreError> {
        followup::follow_up(self.db(), reference).await
    }

    /// Adds details to a report and links its new identifiers; returns whether the client request
    /// id was known (then nothing was added).
    pub async fn add_details(&self, report_id: i64, details: &NewDetails) -> Result<bool, StoreError> {
        let (replayed, pending) = followup::add_details(&self.shared, report_id, details).await?;
        self.shared.publish(pending).await;
        Ok(replayed)
    }

    /// Reads one report by id, with its cluster.
    pub async fn report_by_id(&self, id: i64) -> Result<Option<(StoredReport, Option<i64>)>, StoreError> {
        reads::report_by_id(self.db(), id).await
    }

    /// Reads one report by its human reference, with its cluster.
    pub async fn report_by_reference(
        &self,
        reference: &Reference,
    ) -> Result<Option<(StoredReport, Option<i64>)>, StoreError> {
        reads::report_by_reference(self.db(), reference).await
    }

    /// Reads a cluster with its reports (newest first, at most `max_reports`), identifiers and history.
    pub async fn cluster(&self, id: i64, max_reports: u64) -> Result<Option<ClusterDetail>, StoreError> {
        cluster_reads::cluster_detail(&self.shared.reader, &self.shared.clusters, id, max_reports).await
    }

    /// Reads a cluster's summary (aggregates, triage state, priority), without its reports,
    /// identifiers or history.
    pub async fn cluster_summary(&self, id: i64) -> Result<Option<ClusterView>, StoreError> {
        cluster_reads::cluster_view(&self.shared.reader, &self.shared.clusters, id).await
    }

    /// The cluster a report is in; `None` for an unknown report.
    pub async fn cluster_of_report(&self, report: i64) -> Result<Option<i64>, StoreError> {
        cluster_reads::cluster_of_report(&self.shared.reader, report).await
    }

    /// Explains how two reports are linked; `None` when either is unknown.
    pub async fn explain_link(&self, a: i64, b: i64) -> Result<Option<LinkExplanation>, StoreError> {
        cluster_reads::explain_link(&self.shared.reader, a, b).await
    }

    /// Reads one identifier by canonical key.
    pub async fn identifier(&self, key: &str) -> Result<Option<IdentifierView>, StoreError> {
        match triage::identifier_row(self.db(), key).await? {
            Some(row) => Ok(Some(IdentifierView::from_row(&row, self.shared.clusters.hot_threshold)?)),
            None => Ok(None),
        }
    }

    /// Looks canonical keys up; unknown keys are absent from the answer.
    pub async fn lookup(&self, keys: &[String]) -> Result<std::collections::HashMap<String, KeyLookup>, StoreError> {
        cluster_reads::lookup(&self.shared.reader, &self.shared.clusters, keys).await
    }

    /// Counts the clusters waiting in each queue.
    pub async fn queue_counts(&self, filter: &QueueFilter) -> Result<Vec<(Queue, i64)>, StoreError> {
        cluster_reads::queue_counts(&self.shared.reader, &self.shared.clusters, filter).await
    }

    /// One page of a queue and the token of the next page.
    pub async fn queue_page(
        &self,
        queue: Queue,
        filter: &QueueFilter,
        page_size: u64,
        after: Option<PageToken>,
    ) -> Result<(Vec<ClusterView>, Option<PageToken>), StoreError> {
        cluster_reads::queue_page(&self.shared.reader, &self.shared.clusters, queue, filter, page_size, after).await
    }

    /// Sets an identifier's state (by canonical key, with its kind and display form should it be
    /// new), splitting or merging clusters. Returns the identifier and the clusters the change
    /// created or merged into.
    pub async fn set_identifier_state(
        &self,
        identifier: &IdentifierDecision,
        state: IdentifierState,
        actor: &str,
    ) -> Result<(IdentifierView, Vec<i64>), StoreError> {
        let (key, reason) = (identifier.key.as_str(), identifier.reason.as_str());
        let link = clustering::LinkKey {
            key: key.to_owned(),
            kind: identifier.kind.clone(),
            display: identifier.display.clone(),
        };
        let changed = self.decide(&link, state, reason, actor, triage::StateSource::Api).await?;
        let row = triage::identifier_row(self.db(), key).await?.ok_or(StoreError::NotFound("identifier"))?;
        Ok((IdentifierView::from_row(&row, self.shared.clusters.hot_threshold)?, changed))
    }

    /// Sets an identifier's state in a clustering transaction of its own and broadcasts what
    /// changed; returns the clusters created or merged into.
    async fn decide(
        &self,
        link: &clustering::LinkKey,
        state: IdentifierState,
        reason: &str,
        actor: &str,
        source: triage::StateSource,
    ) -> Result<Vec<i64>, StoreError> {
        let txn = writer::begin_clustering(self.db()).await?;
        let mut pending = clustering::Pending::default();
        let changed = triage::set_identifier_state(
            &txn,
            &self.shared.clusters,
            &mut pending,
            UnixMicros::now(),
            link,
            state,
            reason,
            actor,
            source,
        )
        .await?;
        txn.commit().await?;
        self.shared.publish(pending).await;
        Ok(changed)
    }

    /// Safelists the entries of the shipped (or configured) safelist that no one has decided on
    /// over the API, and returns to normal (relinking) what an earlier start safelisted from a file
    /// but the files no longer list; an administrator's decision always wins over the files.
    /// Returns how many identifiers changed.
    pub async fn apply_safelist(&self, entries: &[IdentifierDecision]) -> Result<usize, StoreError> {
        let mut changed = 0;
        let listed: std::collections::HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        let dropped: Vec<(String, String, String)> = sql::query(
            self.db(),
            "SELECT key, kind, display FROM identifiers WHERE state_source = 'shipped' AND state = ?",
            vec![IdentifierState::Safelisted.as_str().into()],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?, r.try_get_by_index(2)?)))
        .collect::<Result<Vec<(String, String, String)>, sea_orm::DbErr>>()?
        .into_iter()
        .filter(|(key, _, _)| !listed.contains(key.as_str()))
        .collect();
        for (key, kind, display) in dropped {
            let link = clustering::LinkKey { key, kind, display };
            let why = "no longer on the safelist";
            self.decide(&link, IdentifierState::Normal, why, clustering::SYSTEM, triage::StateSource::Shipped).await?;
            changed += 1;
        }
        for entry in entries {
            let existing = triage::identifier_row(self.db(), &entry.key).await?;
            let decided = existing.as_ref().is_some_and(|r| {
                r.state_source.as_deref() == Some("api")
                    || (r.state == IdentifierState::Safelisted.as_str() && r.state_reason == entry.reason)
            });
            if decided {
                continue;
            }
            let link = clustering::LinkKey {
                key: entry.key.clone(),
                kind: entry.kind.clone(),
                display: entry.display.clone(),
            };
            let (state, source) = (IdentifierState::Safelisted, triage::StateSource::Shipped);
            self.decide(&link, state, &entry.reason, clustering::SYSTEM, source).await?;
            changed += 1;
        }
        Ok(changed)
    }

    /// Claims the most urgent unclaimed cluster of a queue for `holder`.
    pub async fn claim_next(
        &self,
        queue: Queue,
        filter: &QueueFilter,
        holder: &str,
        lease: Duration,
    ) -> Result<Option<ClusterView>, StoreError> {
        let lease = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX);
        let (row, pending) = triage::claim_next(self.db(), &self.shared.clusters, queue, filter, holder, lease).await?;
        self.shared.publish(pending).await;
        match row {
            Some(row) => self.view(row).await.map(Some),
            None => Ok(None),
        }
    }

    /// Extends the caller's live claim by `lease` from now.
    pub async fn renew_claim(&self, cluster_id: i64, holder: &str, lease: Duration) -> Result<ClusterView, StoreError> {
        let lease = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX);
        let (row, pending) = triage::change_claim(self.db(), cluster_id, holder, Some(lease)).await?;
        self.shared.publish(pending).await;
        self.view(row).await
    }

    /// Gives up the caller's live claim.
    pub async fn release_claim(&self, cluster_id: i64, holder: &str) -> Result<ClusterView, StoreError> {
        let (row, pending) = triage::change_claim(self.db(), cluster_id, holder, None).await?;
        self.shared.publish(pending).await;
        self.view(row).await
    }

    /// Applies a workflow change if the cluster's version still matches.
    pub async fn update_cluster(&self, update: &ClusterUpdate, actor: &str) -> Result<ClusterView, StoreError> {
        let (row, pending) = triage::update_cluster(self.db(), update, actor).await?;
        self.shared.publish(pending).await;
        self.view(row).await
    }

    async fn view(&self, row: entity::cluster::Model) -> Result<ClusterView, StoreError> {
        let mut views =
            cluster_reads::views(&self.shared.reader, &self.shared.clusters, &[row], UnixMicros::now()).await?;
        views.pop().ok_or(StoreError::NotFound("cluster"))
    }

    /// Recomputes the clusters whose priority time has changed; returns how many changed.
    pub async fn rescore_due(&self) -> Result<usize, StoreError> {
        rescore_once(&self.shared).await
    }

    /// Events of every cluster change from now on, each with the cluster after it.
    pub fn watch(&self) -> broadcast::Receiver<Arc<QueueEvent>> {
        self.shared.events.subscribe()
    }

    /// Connects and applies pending migrations, without starting a writer (`scamtrail migrate`).
    pub async fn migrate(config: &StoreConfig) -> Result<(), StoreError> {
        let db = connect::connect(config, connect::Checkpoints::Automatic).await?;
        connect::migrate(&db).await?;
        db.close().await?;
        Ok(())
    }

    /// Imports reports in bulk (`scamtrail-load seed`): one transaction per call, no linking; run
    /// [`Store::recluster`] once afterwards to link them all. Returns the new reports' ids.
    pub async fn import(&self, reports: &[NewReport]) -> Result<Vec<i64>, StoreError> {
        let refs: Vec<&NewReport> = reports.iter().collect();
        // References are random: among millions of reports one may collide, failing the
        // transaction; a new attempt draws new ones.
        let mut attempt = 0;
        loop {
            let txn = writer::begin_clustering(self.db()).await?;
            match writer::insert_reports(&tx::Tx::Orm(&txn), &refs, UnixMicros::now()).await {
                Ok((answers, _)) => {
                    txn.commit().await?;
                    return Ok(answers.iter().filter(|a| !a.replayed).map(|a| a.report_id).collect());
                }
                Err(e) if attempt < 3 => {
                    tracing::warn!(error = %e, "import transaction failed; trying again");
                    txn.rollback().await?;
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Rebuilds every cluster from the links in bulk (`scamtrail recluster`); run it with no
    /// server writing to the database. `progress` is told (stage, done, total) as it goes.
    pub async fn recluster(
        config: &StoreConfig,
        progress: &mut dyn FnMut(&str, u64, u64),
    ) -> Result<ReclusterSummary, StoreError> {
        let db = connect::connect(config, connect::Checkpoints::Automatic).await?;
        connect::migrate(&db).await?;
        let summary = recluster::recluster(&db, &config.clusters, connect::Checkpoints::Automatic, progress).await?;
        db.close().await?;
        Ok(summary)
    }

    /// Checks that the database answers (for health probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.db().ping().await?)
    }
}

async fn rescore_once(shared: &Shared) -> Result<usize, StoreError> {
    let pending = triage::rescore_due(&shared.db, &shared.clusters, 500).await?;
    let changed = pending.events.len();
    shared.publish(pending).await;
    Ok(changed)
}

/// Rescores due clusters every `interval` until the store is dropped.
async fn rescore_loop(shared: std::sync::Weak<Shared>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        if let Err(e) = rescore_once(&shared).await {
            tracing::warn!(error = %e, "rescoring failed; trying again at the next tick");
        }
    }
}
