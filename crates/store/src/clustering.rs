//! Clusters, inside a write transaction: linking new reports (merging the clusters they connect),
//! splitting a cluster when an identifier stops linking; each change ends by recomputing the
//! touched clusters' aggregates and priority ([`crate::aggregates`]). The graph rules themselves (connected components) are `scamtrail_core::components`;
//! this module moves their result into the tables.
//!
//! Every change runs in the caller's transaction, through a [`Change`] (the transaction, the
//! configuration, the time of the change and the events to broadcast once it commits), and leaves
//! committing to the caller. Which identifiers link and which cluster survives a merge are rules
//! of `scamtrail_core` ([`LinkableIdentifier`], [`merge_survivor`], [`split_keeper`]). On PostgreSQL the
//! touched identifier and cluster rows are locked in key and id order first, so that instances
//! sharing the database wait for each other rather than deadlock; SQLite's IMMEDIATE transactions
//! already run one at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use scamtrail_core::{
    Category, ClusterStatus, EventKind, IdentifierState, LinkableIdentifier, UnixMicros, components, merge_survivor,
    split_keeper,
};

use crate::aggregates;
use crate::cluster_views::ClusterEventView;
use crate::config::ClusterConfig;
use crate::db::entity::cluster_event;
use crate::db::records::cluster_event_row;
use crate::db::{
    DbErr, IN_CHUNK, Tx, Value, execute_case_columns, execute_cases, execute_in, insert_chunked, lock_clusters,
    placeholders,
};

/// Who automatic changes are attributed to.
pub(crate) const SYSTEM: &str = "system";

/// Events gathered in a transaction, broadcast once it commits.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub events: Vec<ClusterEventView>,
}

/// A change to the graph, inside one write transaction: what every step of linking, merging,
/// splitting and recomputing needs. The caller begins and commits the transaction, then
/// broadcasts `pending`.
pub(crate) struct Change<'t> {
    /// The transaction.
    pub tx: Tx<'t>,
    /// How clusters are valued.
    pub config: &'t ClusterConfig,
    /// When the change happens.
    pub now: UnixMicros,
    /// The events of the change, to broadcast after the commit.
    pub pending: Pending,
}

impl<'t> Change<'t> {
    /// A change in `tx` at `now`, with no events yet.
    pub(crate) fn new(tx: Tx<'t>, config: &'t ClusterConfig, now: UnixMicros) -> Self {
        Self { tx, config, now, pending: Pending::default() }
    }

    /// Records an event (stored now if its kind is kept; broadcast after the commit).
    pub(crate) async fn record(&mut self, event: ClusterEventView) -> Result<(), DbErr> {
        self.record_many(vec![event]).await
    }

    /// Records events, the kept ones stored in one statement per chunk.
    pub(crate) async fn record_many(&mut self, events: Vec<ClusterEventView>) -> Result<(), DbErr> {
        let rows: Vec<cluster_event::ActiveModel> = events
            .iter()
            .filter(|e| e.kind.is_stored())
            .map(|e| cluster_event_row(e.cluster_id, e.at, e.kind.as_str(), e.other_cluster_id, &e.actor, &e.detail))
            .collect();
        insert_chunked::<cluster_event::Entity, _>(&self.tx, rows).await?;
        self.pending.events.extend(events);
        Ok(())
    }

    /// Records an event that is broadcast but not kept (e.g. a claim renewed).
    pub(crate) fn broadcast_only(&mut self, event: ClusterEventView) {
        self.pending.events.push(event);
    }

    /// An event of this change (at its time), by `actor`, with the other cluster of a merge or split.
    pub(crate) fn event(
        &self,
        kind: EventKind,
        cluster_id: i64,
        other: Option<i64>,
        actor: &str,
        detail: String,
    ) -> ClusterEventView {
        event(kind, cluster_id, other, self.now, actor, detail)
    }
}

/// A cluster event at `at` (with the other cluster of a merge or split).
pub(crate) fn event(
    kind: EventKind,
    cluster_id: i64,
    other: Option<i64>,
    at: UnixMicros,
    actor: &str,
    detail: String,
) -> ClusterEventView {
    ClusterEventView { kind, cluster_id, other_cluster_id: other, at, actor: actor.to_owned(), detail }
}

