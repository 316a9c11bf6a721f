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
    Bridge, BridgeStanding, Category, ClusterStatus, EventKind, IdentifierState, Naming, UnixMicros, components,
    merge_survivor, split_keeper,
};

use crate::cluster_views::ClusterEventView;
use crate::config::ClusterConfig;
use crate::db::entity::cluster_event;
use crate::db::records::cluster_event_row;
use crate::db::{
    DbErr, IN_CHUNK, Tx, Value, execute_case_columns, execute_cases, execute_in, insert_chunked, lock_clusters,
    placeholders,
};
use crate::{aggregates, bridges};

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
    /// Reports that carried it when read.
    pub report_count: i64,
    /// An institution's kind of number.
    pub institutional: bool,
    /// Where it stands with the bridge rule (`''` when it is no bridge).
    pub bridge: String,
    /// Its report count when the bridge rule last judged it.
    pub bridge_judged_at: i64,
}

impl IdentRow {
    fn links(&self) -> bool {
        self.state.parse::<IdentifierState>().is_ok_and(IdentifierState::links)
    }

    /// Whether the bridge rule may judge it: linking or held by the rule, and not linked by a supervisor.
    fn judged_by_rule(&self) -> bool {
        let state = self.state.parse::<IdentifierState>();
        matches!(state, Ok(IdentifierState::Normal | IdentifierState::Held))
            && self.bridge.parse::<BridgeStanding>().map_or(true, BridgeStanding::judged_by_rule)
    }
}

/// Who the bridge rule's changes are attributed to, and the source of the states it sets.
pub(crate) const BRIDGE_RULE: &str = "rule";

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

/// An identifier row as read: id, key, state, cluster, reports, institutional, bridge, judged at.
type IdentTuple = (i64, String, String, Option<i64>, i64, bool, String, i64);

