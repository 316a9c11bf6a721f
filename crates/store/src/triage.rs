//! Investigators' changes, each in a transaction of its own: identifier decisions (exclude,
//! safelist, back to normal; and the safelist files applied at start), claims (a lease that lapses), and workflow updates that check the
//! cluster's version. Claims are conditional updates — "set the claim where nobody holds a live
//! one" — so that two callers can never both win, on SQLite and on PostgreSQL alike.

use std::collections::{BTreeSet, HashSet};

use scamtrail_core::{
    BridgeStanding, ClusterStatus, Disposition, EventKind, IdentifierState, LinkableIdentifier, TAGS_PER_CLUSTER_MAX,
    Tag, UnixMicros, WorkflowChange,
};

use crate::clustering::{Change, SYSTEM, ensure_identifiers, identifiers_by_key};
use crate::db::entity::cluster;
use crate::db::{DbErr, Intent, Tx, Value, lock_clusters, placeholders};
use crate::error::StoreError;
use crate::queues::{self, Queue, QueueFilter};
use crate::shared::Shared;

/// A change to a cluster's triage state; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterUpdate {
    /// The cluster.
    pub cluster_id: i64,
    /// The version the caller read.
    pub version: i64,
    /// The new status.
    pub status: Option<ClusterStatus>,
    /// The new assignee; `Some(None)` clears it.
    pub assignee: Option<Option<String>>,
    /// Why it is closed.
    pub disposition: Option<Disposition>,
    /// The agency it is referred to.
    pub referred_to: Option<String>,
    /// A note to add.
    pub note: Option<String>,
    /// Tags to put on the cluster (those it carries already are left as they are).
    pub add_tags: Vec<Tag>,
    /// Tags to take off (those it does not carry are ignored).
    pub remove_tags: Vec<Tag>,
    /// Whether the caller may reopen a closed cluster and assign or unassign others.
    pub supervisor: bool,
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

/// Where an identifier decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateSource {
    /// The safelist file shipped with scamtrail or given at start.
    Shipped,
    /// An investigator or administrator over the API.
    Api,
}

impl StateSource {
    fn as_str(self) -> &'static str {
        match self {
            StateSource::Shipped => "shipped",
            StateSource::Api => "api",
        }
    }
}

/// Sets an identifier's state, splitting or merging clusters as it stops or starts linking.
/// Returns the clusters created by a split or the survivor of a merge.
async fn set_identifier_state(
    change: &mut Change<'_>,
    decision: &IdentifierDecision,
    state: IdentifierState,
    actor: &str,
    source: StateSource,
) -> Result<Vec<i64>, DbErr> {
    // The keys the identifier implies are the same account in another shape: a decision on one
    // is a decision on all, or the other shape would keep linking what the investigator parted.
    let mut changed = set_one_state(change, decision, state, actor, source).await?;
    let linkable = LinkableIdentifier::new(decision.key.clone(), decision.kind.clone(), decision.display.clone());
    for implied in linkable.map(LinkableIdentifier::with_implied).unwrap_or_default().into_iter().skip(1) {
        let decision = IdentifierDecision {
            key: implied.key().to_owned(),
            kind: implied.kind().to_owned(),
            display: implied.display().to_owned(),
            reason: decision.reason.clone(),
        };
        changed.extend(set_one_state(change, &decision, state, actor, source).await?);
    }
    Ok(changed)
}

/// Sets one key's state (see [`set_identifier_state`]).
async fn set_one_state(
    change: &mut Change<'_>,
    decision: &IdentifierDecision,
    state: IdentifierState,
    actor: &str,
    source: StateSource,
) -> Result<Vec<i64>, DbErr> {
    let tx = change.tx;
    let key = decision.key.as_str();
    ensure_identifiers(&tx, std::iter::once((key, decision.kind.as_str(), decision.display.as_str()))).await?;
    let row = identifiers_by_key(&tx, &[key])
        .await?
        .remove(key)
        .ok_or_else(|| DbErr::Custom(format!("identifier {key} vanished")))?;
    let was_linking = row.state.parse::<IdentifierState>().is_ok_and(IdentifierState::links);
    let links = state.links();
    // A decision by hand settles the bridge rule's question: linking a held or marked bridge says
    // it is a real shared account (the rule never holds it again); excluding or safelisting one
    // answers it otherwise.
    let was_bridge = row.bridge.parse::<BridgeStanding>().is_ok();
    let bridge = if state == IdentifierState::Normal && was_bridge { BridgeStanding::Linked.as_str() } else { "" };
    tx.execute(
        "UPDATE identifiers SET state = ?, state_reason = ?, state_source = ?, state_changed_at = ?, bridge = ?, \
         bridge_detail = CASE WHEN ? = '' THEN '' ELSE bridge_detail END WHERE id = ?",
        vec![
            state.as_str().into(),
            decision.reason.as_str().into(),
            source.as_str().into(),
            change.now.0.into(),
            bridge.into(),
            bridge.into(),
            row.id.into(),
        ],
    )
    .await?;
    let why = format!("{key} {} by {actor}: {}", state.as_str(), decision.reason);
    match (was_linking, links, row.cluster_id) {
        (true, false, Some(c)) => {
            tx.execute("UPDATE identifiers SET cluster_id = NULL WHERE id = ?", vec![row.id.into()]).await?;
            change.split_cluster(c, actor, &why).await
        }
        (false, true, _) => Ok(change.relink(row.id, actor, &why).await?.into_iter().collect()),
        _ => Ok(Vec::new()),
    }
}