/// An identifier row as clustering needs it.
#[derive(Debug, Clone)]
pub(crate) struct IdentRow {
    pub id: i64,
    pub state: String,
    pub cluster_id: Option<i64>,
}

impl IdentRow {
    fn links(&self) -> bool {
        self.state.parse::<IdentifierState>().is_ok_and(IdentifierState::links)
    }
}

/// Creates identifier rows for keys not seen before (state normal).
pub(crate) async fn ensure_identifiers<'k>(
    txn: &Tx<'_>,
    keys: impl Iterator<Item = (&'k str, &'k str, &'k str)>,
) -> Result<(), DbErr> {
    let keys: Vec<(&str, &str, &str)> = keys.collect();
    for chunk in keys.chunks(IN_CHUNK / 4) {
        let rows = vec!["(?, ?, ?, 'normal', '', 0)"; chunk.len()].join(", ");
        let text = format!(
            "INSERT INTO identifiers (key, kind, display, state, state_reason, report_count) VALUES {rows} \
             ON CONFLICT (key) DO NOTHING"
        );
        let values = chunk
            .iter()
            .flat_map(|&(key, kind, display)| [Value::from(key), Value::from(kind), Value::from(display)])
            .collect();
        txn.execute(&text, values).await?;
    }
    Ok(())
}

/// Reads identifier rows by key, locking them on PostgreSQL (in key order).
pub(crate) async fn identifiers_by_key(txn: &Tx<'_>, keys: &[&str]) -> Result<HashMap<String, IdentRow>, DbErr> {
    let lock = if txn.locks_rows() { " ORDER BY key FOR UPDATE" } else { "" };
    let mut out = HashMap::with_capacity(keys.len());
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for chunk in sorted.chunks(IN_CHUNK) {
        let text = format!(
            "SELECT id, key, state, cluster_id FROM identifiers WHERE key IN ({}){lock}",
            placeholders(chunk.len())
        );
        let rows: Vec<(i64, String, String, Option<i64>)> =
            txn.fetch(&text, chunk.iter().map(|k| Value::from(*k)).collect()).await?;
        for (id, key, state, cluster_id) in rows {
            out.insert(key, IdentRow { id, state, cluster_id });
        }
    }
    Ok(out)
}