/// Marks as an institution's kind of number the identifiers of `namings` that are named so and
/// not yet marked (a row is made before anything knows its kind of number).
async fn mark_institutional(
    txn: &Tx<'_>,
    namings: &[&Naming],
    idents: &mut HashMap<String, IdentRow>,
) -> Result<(), DbErr> {
    let mut ids = Vec::new();
    for n in namings.iter().filter(|n| n.institutional) {
        if let Some(row) = idents.get_mut(n.identifier.key()).filter(|r| !r.institutional) {
            row.institutional = true;
            ids.push(row.id);
        }
    }
    execute_in(txn, "UPDATE identifiers SET institutional = ? WHERE id IN ({ids})", vec![true.into()], &ids).await?;
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
            "SELECT id, key, state, cluster_id, report_count, institutional, bridge, bridge_judged_at \
             FROM identifiers WHERE key IN ({}){lock}",
            placeholders(chunk.len())
        );
        let rows: Vec<IdentTuple> = txn.fetch(&text, chunk.iter().map(|k| Value::from(*k)).collect()).await?;
        for (id, key, state, cluster_id, report_count, institutional, bridge, bridge_judged_at) in rows {
            out.insert(key, IdentRow { id, state, cluster_id, report_count, institutional, bridge, bridge_judged_at });
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
        let all_keys: Vec<&Naming> = {
            let mut seen: BTreeMap<&str, &Naming> = BTreeMap::new();
            for ToLink { namings, .. } in reports {
                for n in namings {
                    let first = seen.entry(n.identifier.key()).or_insert(n);
                    if n.institutional && !first.institutional {
                        *first = n;
                    }
                }
            }
            seen.into_values().collect()
        };
        ensure_identifiers(
            txn,
            all_keys.iter().map(|n| (n.identifier.key(), n.identifier.kind(), n.identifier.display())),
        )
        .await?;
        let key_names: Vec<&str> = all_keys.iter().map(|n| n.identifier.key()).collect();
        let mut idents = identifiers_by_key(txn, &key_names).await?;
        mark_institutional(txn, &all_keys, &mut idents).await?;

        // Edges, report counts, categories and first/last seen.
        let mut edges: Vec<(i64, i64)> = Vec::new();
        let mut strong_edges: Vec<(i64, i64, bool)> = Vec::new();
        let mut added: BTreeMap<i64, Added> = BTreeMap::new();
        for &ToLink { report, category, ref namings } in reports {
            let mut ids: Vec<(i64, bool)> =
                namings.iter().filter_map(|n| idents.get(n.identifier.key()).map(|r| (r.id, n.strong))).collect();
            ids.sort_unstable();
            // Two keys of one identifier row (never, but cheaply): strong wins, as `namings_of_report` does.
            ids.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                kept.1 |= same && later.1;
                same
            });
            for (id, strong) in ids {
                edges.push((report, id));
                strong_edges.push((report, id, strong));
                added.entry(id).or_default().add(category, strong);
            }
        }
        let batch_reports: BTreeMap<i64, i64> = added.iter().map(|(&id, a)| (id, a.reports)).collect();
        insert_edges(txn, &strong_edges, added, now).await?;
        // The bridge rule, before linking: an identifier held now does not join this batch's
        // reports to anything, so its clusters are not merged only to be split again.
        let merging = merging_identifiers(reports, &edges, &idents);
        let judged = self.judge_due(&mut idents, &batch_reports, &merging).await?;

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
        if judged.is_empty() {
            return Ok(assigned);
        }
        self.apply_judgements(judged).await?;
        // Holding splits clusters and releasing merges them: the batch's reports may have moved.
        let ids: Vec<i64> = assigned.keys().copied().collect();
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!("SELECT id, cluster_id FROM reports WHERE id IN ({})", placeholders(chunk.len()));
            let rows: Vec<(i64, Option<i64>)> =
                txn.fetch(&sql, chunk.iter().map(|&r| Value::from(r)).collect()).await?;
            for (report, cluster) in rows {
                if let Some(c) = cluster {
                    assigned.insert(report, c);
                }
            }
        }
        Ok(assigned)
    }

    /// Judges, by the bridge rule, the identifiers of `idents` that are due (`batch_reports`:
    /// the reports this batch adds to each; see `BridgeConfig::due`), holding or releasing them
    /// (their state here and in `idents`, so that linking sees it). The clusters they held
    /// together or kept apart are changed afterwards, by [`Self::apply_judgements`].
    async fn judge_due(
        &mut self,
        idents: &mut HashMap<String, IdentRow>,
        batch_reports: &BTreeMap<i64, i64>,
        merging: &BTreeSet<i64>,
    ) -> Result<Vec<Judged>, DbErr> {
        let tx = self.tx;
        let config = &self.config.bridges;
        let mut due: Vec<(&String, &mut IdentRow)> = idents
            .iter_mut()
            .filter(|(_, r)| r.judged_by_rule())
            .filter(|(_, r)| {
                let reports = r.report_count + batch_reports.get(&r.id).copied().unwrap_or(0);
                batch_reports.contains_key(&r.id)
                    && (config.due(reports, r.bridge_judged_at)
                        || merging.contains(&r.id) && config.due_on_merge(reports, r.bridge_judged_at))
            })
            .collect();
        due.sort_by_key(|(_, r)| r.id);
        let mut judged = Vec::with_capacity(due.len());
        for (key, row) in due {
            let reports = row.report_count + batch_reports.get(&row.id).copied().unwrap_or(0);
            let bridge = bridges::judge_stored(&tx, config, row.id, row.institutional).await?;
            let was_held = row.state == IdentifierState::Held.as_str();
            let held = bridges::holds(bridge.as_ref());
            let cluster = row.cluster_id;
            if held != was_held {
                let state = if held { IdentifierState::Held } else { IdentifierState::Normal };
                tx.execute(
                    "UPDATE identifiers SET state = ?, state_reason = '', state_source = ?, state_changed_at = ?, \
                     cluster_id = NULL WHERE id = ?",
                    vec![state.as_str().into(), BRIDGE_RULE.into(), self.now.0.into(), row.id.into()],
                )
                .await?;
                row.state = state.as_str().to_owned();
                row.cluster_id = None;
            }
            // Written now so that the next identifier judged in this batch sees it; the
            // explanation names clusters, which are known once linking is done.
            bridges::write_judgement(&tx, config, row.id, bridge.as_ref(), &[], reports).await?;
            let change = match (was_held, held) {
                (false, true) => Some(Turn::Held { was_in: cluster }),
                (true, false) => Some(Turn::Released),
                _ => None,
            };
            judged.push(Judged { id: row.id, key: key.clone(), bridge, change, reports });
        }
        Ok(judged)
    }

    /// Changes the clusters of judged identifiers: a newly held one splits the cluster it held
    /// together (lineage events, as an exclusion does), a released one merges the clusters of its
    /// reports; then every bridge's explanation names the clusters its groups are in.
    async fn apply_judgements(&mut self, judged: Vec<Judged>) -> Result<(), DbErr> {
        let tx = self.tx;
        for j in &judged {
            let groups = j.bridge.as_ref().map_or(0, |b| b.groups.len());
            match j.change {
                Some(Turn::Held { was_in: Some(cluster) }) => {
                    // The cluster may have merged into another while this batch linked.
                    let live: Vec<(Option<i64>,)> =
                        tx.fetch("SELECT merged_into FROM clusters WHERE id = ?", vec![cluster.into()]).await?;
                    let live = live.first().and_then(|r| r.0).unwrap_or(cluster);
                    let why = format!("{} held by the bridge rule: a bridge between {groups} groups", j.key);
                    self.split_cluster(live, SYSTEM, &why).await?;
                }
                Some(Turn::Released) => {
                    let why = format!("{} released by the bridge rule: {groups} groups", j.key);
                    self.relink(j.id, SYSTEM, &why).await?;
                }
                _ => {}
            }
        }
        let found: BTreeMap<i64, Bridge> = judged.iter().filter_map(|j| j.bridge.clone().map(|b| (j.id, b))).collect();
        let clusters = bridges::group_clusters(&tx, &found).await?;
        for (id, bridge) in &found {
            let reports = judged.iter().find(|j| j.id == *id).map_or(0, |j| j.reports);
            let of = clusters.get(id).map(Vec::as_slice).unwrap_or_default();
            bridges::write_judgement(&tx, &self.config.bridges, *id, Some(bridge), of, reports).await?;
        }
        Ok(())
    }

    /// Links an identifier that starts linking again: the clusters of its reports merge, and it
    /// points at the survivor. Returns the survivor, if its reports have clusters.
    pub(crate) async fn relink(&mut self, identifier: i64, actor: &str, why: &str) -> Result<Option<i64>, DbErr> {
        let tx = self.tx;
        let clusters = tx
            .fetch_ids(
                "SELECT DISTINCT r.cluster_id FROM report_links l JOIN reports r ON r.id = l.report_id \
                 WHERE l.identifier_id = ? AND r.cluster_id IS NOT NULL",
                vec![identifier.into()],
            )
            .await?;
        if clusters.is_empty() {
            return Ok(None);
        }
        let survivor = self.merge_clusters(&clusters, actor, why).await?;
        tx.execute("UPDATE identifiers SET cluster_id = ? WHERE id = ?", vec![survivor.into(), identifier.into()])
            .await?;
        self.recompute(&[survivor]).await?;
        Ok(Some(survivor))
    }
}