/// Sets an identifier's state in a clustering transaction of its own and broadcasts what
/// changed; returns the clusters created or merged into.
pub(crate) async fn decide(
    shared: &Shared,
    decision: &IdentifierDecision,
    state: IdentifierState,
    actor: &str,
    source: StateSource,
) -> Result<Vec<i64>, StoreError> {
    let (changed, pending) = shared
        .pool
        .transaction(Intent::Cluster, async |tx| {
            let mut change = Change::new(tx, &shared.clusters, UnixMicros::now());
            let changed = set_identifier_state(&mut change, decision, state, actor, source).await?;
            Ok::<_, DbErr>((changed, change.pending))
        })
        .await?;
    shared.publish(pending.events).await;
    Ok(changed)
}

/// Safelists the entries of the shipped (or configured) safelist that no one has decided on over
/// the API, and returns to normal (relinking) what an earlier start safelisted from a file but
/// the files no longer list; an administrator's decision always wins over the files. Returns how
/// many identifiers changed.
pub(crate) async fn apply_safelist(shared: &Shared, entries: &[IdentifierDecision]) -> Result<usize, StoreError> {
    let mut changed = 0;
    let listed: HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    let shipped: Vec<(String, String, String)> = shared
        .pool
        .fetch(
            "SELECT key, kind, display FROM identifiers WHERE state_source = 'shipped' AND state = ?",
            vec![IdentifierState::Safelisted.as_str().into()],
        )
        .await?;
    let dropped = shipped.into_iter().filter(|(key, _, _)| !listed.contains(key.as_str()));
    for (key, kind, display) in dropped {
        let decision = IdentifierDecision { key, kind, display, reason: "no longer on the safelist".into() };
        decide(shared, &decision, IdentifierState::Normal, SYSTEM, StateSource::Shipped).await?;
        changed += 1;
    }
    for entry in entries {
        let existing = shared.pool.identifier(&entry.key).await?;
        let decided = existing.as_ref().is_some_and(|r| {
            r.state_source.as_deref() == Some("api")
                || (r.state == IdentifierState::Safelisted.as_str() && r.state_reason == entry.reason)
        });
        if decided {
            continue;
        }
        decide(shared, entry, IdentifierState::Safelisted, SYSTEM, StateSource::Shipped).await?;
        changed += 1;
    }
    Ok(changed)
}

/// How one try to claim a queue's first cluster ended.
enum Try {
    /// Nothing waits in the queue.
    Empty,
    /// The claim was taken: the cluster after it, and the claim's event.
    Won(Box<(Option<cluster::Model>, crate::clustering::Pending)>),
    /// A competing claimer took this cluster first.
    Lost(i64),
}

