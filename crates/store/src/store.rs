//! [`Store`], the handle the server holds: opening the database, and every operation the store
//! offers, each handed to the domain module that holds it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use scamtrail_core::{IdentifierState, NewReport, Reference, StoredReport, UnixMicros};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::access::Access;
use crate::cluster_views::{self, ClusterDetail, ClusterNote, ClusterView, LinkExplanation, QueueEvent};
use crate::config::{KeySource, StoreConfig};
use crate::consent;
use crate::db::{Checkpoints, Pool, ReportKey, spawn_checkpointer};
use crate::erasure::{self, Erasure, Retention};
use crate::error::StoreError;
use crate::exports::{self, ExportIdentifier, ExportReport, ExportVictim, FeedCursor, FeedFilter, ReportsShown};
use crate::follow_up::{self, FollowUp, MyData, NewDetails};
use crate::instances;
use crate::intake::{self, Job, Submitted};
use crate::lookups::{self, BridgePageToken, IdentifierView, KeyLookup};
use crate::operations::{self, OperationalCounts};
use crate::personal_data::{self, Pass, ResealSummary};
use crate::queues::{self, PageToken, Queue, QueueFilter};
use crate::recluster::{self, ReclusterSummary};
use crate::search::{self, ClusterSearch, ReportHit, ReportSearch, SearchCursor};
use crate::shared::Shared;
use crate::triage::{self, ClusterUpdate, IdentifierDecision, StateSource};

/// A handle on the database: cheap to clone, shared by every service.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    writer: mpsc::Sender<Job>,
}