/// The linking identifiers through which a batch's reports would join clusters that are apart:
/// those its reports carry in a component of the batch's graph that holds two or more existing
/// clusters (the same graph the link step builds).
fn merging_identifiers(reports: &[ToLink], edges: &[(i64, i64)], idents: &HashMap<String, IdentRow>) -> BTreeSet<i64> {
    let by_id: HashMap<i64, &IdentRow> = idents.values().map(|r| (r.id, r)).collect();
    let mut graph: Vec<(i64, i64)> = Vec::new();
    for &(report, ident) in edges {
        if let Some(row) = by_id.get(&ident).filter(|r| r.links()) {
            graph.push((report, ident));
            if let Some(c) = row.cluster_id {
                graph.push((-c, ident));
            }
        }
    }
    let nodes: Vec<i64> = reports.iter().map(|r| r.report).collect();
    let mut merging = BTreeSet::new();
    for component in components(&nodes, &graph) {
        if component.iter().filter(|&&n| n < 0).count() < 2 {
            continue;
        }
        let members: BTreeSet<i64> = component.into_iter().filter(|&n| n > 0).collect();
        merging.extend(graph.iter().filter(|(r, _)| members.contains(r)).map(|&(_, i)| i));
    }
    merging
}

/// An identifier the bridge rule judged in a batch.
struct Judged {
    id: i64,
    key: String,
    /// What the rule found; `None` when it is no bridge.
    bridge: Option<Bridge>,
    /// Whether it stopped or started linking.
    change: Option<Turn>,
    /// Its report count when judged.
    reports: i64,
}