/// Claims the first unclaimed cluster of a queue for `holder` until `now + lease` and broadcasts
/// the claim.
pub(crate) async fn claim_next(
    shared: &Shared,
    queue: Queue,
    filter: &QueueFilter,
    holder: &str,
    lease_seconds: i64,
) -> Result<Option<cluster::Model>, StoreError> {
    // A competing claimer may win the candidate between the read and the conditional update;
    // then the next candidate is tried. Each try is its own short transaction.
    let mut tried: Vec<i64> = Vec::new();
    for _ in 0..64 {
        let now = UnixMicros::now();
        let excluded = &tried;
        let outcome = shared
            .pool
            .transaction(Intent::Write, async |tx| {
                let (condition, mut values) = queues::condition(queue, filter, now, shared.clusters.hot_threshold);
                let mut sql = format!("SELECT c.id FROM clusters c WHERE {condition}");
                if !excluded.is_empty() {
                    sql.push_str(&format!(" AND c.id NOT IN ({})", placeholders(excluded.len())));
                    values.extend(excluded.iter().map(|&t| Value::from(t)));
                }
                sql.push_str(" ORDER BY c.priority_milli DESC, c.id ASC LIMIT 1");
                let Some(candidate) = tx.fetch_ids(&sql, values).await?.first().copied() else {
                    return Ok::<_, DbErr>(Try::Empty);
                };
                let expires = now.plus_seconds(lease_seconds);
                let won = tx
                    .execute(
                        "UPDATE clusters SET claim_holder = ?, claim_expires_at = ?, \
                         status = CASE WHEN status = 'new' THEN 'triaging' ELSE status END, version = version + 1 \
                         WHERE id = ? AND status IN ('new', 'triaging') AND (claim_expires_at IS NULL OR claim_expires_at <= ?)",
                        vec![holder.into(), expires.0.into(), candidate.into(), now.0.into()],
                    )
                    .await?;
                if won != 1 {
                    return Ok(Try::Lost(candidate));
                }
                let mut change = Change::new(tx, &shared.clusters, now);
                let detail = format!("lease until {}", expires.0);
                change.record(change.event(EventKind::Claimed, candidate, None, holder, detail)).await?;
                Ok(Try::Won(Box::new((tx.cluster(candidate).await?, change.pending))))
            })
            .await?;
        match outcome {
            Try::Empty => return Ok(None),
            Try::Won(won) => {
                let (row, pending) = *won;
                shared.publish(pending.events).await;
                return Ok(row);
            }
            Try::Lost(candidate) => tried.push(candidate),
        }
    }
    Err(StoreError::Busy)
}

/// Reads a cluster for a change, failing if it is missing or merged away.
async fn open_cluster(tx: &Tx<'_>, id: i64) -> Result<cluster::Model, StoreError> {
    lock_clusters(tx, &[id]).await?;
    let row = tx.cluster(id).await?.ok_or(StoreError::NotFound("cluster"))?;
    if let Some(into) = row.merged_into {
        return Err(StoreError::Merged { id, into });
    }
    Ok(row)
}

/// Extends (`lease_seconds > 0`) or releases (`None`) the caller's live claim, and broadcasts it.
pub(crate) async fn change_claim(
    shared: &Shared,
    id: i64,
    holder: &str,
    lease_seconds: Option<i64>,
) -> Result<cluster::Model, StoreError> {
    let now = UnixMicros::now();
    let (row, pending) = shared
        .pool
        .transaction(Intent::Write, async |tx| {
            let row = open_cluster(&tx, id).await?;
            let live = row.claim_holder.as_deref() == Some(holder) && row.claim_expires_at.is_some_and(|t| t > now.0);
            if !live {
                return Err(StoreError::NotClaimed(id));
            }
            let mut change = Change::new(tx, &shared.clusters, now);
            match lease_seconds {
                Some(lease) => {
                    let expires = now.plus_seconds(lease);
                    tx.execute("UPDATE clusters SET claim_expires_at = ? WHERE id = ?", vec![expires.0.into(), id.into()])
                        .await?;
                    // Renewals are broadcast but not kept: a long investigation would fill the history.
                    let detail = format!("renewed until {}", expires.0);
                    change.broadcast_only(change.event(EventKind::Claimed, id, None, holder, detail));
                }
                None => {
                    tx.execute(
                        "UPDATE clusters SET claim_holder = NULL, claim_expires_at = NULL, version = version + 1 WHERE id = ?",
                        vec![id.into()],
                    )
                    .await?;
                    change.record(change.event(EventKind::Released, id, None, holder, String::new())).await?;
                }
            }
            let row = tx.cluster(id).await?.ok_or(StoreError::NotFound("cluster"))?;
            Ok((row, change.pending))
        })
        .await?;
    shared.publish(pending.events).await;
    Ok(row)
}