impl Change<'_> {
    /// Links newly inserted reports (each with the keys it carries) into clusters, merging the
    /// clusters they connect. Returns each report's cluster.
    pub(crate) async fn link_reports(&mut self, reports: &[ToLink]) -> Result<HashMap<i64, i64>, DbErr> {
        let tx = self.tx;
        let txn = &tx;
        let (config, now) = (self.config, self.now);
        let all_keys: Vec<&LinkableIdentifier> = {
            let mut seen = BTreeMap::new();
            for ToLink { keys, .. } in reports {
                for k in keys {
                    seen.entry(k.key()).or_insert(k);
                }
            }
            seen.into_values().collect()
        };
        ensure_identifiers(txn, all_keys.iter().map(|k| (k.key(), k.kind(), k.display()))).await?;
        let key_names: Vec<&str> = all_keys.iter().map(|k| k.key()).collect();
        let idents = identifiers_by_key(txn, &key_names).await?;

        // Edges, report counts, categories and first/last seen.
        let mut edges: Vec<(i64, i64)> = Vec::new();
        let mut added: BTreeMap<i64, Added> = BTreeMap::new();
        for &ToLink { report, category, ref keys } in reports {
            let mut ids: Vec<i64> = keys.iter().filter_map(|k| idents.get(k.key())).map(|r| r.id).collect();
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                edges.push((report, id));
                added.entry(id).or_default().add(category);
            }
        }
        insert_edges(txn, &edges, added, now).await?;

        // Components over the new reports, their linking identifiers, and the clusters those already
        // belong to (each existing cluster enters as a node of its own, with a negative id).
        let by_id: HashMap<i64, &IdentRow> = idents.values().map(|r| (r.id, r)).collect();
        let mut graph: Vec<(i64, i64)> = Vec::new();
        let mut report_idents: HashMap<i64, Vec<i64>> = HashMap::new();
        for &(report, ident) in &edges {
            let row = by_id[&ident];
            if row.links() {
                graph.push((report, ident));
                report_idents.entry(report).or_default().push(ident);
                if let Some(c) = row.cluster_id {
                    graph.push((-c, ident));
                }
            }
        }
        let nodes: Vec<i64> = reports.iter().map(|r| r.report).collect();
        let mut assigned = HashMap::with_capacity(reports.len());
        let mut touched = BTreeSet::new();
        let mut report_cluster: Vec<(i64, i64)> = Vec::with_capacity(reports.len());
        let mut ident_cluster: BTreeMap<i64, i64> = BTreeMap::new();
        let components = components(&nodes, &graph);
        // Components of new reports only get new clusters, all made in one statement.
        let fresh = components.iter().filter(|c| c.iter().all(|&n| n > 0) && !c.is_empty()).count();
        let mut fresh_ids = create_clusters(txn, config, now, fresh).await?.into_iter();
        let created: Vec<ClusterEventView> =
            fresh_ids.clone().map(|id| event(EventKind::Created, id, None, now, SYSTEM, String::new())).collect();
        self.record_many(created).await?;
        // Reports joining existing clusters: their events and reopenings are written for the whole
        // batch at once, not per cluster.
        let mut added = Vec::new();
        let mut reopen = Vec::new();
        for component in components {
            let existing: Vec<i64> = component.iter().filter(|&&n| n < 0).map(|&n| -n).collect();
            let new_reports: Vec<i64> = component.iter().copied().filter(|&n| n > 0).collect();
            if new_reports.is_empty() {
                continue;
            }
            let survivor = match existing.as_slice() {
                [] => fresh_ids.next().ok_or_else(|| DbErr::Custom("fewer new clusters than components".into()))?,
                // An identifier's cluster is always live (a merge moves its identifiers), so one
                // existing cluster is the survivor without reading it.
                [one] => *one,
                many => self.merge_clusters(many, SYSTEM, "linked by a new report").await?,
            };
            for r in &new_reports {
                report_cluster.push((*r, survivor));
                for i in report_idents.get(r).into_iter().flatten() {
                    ident_cluster.insert(*i, survivor);
                }
                assigned.insert(*r, survivor);
            }
            if !existing.is_empty() {
                let detail = format!("{} new report(s)", new_reports.len());
                reopen.push((survivor, format!("reopened: {detail}")));
                added.push(event(EventKind::ReportsAdded, survivor, None, now, SYSTEM, detail));
            }
            touched.insert(survivor);
        }
        self.record_many(added).await?;
        self.reopen_resting(&reopen).await?;
        // One statement per chunk for the whole batch, not one per component.
        execute_cases(txn, "UPDATE reports SET cluster_id = {case} WHERE id IN ({ids})", &report_cluster, vec![])
            .await?;
        let ident_cluster: Vec<(i64, i64)> = ident_cluster.into_iter().collect();
        execute_cases(txn, "UPDATE identifiers SET cluster_id = {case} WHERE id IN ({ids})", &ident_cluster, vec![])
            .await?;
        aggregates::recompute(txn, config, &touched.into_iter().collect::<Vec<_>>(), now).await?;
        Ok(assigned)
    }
}

/// A report to link: its id, category and the keys it carries.
pub(crate) struct ToLink {
    pub report: i64,
    pub category: Category,
    pub keys: Vec<LinkableIdentifier>,
}

/// What new edges add to one identifier: reports, and the bits of their categories.
#[derive(Default)]
struct Added {
    reports: i64,
    categories: i64,
}

impl Added {
    fn add(&mut self, category: Category) {
        self.reports += 1;
        self.categories |= category.bit();
    }
}