/// A change of an identifier's linking by the bridge rule.
enum Turn {
    /// Held; it was linking the cluster `was_in`.
    Held { was_in: Option<i64> },
    /// Released: it links again.
    Released,
}

/// A report to link: its id, category and the keys it carries, with how it names them.
pub(crate) struct ToLink {
    pub report: i64,
    pub category: Category,
    pub namings: Vec<Naming>,
}

/// What new edges add to one identifier: reports, strong reports, and the bits of their categories.
#[derive(Default)]
struct Added {
    reports: i64,
    strong: i64,
    categories: i64,
}

impl Added {
    fn add(&mut self, category: Category, strong: bool) {
        self.reports += 1;
        self.strong += i64::from(strong);
        self.categories |= category.bit();
    }
}

/// Stores report–identifier edges `(report, identifier, strong)` and adds to each identifier's
/// report count, strong count, categories and first/last seen (`added`: per identifier).
async fn insert_edges(
    txn: &Tx<'_>,
    edges: &[(i64, i64, bool)],
    added: BTreeMap<i64, Added>,
    now: UnixMicros,
) -> Result<(), DbErr> {
    for chunk in edges.chunks(IN_CHUNK / 3) {
        let text = format!(
            "INSERT INTO report_links (identifier_id, report_id, strong) VALUES {} ON CONFLICT DO NOTHING",
            vec!["(?, ?, ?)"; chunk.len()].join(", ")
        );
        let values = chunk.iter().flat_map(|&(r, i, s)| [Value::from(i), Value::from(r), Value::from(s)]).collect();
        txn.execute(&text, values).await?;
    }
    let rows: Vec<(i64, [i64; 3])> = added.iter().map(|(&id, a)| (id, [a.reports, a.strong, a.categories])).collect();
    execute_case_columns(
        txn,
        "UPDATE identifiers SET report_count = report_count + {case0}, strong_count = strong_count + {case1}, \
         category_mask = category_mask | {case2}, first_seen = COALESCE(first_seen, ?), last_seen = ? \
         WHERE id IN ({ids})",
        &rows,
        vec![now.0.into(), now.0.into()],
    )
    .await?;
    Ok(())
}

impl Change<'_> {
    /// Links a stored report by keys it did not carry before (details a victim added): the report's
    /// cluster and the clusters of its new linking identifiers merge. Returns the report's cluster.
    pub(crate) async fn add_links(&mut self, report: i64, namings: &[Naming], reopen: bool) -> Result<i64, DbErr> {
        let tx = self.tx;
        let txn = &tx;
        let (config, now) = (self.config, self.now);
        let rows: Vec<(Option<i64>, String)> =
            txn.fetch("SELECT cluster_id, category FROM reports WHERE id = ?", vec![report.into()]).await?;
        let (current, category) =
            rows.into_iter().next().ok_or_else(|| DbErr::RecordNotFound(format!("report {report}")))?;
        let category: Category =
            category.parse().map_err(|_| DbErr::Custom(format!("reports.category = {category:?} is not readable")))?;
        ensure_identifiers(
            txn,
            namings.iter().map(|n| (n.identifier.key(), n.identifier.kind(), n.identifier.display())),
        )
        .await?;
        let names: Vec<&str> = namings.iter().map(|n| n.identifier.key()).collect();
        let mut idents = identifiers_by_key(txn, &names).await?;
        let all: Vec<&Naming> = namings.iter().collect();
        mark_institutional(txn, &all, &mut idents).await?;
        let strong: BTreeSet<&str> = namings.iter().filter(|n| n.strong).map(|n| n.identifier.key()).collect();
        let carried: BTreeSet<i64> = txn
            .fetch_ids("SELECT identifier_id FROM report_links WHERE report_id = ?", vec![report.into()])
            .await?
            .into_iter()
            .collect();
        let new: Vec<(&String, &IdentRow)> = idents.iter().filter(|(_, r)| !carried.contains(&r.id)).collect();
        let edges: Vec<(i64, i64, bool)> =
            new.iter().map(|(key, r)| (report, r.id, strong.contains(key.as_str()))).collect();
        let mut added: BTreeMap<i64, Added> = BTreeMap::new();
        for &(_, id, strong) in &edges {
            added.entry(id).or_default().add(category, strong);
        }
        insert_edges(txn, &edges, added, now).await?;
        let new: Vec<&IdentRow> = new.into_iter().map(|(_, r)| r).collect();

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