/// Applies a workflow change if the version still matches, and broadcasts it.
pub(crate) async fn update_cluster(
    shared: &Shared,
    update: &ClusterUpdate,
    actor: &str,
) -> Result<cluster::Model, StoreError> {
    let now = UnixMicros::now();
    let (row, pending) = shared
        .pool
        .transaction(Intent::Write, async |tx| {
            let row = open_cluster(&tx, update.cluster_id).await?;
            if row.version != update.version {
                return Err(StoreError::StaleVersion { id: row.id, expected: update.version, current: row.version });
            }
            let from: ClusterStatus =
                row.status.parse().map_err(|_| StoreError::Corrupt(format!("clusters.status = {:?}", row.status)))?;
            if !update.supervisor {
                let change = WorkflowChange {
                    from,
                    to: update.status,
                    assignee: update.assignee.as_ref().map(Option::as_deref),
                    current_assignee: row.assignee.as_deref(),
                    actor,
                };
                if let Some(only) = change.needs_supervisor() {
                    return Err(StoreError::Forbidden(only.to_string()));
                }
            }
            let mut changes: Vec<String> = Vec::new();
            let mut status = from;
            if let Some(to) = update.status {
                from.check_transition(to)?;
                if to != from {
                    changes.push(format!("status {} → {}", from.as_str(), to.as_str()));
                }
                status = to;
            }
            let mut assignee = row.assignee.clone();
            if let Some(a) = &update.assignee {
                changes.push(format!("assignee {}", a.as_deref().unwrap_or("cleared")));
                assignee = a.clone();
            }
            let mut disposition = row.disposition.clone();
            if let Some(d) = update.disposition {
                changes.push(format!("disposition {}", d.as_str()));
                disposition = Some(d.as_str().to_owned());
            }
            if from == ClusterStatus::Closed && status != ClusterStatus::Closed {
                disposition = None; // reopened: the old disposition no longer holds
            }
            let mut referred_to = row.referred_to.clone();
            if let Some(r) = &update.referred_to {
                changes.push(format!("referred to {r}"));
                referred_to = Some(r.clone());
            }
            let mut tags: BTreeSet<&str> = row.tags.split(',').filter(|t| !t.is_empty()).collect();
            for t in &update.remove_tags {
                if tags.remove(t.as_str()) {
                    changes.push(format!("tag -{t}"));
                }
            }
            for t in &update.add_tags {
                if tags.insert(t.as_str()) {
                    changes.push(format!("tag +{t}"));
                }
            }
            if tags.len() > TAGS_PER_CLUSTER_MAX {
                return Err(StoreError::TooManyTags { id: row.id, count: tags.len(), max: TAGS_PER_CLUSTER_MAX });
            }
            // Stored as `,a,b,` like a cluster's categories, so a filter matches `%,tag,%`.
            let tags = tags.iter().fold(String::from(","), |mut list, t| {
                list.push_str(t);
                list.push(',');
                list
            });
            let affected = tx
                .execute(
                    "UPDATE clusters SET status = ?, assignee = ?, disposition = ?, referred_to = ?, tags = ?, \
                     version = version + 1 WHERE id = ? AND version = ?",
                    vec![
                        status.as_str().into(),
                        assignee.into(),
                        disposition.into(),
                        referred_to.into(),
                        tags.into(),
                        row.id.into(),
                        update.version.into(),
                    ],
                )
                .await?;
            if affected != 1 {
                return Err(StoreError::StaleVersion {
                    id: row.id,
                    expected: update.version,
                    current: row.version + 1,
                });
            }
            let mut change = Change::new(tx, &shared.clusters, now);
            if !changes.is_empty() {
                change.record(change.event(EventKind::StatusChanged, row.id, None, actor, changes.join("; "))).await?;
            }
            if let Some(note) = &update.note {
                // Sealed like a narrative: a note may quote the victim. Readers open it
                // (`cluster_views::open_note`).
                let binding = scamtrail_core::note_binding(row.id);
                let sealed = shared.keys.keys().seal(scamtrail_core::PersonalField::InvestigatorNote, &binding, note);
                change.record(change.event(EventKind::Note, row.id, None, actor, sealed)).await?;
            }
            let row = tx.cluster(row.id).await?.ok_or(StoreError::NotFound("cluster"))?;
            Ok((row, change.pending))
        })
        .await?;
    shared.publish(pending.events).await;
    Ok(row)
}

/// Recomputes the priority of clusters whose score time alone has changed (a recall window
/// closed, a report aged out of the velocity window), at most `limit`, and broadcasts the changed
/// priorities. Returns how many changed.
pub(crate) async fn rescore_due(shared: &Shared, limit: u64) -> Result<usize, StoreError> {
    let now = UnixMicros::now();
    let pending = shared
        .pool
        .transaction(Intent::Cluster, async |tx| {
            let due: Vec<(i64, i64)> = tx
                .fetch(
                    "SELECT id, priority_milli FROM clusters WHERE rescore_at IS NOT NULL AND rescore_at <= ? \
                     AND merged_into IS NULL ORDER BY rescore_at LIMIT ?",
                    vec![now.0.into(), (limit as i64).into()],
                )
                .await?;
            let ids: Vec<i64> = due.iter().map(|(id, _)| *id).collect();
            let mut change = Change::new(tx, &shared.clusters, now);
            let after = change.recompute(&ids).await?;
            for (id, before) in due {
                let after = after.get(&id).copied();
                if after != Some(before) {
                    let detail = format!("{:.3} → {:.3}", before as f64 / 1000.0, after.unwrap_or(0) as f64 / 1000.0);
                    change.record(change.event(EventKind::PriorityChanged, id, None, SYSTEM, detail)).await?;
                }
            }
            Ok::<_, DbErr>(change.pending)
        })
        .await?;
    let changed = pending.events.len();
    shared.publish(pending.events).await;
    Ok(changed)
}