/// Stores report–identifier edges and adds to each identifier's report count, categories and
/// first/last seen (`added`: per identifier).
async fn insert_edges(
    txn: &Tx<'_>,
    edges: &[(i64, i64)],
    added: BTreeMap<i64, Added>,
    now: UnixMicros,
) -> Result<(), DbErr> {
    for chunk in edges.chunks(IN_CHUNK / 2) {
        let text = format!(
            "INSERT INTO report_links (identifier_id, report_id) VALUES {} ON CONFLICT DO NOTHING",
            vec!["(?, ?)"; chunk.len()].join(", ")
        );
        let values = chunk.iter().flat_map(|&(r, i)| [Value::from(i), Value::from(r)]).collect();
        txn.execute(&text, values).await?;
    }
    let rows: Vec<(i64, [i64; 2])> = added.iter().map(|(&id, a)| (id, [a.reports, a.categories])).collect();
    execute_case_columns(
        txn,
        "UPDATE identifiers SET report_count = report_count + {case0}, category_mask = category_mask | {case1}, \
         first_seen = COALESCE(first_seen, ?), last_seen = ? WHERE id IN ({ids})",
        &rows,
        vec![now.0.into(), now.0.into()],
    )
    .await?;
    Ok(())
}

impl Change<'_> {
    /// Links a stored report by keys it did not carry before (details a victim added): the report's
    /// cluster and the clusters of its new linking identifiers merge. Returns the report's cluster.
    pub(crate) async fn add_links(
        &mut self,
        report: i64,
        keys: &[LinkableIdentifier],
        reopen: bool,
    ) -> Result<i64, DbErr> {
        let tx = self.tx;
        let txn = &tx;
        let (config, now) = (self.config, self.now);
        let rows: Vec<(Option<i64>, String)> =
            txn.fetch("SELECT cluster_id, category FROM reports WHERE id = ?", vec![report.into()]).await?;
        let (current, category) =
            rows.into_iter().next().ok_or_else(|| DbErr::RecordNotFound(format!("report {report}")))?;
        let category: Category =
            category.parse().map_err(|_| DbErr::Custom(format!("reports.category = {category:?} is not readable")))?;
        ensure_identifiers(txn, keys.iter().map(|k| (k.key(), k.kind(), k.display()))).await?;
        let names: Vec<&str> = keys.iter().map(|k| k.key()).collect();
        let idents = identifiers_by_key(txn, &names).await?;
        let carried: BTreeSet<i64> = txn
            .fetch_ids("SELECT identifier_id FROM report_links WHERE report_id = ?", vec![report.into()])
            .await?
            .into_iter()
            .collect();
        let new: Vec<&IdentRow> = idents.values().filter(|r| !carried.contains(&r.id)).collect();
        let edges: Vec<(i64, i64)> = new.iter().map(|r| (report, r.id)).collect();
        let mut added: BTreeMap<i64, Added> = BTreeMap::new();
        for r in &new {
            added.entry(r.id).or_default().add(category);
        }
        insert_edges(txn, &edges, added, now).await?;

        let linking: Vec<&&IdentRow> = new.iter().filter(|r| r.links()).collect();
        let mut clusters: BTreeSet<i64> = linking.iter().filter_map(|r| r.cluster_id).collect();
        clusters.extend(current);
        let clusters: Vec<i64> = clusters.into_iter().collect();
        let survivor = match clusters.as_slice() {
            [] => {
                let id = create_cluster(txn, config, now).await?;
                self.record(event(EventKind::Created, id, None, now, SYSTEM, String::new())).await?;
                id
            }
            [one] => *one,
            many => self.merge_clusters(many, SYSTEM, "linked by details a victim added").await?,
        };
        txn.execute("UPDATE reports SET cluster_id = ? WHERE id = ?", vec![survivor.into(), report.into()]).await?;
        let ident_cluster: Vec<(i64, i64)> = linking.iter().map(|r| (r.id, survivor)).collect();
        execute_cases(txn, "UPDATE identifiers SET cluster_id = {case} WHERE id IN ({ids})", &ident_cluster, vec![])
            .await?;
        let detail = format!("details added to report {report}");
        self.record(event(EventKind::ReportsAdded, survivor, None, now, SYSTEM, detail.clone())).await?;
        if reopen {
            self.reopen_if_resting(survivor, &format!("reopened: {detail}")).await?;
        }
        aggregates::recompute(txn, config, &[survivor], now).await?;
        Ok(survivor)
    }
}