impl Store {
    /// Connects, applies pending migrations, seals victims' personal data still in clear (a
    /// database from before sealing), links any report not yet in a cluster (a database from
    /// before clustering), and starts the writer, the rescoring task and, when the data keys can
    /// be read again, their reloading. Refuses to start without data keys.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let keys = config
            .data_keys
            .clone()
            .ok_or_else(|| StoreError::DataKeys("a store that holds reports needs data keys".into()))?;
        let pool = Pool::open(config, Checkpoints::Background, true).await?;
        let (narratives, victims, notes) = personal_data::to_reseal(&pool, &keys.keys(), Pass::Clear).await?;
        if narratives + victims + notes > 0 {
            tracing::info!(narratives, victims, notes, "personal data in clear found: sealing it");
            let summary = personal_data::reseal(&pool, &keys, Pass::Clear, None, &mut |_, _, _| {}).await?;
            tracing::info!(
                narratives = summary.narratives,
                victims = summary.victims,
                notes = summary.notes,
                "personal data sealed"
            );
            // The sealed pages replace the clear ones in the database file before anything is served
            // (the overwritten text was zeroed: `secure_delete`); a no-op on PostgreSQL.
            pool.writer(Checkpoints::Background, "sealing")?.checkpoint()?;
        }
        if recluster::unclustered_reports(&pool).await? > 0 {
            tracing::info!("reports without a cluster found: reclustering");
            recluster::recluster(&pool, &config.clusters, Checkpoints::Background, &mut |_, _, _| {}).await?;
        }
        let (events, _) = broadcast::channel(1024);
        let reader = pool.reader();
        let file = pool.file().map(ToOwned::to_owned);
        let (fan_out, heard) = match pool.is_postgres() {
            true => {
                let (fan_out, heard) = instances::start(pool.clone());
                (Some(fan_out), Some(heard))
            }
            false => (None, None),
        };
        let shared = Arc::new(Shared {
            pool,
            reader,
            log_restart_due: Arc::default(),
            clusters: config.clusters.clone(),
            keys: keys.clone(),
            events,
            fan_out,
        });
        if let Some(mut heard) = heard {
            // Other instances' events (and the outbox's), broadcast to this instance's watchers.
            let shared = Arc::downgrade(&shared);
            tokio::spawn(async move {
                while let Some(events) = heard.recv().await {
                    let Some(shared) = shared.upgrade() else { return };
                    shared.broadcast(events).await;
                }
            });
        }
        let writer = intake::spawn(shared.clone(), config.max_batch)?;
        if let Some(path) = file {
            spawn_checkpointer(path, Arc::downgrade(&shared), shared.log_restart_due.clone());
        }
        tokio::spawn(rescore_loop(Arc::downgrade(&shared), config.rescore_interval));
        tokio::spawn(reload_keys_loop(Arc::downgrade(&shared)));
        Ok(Self { shared, writer })
    }

    /// Users, sessions, keys and the audit trail (chained under `audit_key`), on this store's pool.
    pub fn access(&self, audit_key: scamtrail_core::AuditKey) -> Access {
        Access::new(self.shared.pool.clone(), audit_key)
    }

    /// Stores a report durably and links it into a cluster; answers after the commit that holds it.
    /// A known `client_request_id` answers with the first report instead.
    pub async fn submit(&self, report: NewReport) -> Result<Submitted, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(Job { report, reply }).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// What a victim's follow-up needs of the report with `reference`.
    pub async fn follow_up(&self, reference: &Reference) -> Result<Option<FollowUp>, StoreError> {
        follow_up::follow_up(&self.shared.pool, reference).await
    }

    /// Adds details to a report and links its new identifiers; returns whether the client request
    /// id was known (then nothing was added).
    pub async fn add_details(&self, report_id: i64, details: &NewDetails) -> Result<bool, StoreError> {
        let (replayed, pending) = follow_up::add_details(&self.shared, report_id, details).await?;
        self.shared.publish(pending.events).await;
        Ok(replayed)
    }

    /// Reads one report by id, with its cluster.
    pub async fn report_by_id(&self, id: i64) -> Result<Option<(StoredReport, Option<i64>)>, StoreError> {
        intake::report(&self.shared.pool, &self.shared.keys, ReportKey::Id(id)).await
    }

    /// Reads one report by its human reference, with its cluster.
    pub async fn report_by_reference(
        &self,
        reference: &Reference,
    ) -> Result<Option<(StoredReport, Option<i64>)>, StoreError> {
        intake::report(&self.shared.pool, &self.shared.keys, ReportKey::Reference(reference.as_str())).await
    }

    /// Reads a cluster with its reports (newest first, at most `max_reports`), identifiers and history.
    pub async fn cluster(&self, id: i64, max_reports: u64) -> Result<Option<ClusterDetail>, StoreError> {
        cluster_views::cluster_detail(&self.shared.reader, &self.shared.clusters, &self.shared.keys, id, max_reports)
            .await
    }

    /// Reads a cluster's summary (aggregates, triage state, priority), without its reports,
    /// identifiers or history.
    pub async fn cluster_summary(&self, id: i64) -> Result<Option<ClusterView>, StoreError> {
        cluster_views::cluster_view(&self.shared.reader, &self.shared.clusters, id).await
    }

    /// A page of a cluster's reports for export (after report id `after`, by id), with their
    /// payments and identifiers and without victim data.
    pub async fn export_reports(
        &self,
        cluster: i64,
        after: i64,
        limit: u64,
        shown: ReportsShown,
    ) -> Result<Vec<ExportReport>, StoreError> {
        exports::report_page(&self.shared.reader, cluster, after, limit, shown).await
    }

    /// The victims of `reports` who consented to share their report with the police, with their
    /// contact details and narrative opened (the referral package's); the others are absent.
    pub async fn export_victims(&self, reports: &[i64]) -> Result<Vec<ExportVictim>, StoreError> {
        exports::consenting_victims(&self.shared.reader, &self.shared.keys, reports).await
    }

    /// A page of the identifiers a cluster's reports carry, for export (after identifier id
    /// `after`, by id).
    pub async fn export_identifiers(
        &self,
        cluster: i64,
        after: i64,
        limit: u64,
    ) -> Result<Vec<ExportIdentifier>, StoreError> {
        exports::identifier_page(&self.shared.reader, cluster, after, limit).await
    }

    /// A page of the indicator feed: identifiers last reported after `cursor`.
    pub async fn identifier_feed(
        &self,
        cursor: FeedCursor,
        filter: &FeedFilter,
        limit: u64,
    ) -> Result<Vec<ExportIdentifier>, StoreError> {
        exports::feed_page(&self.shared.reader, cursor, filter, limit).await
    }

    /// The cluster a report is in; `None` for an unknown report.
    pub async fn cluster_of_report(&self, report: i64) -> Result<Option<i64>, StoreError> {
        cluster_views::cluster_of_report(&self.shared.reader, report).await
    }

    /// Explains how two reports are linked; `None` when either is unknown.
    pub async fn explain_link(&self, a: i64, b: i64) -> Result<Option<LinkExplanation>, StoreError> {
        cluster_views::explain_link(&self.shared.reader, &self.shared.clusters, a, b).await
    }

    /// Reads one identifier by canonical key.
    pub async fn identifier(&self, key: &str) -> Result<Option<IdentifierView>, StoreError> {
        match self.shared.pool.identifier(key).await? {
            Some(row) => Ok(Some(IdentifierView::from_row(&row, self.shared.clusters.hot_threshold)?)),
            None => Ok(None),
        }
    }

    /// Looks canonical keys up; unknown keys are absent from the answer.
    pub async fn lookup(&self, keys: &[String]) -> Result<HashMap<String, KeyLookup>, StoreError> {
        lookups::lookup(&self.shared.reader, &self.shared.clusters, keys).await
    }

    /// One page of the bridges waiting for review (held and marked identifiers), most reported
    /// first, and the token of the next page.
    pub async fn bridges(
        &self,
        page_size: u64,
        after: Option<BridgePageToken>,
    ) -> Result<(Vec<IdentifierView>, Option<BridgePageToken>), StoreError> {
        lookups::bridges_page(&self.shared.reader, &self.shared.clusters, page_size, after).await
    }

    /// Counts the clusters waiting in each queue.
    pub async fn queue_counts(&self, filter: &QueueFilter) -> Result<Vec<(Queue, i64)>, StoreError> {
        queues::queue_counts(&self.shared.reader, &self.shared.clusters, filter).await
    }

    /// One page of a queue and the token of the next page.
    pub async fn queue_page(
        &self,
        queue: Queue,
        filter: &QueueFilter,
        page_size: u64,
        after: Option<PageToken>,
    ) -> Result<(Vec<ClusterView>, Option<PageToken>), StoreError> {
        queues::queue_page(&self.shared.reader, &self.shared.clusters, queue, filter, page_size, after).await
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
        let changed = triage::decide(&self.shared, identifier, state, actor, StateSource::Api).await?;
        let row = self.shared.pool.identifier(&identifier.key).await?.ok_or(StoreError::NotFound("identifier"))?;
        Ok((IdentifierView::from_row(&row, self.shared.clusters.hot_threshold)?, changed))
    }

    /// Safelists the entries of the shipped (or configured) safelist that no one has decided on
    /// over the API, and returns to normal (relinking) what an earlier start safelisted from a file
    /// but the files no longer list; an administrator's decision always wins over the files.
    /// Returns how many identifiers changed.
    pub async fn apply_safelist(&self, entries: &[IdentifierDecision]) -> Result<usize, StoreError> {
        triage::apply_safelist(&self.shared, entries).await
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
        match triage::claim_next(&self.shared, queue, filter, holder, lease).await? {
            Some(row) => self.view(row).await.map(Some),
            None => Ok(None),
        }
    }

    /// Extends the caller's live claim by `lease` from now.
    pub async fn renew_claim(&self, cluster_id: i64, holder: &str, lease: Duration) -> Result<ClusterView, StoreError> {
        let lease = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX);
        let row = triage::change_claim(&self.shared, cluster_id, holder, Some(lease)).await?;
        self.view(row).await
    }

    /// Gives up the caller's live claim.
    pub async fn release_claim(&self, cluster_id: i64, holder: &str) -> Result<ClusterView, StoreError> {
        let row = triage::change_claim(&self.shared, cluster_id, holder, None).await?;
        self.view(row).await
    }

    /// A page of a cluster's notes after note `after`, oldest first (with those of clusters merged
    /// into it), and the note to read on from; `None` for an unknown cluster.
    pub async fn cluster_notes(
        &self,
        cluster: i64,
        after: i64,
        limit: u64,
    ) -> Result<Option<(Vec<ClusterNote>, Option<i64>)>, StoreError> {
        cluster_views::cluster_notes(&self.shared.reader, &self.shared.keys, cluster, after, limit).await
    }

    /// The currency clusters' totals are in.
    pub fn reference_currency(&self) -> &str {
        self.shared.clusters.rates.reference()
    }

    /// One page of reports matching `search`, and the cursor of the next page.
    pub async fn search_reports(
        &self,
        search: &ReportSearch,
        page_size: u64,
        after: Option<&SearchCursor>,
    ) -> Result<(Vec<ReportHit>, Option<SearchCursor>), StoreError> {
        search::search_reports(&self.shared.reader, search, page_size, after).await
    }

    /// One page of clusters matching `search`, most urgent first, and the token of the next page.
    pub async fn search_clusters(
        &self,
        search: &ClusterSearch,
        page_size: u64,
        after: Option<PageToken>,
    ) -> Result<(Vec<ClusterView>, Option<PageToken>), StoreError> {
        search::search_clusters(&self.shared.reader, &self.shared.clusters, search, page_size, after).await
    }

    /// Links two clusters on outside evidence (`reason`): they merge, and the link is kept as an
    /// edge of its own. Returns the link's id and the merged cluster.
    pub async fn link_clusters(
        &self,
        clusters: [i64; 2],
        reason: &str,
        actor: &str,
    ) -> Result<(i64, ClusterView), StoreError> {
        let (link, row) = triage::link_clusters(&self.shared, clusters, reason, actor).await?;
        Ok((link, self.view(row).await?))
    }

    /// Removes a manual link; its cluster splits where nothing else links it. Returns the cluster
    /// and the clusters split off it.
    pub async fn unlink_clusters(
        &self,
        link: i64,
        reason: &str,
        actor: &str,
    ) -> Result<(ClusterView, Vec<i64>), StoreError> {
        let (row, created) = triage::unlink_clusters(&self.shared, link, reason, actor).await?;
        Ok((self.view(row).await?, created))
    }

    /// Applies a workflow change if the cluster's version still matches.
    pub async fn update_cluster(&self, update: &ClusterUpdate, actor: &str) -> Result<ClusterView, StoreError> {
        let row = triage::update_cluster(&self.shared, update, actor).await?;
        self.view(row).await
    }

    async fn view(&self, row: crate::db::entity::cluster::Model) -> Result<ClusterView, StoreError> {
        let now = scamtrail_core::UnixMicros::now();
        let mut views = cluster_views::views(&self.shared.reader, &self.shared.clusters, &[row], now).await?;
        views.pop().ok_or(StoreError::NotFound("cluster"))
    }

    /// Recomputes the clusters whose priority time has changed; returns how many changed.
    pub async fn rescore_due(&self) -> Result<usize, StoreError> {
        triage::rescore_due(&self.shared, RESCORE_BATCH).await
    }

    /// Events of every cluster change from now on, each with the cluster after it.
    pub fn watch(&self) -> broadcast::Receiver<Arc<QueueEvent>> {
        self.shared.events.subscribe()
    }

    /// Copies a SQLite database into `to` (a new file) while servers use it; answers its size.
    /// PostgreSQL is backed up with its own tools.
    pub async fn backup(config: &StoreConfig, to: &std::path::Path) -> Result<u64, StoreError> {
        let (url, to) = (config.database_url.clone(), to.to_owned());
        tokio::task::spawn_blocking(move || crate::db::backup_sqlite(&url, &to))
            .await
            .map_err(|e| StoreError::from(crate::db::DbErr::Custom(format!("backup: {e}"))))?
            .map_err(StoreError::from)
    }

    /// Connects and applies pending migrations, without starting a writer (`scamtrail migrate`).
    pub async fn migrate(config: &StoreConfig) -> Result<(), StoreError> {
        let pool = Pool::open(config, Checkpoints::Automatic, true).await?;
        pool.close().await?;
        Ok(())
    }

    /// Imports reports in bulk (`scamtrail-load seed`): one transaction per call, no linking; run
    /// [`Store::recluster`] once afterwards to link them all. Returns the new reports' ids.
    pub async fn import(&self, reports: &[NewReport]) -> Result<Vec<i64>, StoreError> {
        intake::import(&self.shared.pool, &self.shared.keys, reports).await
    }

    /// Seals every victim's personal data not sealed under the newest of `config`'s data keys
    /// (`scamtrail data-key rotate`), at most `limit` rows when given, in batches, beside
    /// running servers; `progress(stage, done, total)` after each batch. A pass stopped anywhere
    /// leaves every value readable; the next one seals what is left.
    pub async fn reseal_personal_data(
        config: &StoreConfig,
        limit: Option<u64>,
        progress: &mut dyn FnMut(&str, u64, u64),
    ) -> Result<ResealSummary, StoreError> {
        let keys = config.data_keys.clone().ok_or_else(|| StoreError::DataKeys("no data keys given".into()))?;
        let pool = Pool::open(config, Checkpoints::Automatic, true).await?;
        let summary = personal_data::reseal(&pool, &keys, Pass::NotNewest, limit, progress).await?;
        pool.close().await?;
        Ok(summary)
    }

    /// Erases the personal data and free text of report `report_id` (`scamtrail report erase`)
    /// unless its cluster is not closed (a legal hold); `NotFound` for an unknown report.
    pub async fn erase_personal_data(config: &StoreConfig, report_id: i64) -> Result<Erasure, StoreError> {
        let pool = Pool::open(config, Checkpoints::Automatic, true).await?;
        let erased = erasure::erase(&pool, report_id, false).await;
        pool.close().await?;
        erased
    }

    /// The retention policy's work on `config`'s database, on connections of its own
    /// (`scamtrail retention run`): reports of clusters closed before `closed_before` (none
    /// when `None`) and those whose victim asked for erasure during a hold now ended.
    pub async fn retention_of(
        config: &StoreConfig,
        closed_before: Option<UnixMicros>,
    ) -> Result<Retention, StoreError> {
        let pool = Pool::open(config, Checkpoints::Automatic, true).await?;
        Ok(Retention { pool, closed_before })
    }

    /// The retention policy's work on this store's database (the server's background task).
    pub fn retention(&self, closed_before: Option<UnixMicros>) -> Retention {
        Retention { pool: self.shared.pool.clone(), closed_before }
    }

    /// A victim's request to erase report `report_id`'s personal data: erased at once, or, while
    /// its cluster is not closed (a legal hold), recorded and applied when the hold ends.
    pub async fn request_erasure(&self, report_id: i64) -> Result<Erasure, StoreError> {
        erasure::erase(&self.shared.pool, report_id, true).await
    }

    /// Everything stored about report `report_id`, for its victim; `None` for an unknown report.
    pub async fn my_data(&self, report_id: i64) -> Result<Option<MyData>, StoreError> {
        follow_up::my_data(&self.shared.pool, &self.shared.keys, report_id).await
    }

    /// Gives or withdraws the victim's consent to share report `report_id` with the police.
    pub async fn set_consent(&self, report_id: i64, consent: bool) -> Result<(), StoreError> {
        consent::set(&self.shared.pool, report_id, consent).await
    }

    /// Which of `reports` have a victim who consented to share them with the police.
    pub async fn consenting(&self, reports: &[i64]) -> Result<std::collections::HashSet<i64>, StoreError> {
        consent::consenting(&self.shared.reader, reports).await
    }

    /// Rebuilds every cluster from the links in bulk (`scamtrail recluster`); run it with no
    /// server writing to the database. `progress` is told (stage, done, total) as it goes.
    pub async fn recluster(
        config: &StoreConfig,
        progress: &mut dyn FnMut(&str, u64, u64),
    ) -> Result<ReclusterSummary, StoreError> {
        let pool = Pool::open(config, Checkpoints::Automatic, true).await?;
        let summary = recluster::recluster(&pool, &config.clusters, Checkpoints::Automatic, progress).await?;
        pool.close().await?;
        Ok(summary)
    }

    /// Live clusters by status, identifiers by state and the pool's connections, for metrics.
    pub async fn operational_counts(&self) -> Result<OperationalCounts, StoreError> {
        operations::counts(&self.shared.reader, &self.shared.pool).await
    }

    /// Checks that the database answers (for health probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.shared.pool.ping().await?)
    }

    /// The shared state, for the store's own tests.
    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

/// Clusters rescored in one transaction at most.
const RESCORE_BATCH: u64 = 500;

/// Reads the data keys again every [`KeySource::RELOAD_EVERY`] until the store is dropped, so
/// that a rotation's new key seals new values within that time.
async fn reload_keys_loop(shared: std::sync::Weak<Shared>) {
    let mut tick = tokio::time::interval(KeySource::RELOAD_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        shared.keys.reload();
    }
}

/// Rescores due clusters every `interval` until the store is dropped.
async fn rescore_loop(shared: std::sync::Weak<Shared>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        if let Err(e) = triage::rescore_due(&shared, RESCORE_BATCH).await {
            tracing::warn!(error = %e, "rescoring failed; trying again at the next tick");
        }
    }
}