/// Links two live clusters on an investigator's outside evidence: the link is stored as an edge
/// of its own between the oldest report of each (so it outlives their ids and `recluster`), and
/// the clusters merge, the merge in the history of both with the investigator and the reason.
/// Returns the link's id and the merged cluster.
pub(crate) async fn link_clusters(
    shared: &Shared,
    clusters: [i64; 2],
    reason: &str,
    actor: &str,
) -> Result<(i64, cluster::Model), StoreError> {
    let now = UnixMicros::now();
    let (link, row, pending) = shared
        .pool
        .transaction(Intent::Cluster, async |tx| {
            let mut sorted = clusters;
            sorted.sort_unstable();
            lock_clusters(&tx, &sorted).await?;
            let mut anchors = Vec::with_capacity(2);
            for id in clusters {
                open_cluster(&tx, id).await?;
                let oldest = tx
                    .fetch_ids("SELECT id FROM reports WHERE cluster_id = ? ORDER BY id LIMIT 1", vec![id.into()])
                    .await?;
                anchors.push(oldest.first().copied().ok_or(StoreError::NotFound("cluster"))?);
            }
            let link = tx
                .fetch_ids(
                    "INSERT INTO manual_links (report_a, report_b, created_at, actor, reason) VALUES (?, ?, ?, ?, ?) \
                     RETURNING id",
                    vec![anchors[0].into(), anchors[1].into(), now.0.into(), actor.into(), reason.into()],
                )
                .await?
                .first()
                .copied()
                .ok_or_else(|| DbErr::Custom("no manual link id returned".into()))?;
            let mut change = Change::new(tx, &shared.clusters, now);
            let why = format!("manual link {link}: {reason}");
            let survivor = change.merge_clusters(&clusters, actor, &why).await?;
            change.recompute(&[survivor]).await?;
            let row = tx.cluster(survivor).await?.ok_or(StoreError::NotFound("cluster"))?;
            Ok::<_, StoreError>((link, row, change.pending))
        })
        .await?;
    shared.publish(pending.events).await;
    Ok((link, row))
}

/// Removes a manual link: the row stays, with who removed it, when and why, and its cluster
/// splits into what still links (the split machinery of identifier decisions). Returns the
/// cluster that held the link and the clusters split off it.
pub(crate) async fn unlink_clusters(
    shared: &Shared,
    link: i64,
    reason: &str,
    actor: &str,
) -> Result<(cluster::Model, Vec<i64>), StoreError> {
    let now = UnixMicros::now();
    let (row, created, pending) = shared
        .pool
        .transaction(Intent::Cluster, async |tx| {
            let found: Vec<(i64, Option<i64>)> =
                tx.fetch("SELECT report_a, removed_at FROM manual_links WHERE id = ?", vec![link.into()]).await?;
            let (report, removed) = found.first().copied().ok_or(StoreError::NotFound("manual link"))?;
            if removed.is_some() {
                return Err(StoreError::LinkRemoved(link));
            }
            tx.execute(
                "UPDATE manual_links SET removed_at = ?, removed_by = ?, removed_reason = ? WHERE id = ?",
                vec![now.0.into(), actor.into(), reason.into(), link.into()],
            )
            .await?;
            let cluster = tx
                .fetch_ids("SELECT cluster_id FROM reports WHERE id = ?", vec![report.into()])
                .await?
                .first()
                .copied()
                .ok_or(StoreError::NotFound("cluster"))?;
            let mut change = Change::new(tx, &shared.clusters, now);
            let why = format!("manual link {link} removed: {reason}");
            let created = change.split_cluster(cluster, actor, &why).await?;
            if created.is_empty() {
                // Other evidence still links the cluster: the removal is in its history all the same.
                tx.execute("UPDATE clusters SET version = version + 1 WHERE id = ?", vec![cluster.into()]).await?;
                let detail = format!("{why}; other links hold the cluster together");
                change.record(change.event(EventKind::StatusChanged, cluster, None, actor, detail)).await?;
            }
            let row = tx.cluster(cluster).await?.ok_or(StoreError::NotFound("cluster"))?;
            Ok::<_, StoreError>((row, created, change.pending))
        })
        .await?;
    shared.publish(pending.events).await;
    Ok((row, created))
}