/// The manual links in force (an investigator's `LinkClusters`) as edges of the report graph:
/// each link is a hub of its own joining its two reports, numbered `-link_id` so that it never
/// meets an identifier's id. Those of one cluster's reports, or of every report.
pub(crate) async fn manual_edges(txn: &Tx<'_>, cluster: Option<i64>) -> Result<Vec<(i64, i64)>, DbErr> {
    let rows: Vec<(i64, i64, i64)> = match cluster {
        Some(c) => {
            txn.fetch(
                "SELECT m.id, m.report_a, m.report_b FROM manual_links m \
                 WHERE m.removed_at IS NULL AND m.report_a IN (SELECT id FROM reports WHERE cluster_id = ?)",
                vec![c.into()],
            )
            .await?
        }
        None => txn.fetch("SELECT id, report_a, report_b FROM manual_links WHERE removed_at IS NULL", vec![]).await?,
    };
    Ok(rows.into_iter().flat_map(|(id, a, b)| [(a, -id), (b, -id)]).collect())
}

/// Inserts an empty cluster (status new) and returns its id; `recompute` fills it in.
pub(crate) async fn create_cluster(txn: &Tx<'_>, config: &ClusterConfig, now: UnixMicros) -> Result<i64, DbErr> {
    let ids = create_clusters(txn, config, now, 1).await?;
    ids.first().copied().ok_or_else(|| DbErr::Custom("no cluster id returned".into()))
}

/// Inserts `n` empty clusters (status new) in one statement per chunk and returns their ids in
/// ascending order; `recompute` fills them in. The clusters are alike, so which id a caller gives
/// to which new component does not matter.
pub(crate) async fn create_clusters(
    txn: &Tx<'_>,
    config: &ClusterConfig,
    now: UnixMicros,
    n: usize,
) -> Result<Vec<i64>, DbErr> {
    const ROW: &str = "(?, ?, 1, ?, 0, 0, 0, '', 0, ',', ',', 0, '', 0, '[]', ?)";
    let mut ids = Vec::with_capacity(n);
    let mut left = n;
    while left > 0 {
        let rows = left.min(IN_CHUNK / 4);
        left -= rows;
        let text = format!(
            "INSERT INTO clusters (created_at, status, version, reference_currency, report_count, victim_count, \
             total_loss_minor, loss_by_currency, recoverable_minor, categories, countries, ongoing_reports, \
             identifiers_by_kind, priority_milli, priority_components, priority_at) VALUES {} RETURNING id",
            vec![ROW; rows].join(", ")
        );
        let values = (0..rows)
            .flat_map(|_| {
                [
                    Value::from(now.0),
                    ClusterStatus::New.as_str().into(),
                    config.rates.reference().into(),
                    Value::from(now.0),
                ]
            })
            .collect();
        ids.extend(txn.fetch_ids(&text, values).await?);
    }
    ids.sort_unstable();
    Ok(ids)
}

/// The SET clause that retires a cluster merged into another (values: the status `merged`, then
/// the survivor): no claim, no reports, no priority, out of every queue.
pub(crate) const RETIRE: &str = "status = ?, merged_into = ?, claim_holder = NULL, claim_expires_at = NULL, \
     rescore_at = NULL, version = version + 1, report_count = 0, victim_count = 0, total_loss_minor = 0, \
     loss_by_currency = '', recoverable_minor = 0, recall_closes_at = NULL, ongoing_reports = 0, \
     identifiers_by_kind = '', priority_milli = 0, priority_components = '[]'";

/// A cluster about to merge: id, reports, status, assignee, agency referred to, claim holder.
type MergingCluster = (i64, i64, String, Option<String>, Option<String>, Option<String>);

impl Change<'_> {
    /// Merges clusters: the one with the most reports survives (ties: the oldest, i.e. the smallest
    /// id) and keeps its claim and status; the others point at it. Returns the survivor.
    pub(crate) async fn merge_clusters(&mut self, clusters: &[i64], actor: &str, why: &str) -> Result<i64, DbErr> {
        let tx = self.tx;
        let txn = &tx;
        let now = self.now;
        lock_clusters(txn, clusters).await?;
        let mut sizes: Vec<(i64, i64)> = Vec::with_capacity(clusters.len());
        let mut states: HashMap<i64, String> = HashMap::new();
        let mut open_loser_states = Vec::new();
        for chunk in clusters.chunks(IN_CHUNK) {
            let text = format!(
                "SELECT id, report_count, status, assignee, referred_to, claim_holder FROM clusters \
             WHERE id IN ({}) AND merged_into IS NULL",
                placeholders(chunk.len())
            );
            let rows: Vec<MergingCluster> = txn.fetch(&text, chunk.iter().map(|&c| Value::from(c)).collect()).await?;
            for (id, size, status, assignee, referred_to, claim_holder) in rows {
                sizes.push((id, size));
                // What the merged cluster's triage state was, so that the history says what was folded in.
                let mut state = format!("cluster {id} ({status}");
                for (label, v) in [("assignee", assignee), ("referred to", referred_to), ("claimed by", claim_holder)] {
                    if let Some(v) = v {
                        state.push_str(&format!(", {label} {v}"));
                    }
                }
                state.push(')');
                open_loser_states.push((id, status));
                states.insert(id, state);
            }
        }
        let survivor =
            merge_survivor(&sizes).ok_or_else(|| DbErr::Custom(format!("clusters {clusters:?} not found")))?;
        let losers: Vec<i64> = sizes.iter().map(|&(id, _)| id).filter(|&id| id != survivor).collect();
        if losers.is_empty() {
            return Ok(survivor);
        }
        // The survivor's membership changed: a decision read before the merge is stale.
        txn.execute("UPDATE clusters SET version = version + 1 WHERE id = ?", vec![survivor.into()]).await?;
        let s = Value::from(survivor);
        execute_in(txn, "UPDATE reports SET cluster_id = ? WHERE cluster_id IN ({ids})", vec![s.clone()], &losers)
            .await?;
        execute_in(txn, "UPDATE identifiers SET cluster_id = ? WHERE cluster_id IN ({ids})", vec![s.clone()], &losers)
            .await?;
        // Earlier merges into a loser now point at the survivor, so lineage is one hop.
        execute_in(txn, "UPDATE clusters SET merged_into = ? WHERE merged_into IN ({ids})", vec![s.clone()], &losers)
            .await?;
        execute_in(
            txn,
            &format!("UPDATE clusters SET {RETIRE} WHERE id IN ({{ids}})"),
            vec![ClusterStatus::Merged.as_str().into(), s],
            &losers,
        )
        .await?;
        for &loser in &losers {
            let detail = format!("{}: {why}", states.get(&loser).map(String::as_str).unwrap_or_default());
            self.record(event(EventKind::Absorbed, survivor, Some(loser), now, actor, detail)).await?;
            self.record(event(EventKind::MergedInto, loser, Some(survivor), now, actor, why.to_owned())).await?;
        }
        let open_loser = open_loser_states.iter().any(|(id, status)| {
            *id != survivor
                && status
                    .parse::<ClusterStatus>()
                    .is_ok_and(|s| !matches!(s, ClusterStatus::Closed | ClusterStatus::Monitoring))
        });
        if open_loser {
            self.reopen_if_resting(survivor, "reopened: an open cluster merged in").await?;
        }
        Ok(survivor)
    }

    /// Brings a closed or monitored cluster back to triaging: new reports or an open case joined it,
    /// and someone must look again.
    async fn reopen_if_resting(&mut self, id: i64, why: &str) -> Result<(), DbErr> {
        self.reopen_resting(&[(id, why.to_owned())]).await
    }

    /// Puts closed and monitored clusters among `clusters` back into triage (status triaging), each
    /// with its reason in the history: one statement per chunk.
    async fn reopen_resting(&mut self, clusters: &[(i64, String)]) -> Result<(), DbErr> {
        let tx = self.tx;
        let txn = &tx;
        let now = self.now;
        let why: HashMap<i64, &str> = clusters.iter().map(|(id, why)| (*id, why.as_str())).collect();
        let mut events = Vec::new();
        for chunk in clusters.chunks(IN_CHUNK) {
            let sql = format!(
                "UPDATE clusters SET status = ?, disposition = NULL, version = version + 1 \
             WHERE id IN ({}) AND status IN (?, ?) RETURNING id",
                placeholders(chunk.len())
            );
            let mut values: Vec<Value> = vec![ClusterStatus::Triaging.as_str().into()];
            values.extend(chunk.iter().map(|(id, _)| Value::from(*id)));
            values.extend([ClusterStatus::Closed.as_str().into(), ClusterStatus::Monitoring.as_str().into()]);
            for id in txn.fetch_ids(&sql, values).await? {
                let reason = why.get(&id).copied().unwrap_or_default().to_owned();
                events.push(event(EventKind::StatusChanged, id, None, now, SYSTEM, reason));
            }
        }
        events.sort_by_key(|e| e.cluster_id);
        self.record_many(events).await
    }

    /// Splits a cluster into the connected components of what still links it. The largest component
    /// keeps the id (ties: the one with the oldest report); the others become new clusters, unclaimed
    /// and new, with lineage. Returns the new clusters.
    pub(crate) async fn split_cluster(&mut self, cluster_id: i64, actor: &str, why: &str) -> Result<Vec<i64>, DbErr> {
        let tx = self.tx;
        let txn = &tx;
        let (config, now) = (self.config, self.now);
        lock_clusters(txn, &[cluster_id]).await?;
        let reports = txn.fetch_ids("SELECT id FROM reports WHERE cluster_id = ?", vec![cluster_id.into()]).await?;
        let links: Vec<(i64, i64)> = txn
            .fetch(
                "SELECT l.report_id, l.identifier_id FROM report_links l \
         JOIN reports r ON r.id = l.report_id JOIN identifiers i ON i.id = l.identifier_id \
         WHERE r.cluster_id = ? AND i.state = 'normal'",
                vec![cluster_id.into()],
            )
            .await?;
        // Manual links hold the cluster together as identifiers do.
        let mut graph = links.clone();
        graph.extend(manual_edges(txn, Some(cluster_id)).await?);
        let mut parts = components(&reports, &graph);
        if parts.len() <= 1 {
            aggregates::recompute(txn, config, &[cluster_id], now).await?;
            return Ok(Vec::new());
        }
        // Components come sorted by their oldest report, so the first of the largest wins ties.
        if let Some(k) = split_keeper(&parts) {
            parts.remove(k);
        }
        let mut idents_of: HashMap<i64, Vec<i64>> = HashMap::new();
        for &(r, i) in &links {
            idents_of.entry(r).or_default().push(i);
        }
        let mut created = Vec::with_capacity(parts.len());
        for part in parts {
            let id = create_cluster(txn, config, now).await?;
            execute_in(txn, "UPDATE reports SET cluster_id = ? WHERE id IN ({ids})", vec![id.into()], &part).await?;
            let mut idents: Vec<i64> =
                part.iter().flat_map(|r| idents_of.get(r).into_iter().flatten().copied()).collect();
            idents.sort_unstable();
            idents.dedup();
            execute_in(txn, "UPDATE identifiers SET cluster_id = ? WHERE id IN ({ids})", vec![id.into()], &idents)
                .await?;
            self.record(event(EventKind::SplitFrom, id, Some(cluster_id), now, actor, why.to_owned())).await?;
            self.record(event(EventKind::SplitOff, cluster_id, Some(id), now, actor, why.to_owned())).await?;
            created.push(id);
        }
        txn.execute("UPDATE clusters SET version = version + 1 WHERE id = ?", vec![cluster_id.into()]).await?;
        let mut all = created.clone();
        all.push(cluster_id);
        aggregates::recompute(txn, config, &all, now).await?;
        Ok(created)
    }

    /// Recomputes the aggregates and priority of `clusters` (see [`aggregates::recompute`]).
    pub(crate) async fn recompute(&self, clusters: &[i64]) -> Result<HashMap<i64, i64>, DbErr> {
        aggregates::recompute(&self.tx, self.config, clusters, self.now).await
    }
}
